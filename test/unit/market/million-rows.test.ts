/**
 * A price file of 1,000,000 rows (SpotLake CSV, generated here): the loader reads all of it and
 * `spotdag plan --prices` plans on it. Arrays this long overflow the stack when spread into a call
 * (`Math.max(...rows)`), which is what broke `forecast backtest` on a month of SpotLake data.
 */
import { closeSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPriceFile, poolKey } from '../../../src/market';
import { runPlan } from '../dag/run-plan';
import { workflowsDir } from '../dag/helpers';

const ROWS = 1_000_000;
const TYPES: Array<[string, number]> = [
  ['c5.large', 0.085],
  ['m5.large', 0.096],
  ['r5.large', 0.126],
  ['t3.medium', 0.0416],
];
const REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'sa-east-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-north-1',
  'eu-south-1',
  'ap-south-1',
  'ap-south-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-east-1',
  'me-south-1',
  'me-central-1',
  'af-south-1',
  'il-central-1',
];
const ZONES_PER_REGION = 5;
const POOLS = TYPES.length * REGIONS.length * ZONES_PER_REGION; // 500
const HOURS = ROWS / POOLS; // 2,000: 83 days of hourly snapshots
/** Every this many rows SpotLake has no price and writes -1. */
const MISSING_EVERY = 997;

/** "ap-southeast-2" → "apse2", the prefix of its AZ ids. */
function azIdPrefix(region: string): string {
  const [geo, direction, n] = region.split('-') as [string, string, string];
  const abbrev = direction.replace(/^(north|south)(east|west)$/, (_m, a: string, b: string) => a[0]! + b[0]!);
  return `${geo}${abbrev.length === 2 ? abbrev : direction[0]}${n}`;
}

/** Writes the file hour by hour; prices are seeded random walks. Returns the pool keys. */
function writeSpotLakeCsv(file: string): Set<string> {
  const pools = TYPES.flatMap(([type, onDemand]) =>
    REGIONS.flatMap((region) =>
      Array.from({ length: ZONES_PER_REGION }, (_, z) => ({
        type,
        onDemand,
        region,
        azId: `${azIdPrefix(region)}-az${z + 1}`,
      })),
    ),
  );
  let seed = 12345;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const price = pools.map((p) => p.onDemand * (0.3 + 0.2 * random()));
  const fd = openSync(file, 'w');
  writeSync(fd, 'time,instance_type,region,az_id,sps,if_band,ondemand_price,spot_price,savings_pct\n');
  const start = Date.UTC(2024, 0, 1);
  let row = 0;
  for (let h = 0; h < HOURS; h++) {
    const time = new Date(start + h * 3_600_000).toISOString().replace('T', ' ').slice(0, 19);
    const lines: string[] = [];
    pools.forEach((p, i) => {
      price[i] = Math.min(p.onDemand, Math.max(0.001, price[i]! * (1 + 0.02 * (random() - 0.5))));
      const spot = ++row % MISSING_EVERY === 0 ? -1 : Number(price[i]!.toFixed(4));
      const band = 1 + (i % 5) * 0.5;
      const savings = spot < 0 ? -1 : Math.round(100 * (1 - spot / p.onDemand));
      lines.push(`${time},${p.type},${p.region},${p.azId},3,${band},${p.onDemand},${spot},${savings}\n`);
    });
    writeSync(fd, lines.join(''));
  }
  closeSync(fd);
  return new Set(pools.map((p) => `${p.type}@${p.azId}`));
}

describe('a 1,000,000-row SpotLake price file', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'spotdag-1m-')), 'spotlake-1m.csv');
  const pools = writeSpotLakeCsv(file);

  it('is read whole by the loader', () => {
    const prices = loadPriceFile(file);
    expect(prices.format).toBe('spotlake-csv');
    expect(prices.spotLake).toHaveLength(ROWS);
    expect(prices.observations).toHaveLength(ROWS - Math.floor(ROWS / MISSING_EVERY));
    expect(new Set(prices.observations.map((o) => poolKey(o.pool)))).toEqual(pools);
    expect(prices.ifBands?.size).toBe(POOLS);
    const last = prices.observations.at(-1)!;
    expect(last.timeMs).toBe(Date.UTC(2024, 0, 1) + (HOURS - 1) * 3_600_000);
  }, 600_000);

  it('is planned on by `spotdag plan --prices`', async () => {
    const { stdout, stderr } = await runPlan([
      path.join(workflowsDir, 'blast-chameleon-small-001.json'),
      '--prices',
      file,
      '--runtime-scale',
      '30',
      '--json',
    ]);
    const schedule = JSON.parse(stdout) as {
      predictedCostUsd: number;
      instances: Array<{ pool: string; market: string }>;
      placements: Array<{ subTaskId: string; instanceId: string }>;
    };
    expect(new Set(schedule.placements.map((p) => p.subTaskId)).size).toBe(43); // every task placed
    expect(schedule.instances.length).toBeGreaterThan(0);
    for (const i of schedule.instances) expect(pools.has(i.pool)).toBe(true);
    expect(schedule.predictedCostUsd).toBeGreaterThan(0);
    expect(Number.isFinite(schedule.predictedCostUsd)).toBe(true);
    expect(stderr).toBe(''); // blast-small records memory, runtime and cores for every task
  }, 600_000);
});
