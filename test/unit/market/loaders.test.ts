import path from 'node:path';
import {
  InstanceCatalog,
  loadAwsHistoryTsv,
  loadSkyPilotTraces,
  loadSpotAdvisor,
  loadSpotLakeCsv,
  MarketDataError,
  parseAwsHistoryTsv,
  parseAwsSpotPriceHistoryJson,
  parseSkyPilotTrace,
  parseSpotAdvisor,
  parseSpotLakeCsv,
  poolKey,
  regionOfAzId,
  regionOfZone,
  resample,
  spotLakeObservations,
  UnknownInstanceTypeError,
} from '../../../src/market';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const data = (...p: string[]) => path.resolve(repoRoot, '..', 'shared', 'data', ...p);

describe('shared data files', () => {
  const rows = loadSpotLakeCsv(data('spot-prices', 'spotlake-2024-01-01-to-24.csv'));
  const advisor = loadSpotAdvisor(data('spot-advisor', 'spot-advisor-data.json'));

  it('reads every SpotLake row and 215 pools keyed by AZ id', () => {
    expect(rows).toHaveLength(123_840);
    const pools = new Set(rows.map((r) => poolKey(r.pool)));
    expect(pools.size).toBe(215);
    expect(pools.has('c5.large@aps1-az3')).toBe(true);
    expect(rows[0]).toMatchObject({
      timeMs: Date.UTC(2024, 0, 1),
      ifBand: 2.5,
      onDemandPrice: 0.085,
      spotPrice: 0.0353,
    });
    // SpotLake writes -1 where it has no price: those become null, not a price of -1.
    expect(rows.filter((r) => r.spotPrice === null)).toHaveLength(69);
    const series = resample(spotLakeObservations(rows));
    expect(series).toHaveLength(215);
    expect(series.every((s) => s.values.length === 576 && s.values.every((v) => v > 0))).toBe(true);
  });

  it('reads the raw history TSV', () => {
    const obs = loadAwsHistoryTsv(data('spot-prices', 'aws-history-2022-05-31.tsv'));
    expect(obs).toHaveLength(33_362);
    expect(obs[0]).toMatchObject({
      pool: { instanceType: 'g4dn.4xlarge', region: 'eu-west-3', zone: 'euw3-az2' },
      price: 0.4664,
      productDescription: 'Linux/UNIX',
      timeMs: Date.parse('2022-05-31T18:20:41Z'),
    });
    expect(new Set(obs.map((o) => o.pool.instanceType)).size).toBe(509);
  });

  it('reads every trace under the directory, recursively', () => {
    const traces = loadSkyPilotTraces(data('spot-traces'));
    expect(traces).toHaveLength(21);
    const r5 = traces.find((t) => t.name.endsWith('us-east-1b_intel_64.json'))!;
    expect(r5.gapSeconds).toBe(34);
    expect(r5.unavailable).toHaveLength(16_090);
    expect(r5.prices).toHaveLength(16_090);
    expect(r5.pool).toEqual({ instanceType: 'r5.16xlarge', region: 'us-east-1', zone: 'us-east-1b' });
    expect(r5.startMs).toBe(Date.UTC(2023, 3, 19));
  });

  it('builds an instance catalog from the Spot Advisor and SpotLake', () => {
    expect(advisor.instanceTypes.size).toBe(929);
    expect(advisor.entries.size).toBe(33);
    const catalog = InstanceCatalog.fromSources({ spotAdvisor: advisor, spotLake: rows });
    const c5 = catalog.get('c5.large');
    expect(c5).toMatchObject({ vcpu: 2, memoryMiB: 4096 });
    expect(c5.onDemandPrice('ap-south-1')).toBe(0.085);
    expect(c5.onDemandPrice('nowhere-1')).toBeUndefined();
    expect(() => catalog.get('x9.huge')).toThrow(UnknownInstanceTypeError);
    try {
      catalog.get('x9.huge');
    } catch (err) {
      expect((err as UnknownInstanceTypeError).exitCode).toBe(2);
      expect((err as Error).message).toContain('x9.huge');
    }
    const copy = InstanceCatalog.fromJSON(JSON.parse(JSON.stringify(catalog)));
    expect(copy.get('c5.large').onDemandPrice('ap-south-1')).toBe(0.085);
  });
});

