import { parseDelimited, numberField, timeField } from './delimited';
import { MarketDataError } from './errors';
import type { PriceObservation } from './observations';
import type { Pool } from './pool';

/**
 * One row of a SpotLake export. The pool's zone is SpotLake's AZ id (e.g. "use1-az1").
 * `spotPrice` is null where SpotLake recorded no price (it writes -1).
 */
export type SpotLakeRecord = {
  timeMs: number;
  pool: Pool;
  sps: number;
  /** SpotLake's interruption-frequency score: 3.0 = Spot Advisor band "<5%" … 1.0 = ">20%" (see docs). */
  ifBand: number;
  onDemandPrice: number;
  spotPrice: number | null;
  savingsPct: number;
};

const COLUMNS = [
  'time',
  'instance_type',
  'region',
  'az_id',
  'sps',
  'if_band',
  'ondemand_price',
  'spot_price',
];

export function parseSpotLakeCsv(text: string, source = 'SpotLake CSV'): SpotLakeRecord[] {
  const pools = new Map<string, Pool>();
  return parseDelimited(text, ',', COLUMNS, source).map((row) => {
    const instanceType = row.get('instance_type');
    const region = row.get('region');
    const zone = row.get('az_id');
    if (!instanceType || !region || !zone) {
      throw new MarketDataError(
        source,
        `line ${row.line}`,
        'instance_type, region and az_id must not be empty',
      );
    }
    const key = `${instanceType}@${zone}`;
    let pool = pools.get(key);
    if (!pool) pools.set(key, (pool = { instanceType, region, zone }));
    const spot = numberField(row, 'spot_price', source);
    if (spot < 0 && spot !== -1)
      throw new MarketDataError(source, `line ${row.line}`, `negative spot_price ${spot}`);
    return {
      timeMs: timeField(row, 'time', source),
      pool,
      sps: numberField(row, 'sps', source),
      ifBand: numberField(row, 'if_band', source),
      onDemandPrice: numberField(row, 'ondemand_price', source),
      spotPrice: spot === -1 ? null : spot,
      savingsPct: row.get('savings_pct') === undefined ? NaN : Number(row.get('savings_pct')),
    };
  });
}

/** Price observations from SpotLake rows (rows without a price are skipped: the last price holds). */
export function spotLakeObservations(records: SpotLakeRecord[]): PriceObservation[] {
  const out: PriceObservation[] = [];
  for (const r of records)
    if (r.spotPrice !== null) out.push({ pool: r.pool, timeMs: r.timeMs, price: r.spotPrice });
  return out;
}

/** The latest `if_band` per pool key. */
export function spotLakeIfBands(records: SpotLakeRecord[]): Map<string, number> {
  const latest = new Map<string, { timeMs: number; band: number }>();
  for (const r of records) {
    const key = `${r.pool.instanceType}@${r.pool.zone}`;
    const prev = latest.get(key);
    if (!prev || r.timeMs >= prev.timeMs) latest.set(key, { timeMs: r.timeMs, band: r.ifBand });
  }
  return new Map([...latest].map(([k, v]) => [k, v.band]));
}
