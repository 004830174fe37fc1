import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runForecastBacktest } from '../../../cli/commands/forecast';

/**
 * `spotdag forecast backtest` on a 1,000,000-row SpotLake CSV: 50 pools × 20,000 timestamps five minutes
 * apart (69 days). Prices are a random walk on SpotLake's $0.0001 grid, changing in about 2 % of rows.
 * The path under test is the CLI's (load, resample, backtest), which once spread every observation into
 * Math.max and died with "Maximum call stack size exceeded".
 */
const POOLS = 50;
const TIMES = 20_000;

function writeSpotLakeCsv(file: string): void {
  let seed = 42;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const prices = Array.from({ length: POOLS }, (_, p) => 0.05 + 0.002 * p);
  const lines = ['time,instance_type,region,az_id,sps,if_band,ondemand_price,spot_price,savings_pct'];
  const start = Date.UTC(2024, 0, 1);
  for (let t = 0; t < TIMES; t++) {
    const time = new Date(start + t * 300_000).toISOString().slice(0, 19).replace('T', ' ');
    for (let p = 0; p < POOLS; p++) {
      if (rand() < 0.02) prices[p] = Math.round(prices[p]! * (1 + (rand() - 0.5) * 0.02) * 1e4) / 1e4;
      lines.push(
        `${time},m5.${p}xlarge,us-east-1,use1-az${(p % 6) + 1},3,2.5,0.2,${prices[p]!.toFixed(4)},60`,
      );
    }
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

describe('forecast backtest on a 1,000,000-row price file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spotdag-1m-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the file and scores every pool over the test week', () => {
    const file = path.join(dir, 'spotlake-1m.csv');
    writeSpotLakeCsv(file);
    const progress: string[] = [];
    const report = runForecastBacktest(
      {
        prices: file,
        testDays: 7,
        horizon: 86_400,
        step: 3600,
        duration: 3600,
        traceTestFraction: 0.3,
        warmupFraction: 0.3,
      },
      (m) => progress.push(m),
    );
    const p = report.prices!;
    expect(p.pools).toBe(POOLS);
    expect(p.testEndMs - p.testStartMs).toBe(7 * 86_400_000);
    // 168 hourly origins per pool; origin o scores min(24, 168 − o) steps.
    const perPool = Array.from({ length: 168 }, (_, o) => Math.min(24, 168 - o)).reduce((a, b) => a + b, 0);
    expect(p.forecasts).toBe(POOLS * perPool);
    // A random walk: nothing beats the last price by much, and the fallback keeps it from losing much.
    expect(report.smapeRatio).toBeGreaterThan(0.95);
    expect(report.smapeRatio).toBeLessThan(1.05);
    expect(report.naiveSmape).toBeGreaterThan(0);
    expect(report.intervalCoverage).toBeGreaterThan(0.8);
    expect(report.intervalCoverage).toBeLessThan(0.99);
    expect(progress[0]).toBe(`loading ${file}`);
    expect(progress[progress.length - 1]).toBe(`prices: ${POOLS}/${POOLS} pools scored`);
  });
});