describe('AWS describe-spot-price-history JSON', () => {
  const page = {
    SpotPriceHistory: [
      {
        AvailabilityZone: 'us-east-1a',
        InstanceType: 'c5.large',
        ProductDescription: 'Linux/UNIX',
        SpotPrice: '0.0350',
        Timestamp: '2024-01-01T00:10:00.000Z',
      },
      {
        AvailabilityZone: 'us-east-1a',
        InstanceType: 'c5.large',
        ProductDescription: 'Linux/UNIX',
        SpotPrice: '0.0360',
        Timestamp: new Date('2024-01-01T02:30:00Z'),
      },
    ],
    NextToken: '',
  };

  it('reads CLI and SDK output (Date timestamps) and resamples with last value carried forward', () => {
    const obs = parseAwsSpotPriceHistoryJson(page);
    expect(obs.map((o) => o.price)).toEqual([0.035, 0.036]);
    expect(obs[0]!.pool).toEqual({ instanceType: 'c5.large', region: 'us-east-1', zone: 'us-east-1a' });
    const [s] = resample(obs, { stepSeconds: 3600, endMs: Date.parse('2024-01-01T05:00:00Z') });
    expect(s!.startMs).toBe(Date.UTC(2024, 0, 1));
    // 00:00 is before the first record: it takes the first price; 02:00 still 0.035; 03:00 on 0.036.
    expect(s!.values).toEqual([0.035, 0.035, 0.035, 0.036, 0.036]);
  });

  it('names the JSON path of a bad record', () => {
    const bad = {
      SpotPriceHistory: [page.SpotPriceHistory[0], { ...page.SpotPriceHistory[0], SpotPrice: 'cheap' }],
    };
    expect(() => parseAwsSpotPriceHistoryJson(bad, 'p.json')).toThrow(
      'p.json: SpotPriceHistory[1].SpotPrice',
    );
    expect(() => parseAwsSpotPriceHistoryJson({ Foo: [] })).toThrow(MarketDataError);
    expect(() =>
      parseAwsSpotPriceHistoryJson([
        page,
        { SpotPriceHistory: [{ ...page.SpotPriceHistory[0], Timestamp: 'yesterday' }] },
      ]),
    ).toThrow('[1].SpotPriceHistory[0].Timestamp');
  });
});

describe('bad files are rejected with the line at fault', () => {
  it('SpotLake CSV', () => {
    const header = 'time,instance_type,region,az_id,sps,if_band,ondemand_price,spot_price,savings_pct';
    const ok = '2024-01-01 00:00:00,c5.large,us-east-1,use1-az1,3,3.0,0.085,0.035,58';
    expect(parseSpotLakeCsv(`${header}\n${ok}\n`)).toHaveLength(1);
    expect(() => parseSpotLakeCsv(`${header}\n${ok}\n${ok.replace('0.035', 'abc')}\n`, 'f.csv')).toThrow(
      'f.csv: line 3: spot_price "abc" is not a number',
    );
    expect(() => parseSpotLakeCsv(`${header}\n${ok}\n2024-01-01,c5.large\n`, 'f.csv')).toThrow(
      'f.csv: line 3',
    );
    expect(() => parseSpotLakeCsv('time,instance_type\n', 'f.csv')).toThrow(
      'f.csv: line 1: missing column(s)',
    );
    const err = (() => {
      try {
        parseSpotLakeCsv(`${header}\nnot-a-time,c5.large,us-east-1,use1-az1,3,3.0,0.085,0.035,58\n`);
      } catch (e) {
        return e as MarketDataError;
      }
    })();
    expect(err).toBeInstanceOf(MarketDataError);
    expect(err!.exitCode).toBe(2);
    expect(err!.location).toBe('line 2');
  });

  it('history TSV', () => {
    const text =
      'az_id\tinstance_type\tproduct_description\tspot_price\ttimestamp\nuse1-az1\tc5.large\tLinux/UNIX\t0.03\t2022-05-31T18:20:41+00:00\nnowhere\tc5.large\tLinux/UNIX\t0.03\t2022-05-31T18:20:41+00:00\n';
    expect(() => parseAwsHistoryTsv(text, 'h.tsv')).toThrow('h.tsv: line 3: az_id "nowhere"');
  });

  it('SkyPilot traces and the Spot Advisor', () => {
    expect(() => parseSkyPilotTrace({ metadata: { gap_seconds: 60 }, data: [0, 1, 2] }, 't.json')).toThrow(
      't.json: data[2]',
    );
    expect(() => parseSkyPilotTrace({ metadata: {}, data: [0] }, 't.json')).toThrow('metadata.gap_seconds');
    const trace = parseSkyPilotTrace(
      { metadata: { gap_seconds: 60 }, data: [0, 1, 0] },
      'x/us-west-2a_k80_1.json',
    );
    expect(trace.unavailable).toEqual([false, true, false]);
    expect(trace.pool).toEqual({ instanceType: 'p2.xlarge', region: 'us-west-2', zone: 'us-west-2a' });
    expect(() => parseSpotAdvisor({ ranges: [], instance_types: { 'c5.large': { cores: 'two' } } })).toThrow(
      'instance_types["c5.large"].cores',
    );
  });
});

describe('zones and regions', () => {
  it.each([
    ['use1-az1', 'us-east-1'],
    ['apse2-az3', 'ap-southeast-2'],
    ['cac1-az2', 'ca-central-1'],
    ['euw3-az1', 'eu-west-3'],
  ])('%s is in %s', (azId, region) => expect(regionOfAzId(azId)).toBe(region));
  it('zone names', () => {
    expect(regionOfZone('us-west-2b')).toBe('us-west-2');
    expect(regionOfZone('bogus')).toBeUndefined();
  });
});
