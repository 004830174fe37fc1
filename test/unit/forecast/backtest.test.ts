import { backtestInterruptions, formatBacktestReport, runBacktest } from '../../../src/forecast';
import type { AvailabilityTrace, PriceSeries } from '../../../src/market';

const pool = (zone: string) => ({ instanceType: 'c5.large', region: 'us-east-1', zone });

/** A deterministic pseudo-random generator so the synthetic data is fixed. */
function rng(seed: number) {
  return () => (seed = (seed * 16807) % 2147483647) / 2147483647;
}

describe('price backtest', () => {
  it('beats naive on trending series and scores every (origin, step) in the test period', () => {
    const series: PriceSeries[] = [0, 1, 2].map((k) => ({
      pool: pool(`use1-az${k + 1}`),
      startMs: 0,
      stepSeconds: 3600,
      values: Array.from({ length: 20 * 24 }, (_, i) => 0.05 + 0.0001 * (k + 1) * i),
    }));
    const report = runBacktest({ prices: series, testSeconds: 2 * 86_400, horizonSeconds: 6 * 3600 });
    // 48 origins per pool; origin o scores min(6, 48 − o) steps.
    const perPool = Array.from({ length: 48 }, (_, o) => Math.min(6, 48 - o)).reduce((a, b) => a + b, 0);
    expect(report.prices.forecasts).toBe(3 * perPool);
    expect(report.prices.origins).toBe(48);
    expect(report.naiveSmape).toBeGreaterThan(0);
    expect(report.smapeRatio).toBeLessThan(0.5);
    expect(report.brier).toBeNull();
    expect(formatBacktestReport(report)).toContain('ensemble (weighted)');
  });

  it('rejects a test period that leaves under two days of training', () => {
    const s: PriceSeries = { pool: pool('a'), startMs: 0, stepSeconds: 3600, values: new Array(72).fill(1) };
    expect(() => runBacktest({ prices: [s], testSeconds: 2 * 86_400 })).toThrow(/under 2 days/);
  });
});

describe('interruption backtest', () => {
  function trace(zone: string, pInterrupt: number, pRecover: number, seed: number): AvailabilityTrace {
    const r = rng(seed);
    let down = false;
    const unavailable = Array.from({ length: 5000 }, () => (down = down ? r() > pRecover : r() < pInterrupt));
    return { name: zone, pool: pool(zone), startMs: 0, gapSeconds: 60, unavailable };
  }

  it('per-pool hazards beat one constant rate when pools differ, and the report is consistent', () => {
    const traces = [trace('a', 0.001, 0.05, 1), trace('b', 0.02, 0.05, 2), trace('c', 0.005, 0.05, 3)];
    const r = backtestInterruptions({ traces, durationSeconds: 1800, testFraction: 0.4 });
    expect(r.forecasts).toBeGreaterThan(100);
    expect(r.model.brier).toBeLessThan(0.9 * r.climatology.brier);
    expect(r.calibration.reduce((n, b) => n + b.count, 0)).toBe(r.forecasts);
    expect(r.byTrace.map((t) => t.name)).toEqual(['a', 'b', 'c']);
  });

  it('has no edge over climatology when all pools are alike', () => {
    const traces = [trace('a', 0.01, 0.05, 4), trace('b', 0.01, 0.05, 5)];
    const r = backtestInterruptions({ traces, durationSeconds: 1800 });
    expect(r.model.brier / r.climatology.brier).toBeGreaterThan(0.9);
  });
});
