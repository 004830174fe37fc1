import {
  backtestInterruptions,
  backtestLeaveOneGroupOut,
  evalWindows,
  formatBacktestReport,
  runBacktest,
  traceFolder,
} from '../../../src/forecast';
import type { AvailabilityTrace, PriceSeries } from '../../../src/market';

const pool = (zone: string) => ({ instanceType: 'c5.large', region: 'us-east-1', zone });

/** A deterministic pseudo-random generator so the synthetic data is fixed. */
function rng(seed: number) {
  return () => (seed = (seed * 16807) % 2147483647) / 2147483647;
}

/** A two-state chain per minute: up → down with pInterrupt, down → up with pRecover. */
function trace(
  name: string,
  pInterrupt: number | ((i: number) => number),
  pRecover: number,
  seed: number,
  length = 5000,
): AvailabilityTrace {
  const r = rng(seed);
  const p = typeof pInterrupt === 'number' ? () => pInterrupt : pInterrupt;
  let down = false;
  const unavailable = Array.from({ length }, (_, i) => (down = down ? r() > pRecover : r() < p(i)));
  const zone = name.slice(name.lastIndexOf('/') + 1);
  return { name, pool: pool(zone), startMs: 0, gapSeconds: 60, unavailable };
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
    expect(report.prices!.forecasts).toBe(3 * perPool);
    expect(report.prices!.origins).toBe(48);
    expect(report.naiveSmape).toBeGreaterThan(0);
    expect(report.smapeRatio).toBeLessThan(0.5);
    // A trend is not a random walk: the ensemble wins at every step, so there is no fallback.
    expect(report.prices!.byHorizon.every((b) => b.ensembleShare === 1)).toBe(true);
    expect(report.brier).toBeNull();
    expect(report.leaveOneGroupOut).toBeNull();
    expect(formatBacktestReport(report)).toContain('forecast (fallback)');
  });

  it('on random walks: falls back to the last price, and calibrated 90 % intervals cover about 90 %', () => {
    const r = rng(11);
    const series: PriceSeries[] = Array.from({ length: 30 }, (_, k) => {
      let x = 0.05 + 0.001 * k;
      // Prices like the market's: unchanged most hours, a jump of up to ±2 % now and then.
      const values = Array.from({ length: 24 * 24 }, () =>
        r() < 0.1 ? (x = Math.round(x * (1 + (r() - 0.5) * 0.04) * 1e4) / 1e4) : x,
      );
      return { pool: pool(`use1-az${k}`), startMs: 0, stepSeconds: 3600, values };
    });
    const p = runBacktest({ prices: series, testSeconds: 7 * 86_400 }).prices!;
    // No model can beat the last price on a random walk; the fallback keeps the forecast near it.
    expect(p.ensemble.smape / p.naive.smape).toBeGreaterThan(0.97);
    expect(p.ensemble.smape / p.naive.smape).toBeLessThan(1.03);
    expect(p.byHorizon[0]!.ensembleShare).toBeLessThan(0.5);
    expect(p.intervalCoverage).toBeGreaterThan(0.85);
    expect(p.intervalCoverage).toBeLessThan(0.95);
    expect(Math.abs(p.changeAutocorrelation.lag1)).toBeLessThan(0.1);
    expect(formatBacktestReport({ ...runBacktest({ prices: series }) })).toContain('close to a random walk');
  });

  it('rejects a test period that leaves under two days of training', () => {
    const s: PriceSeries = { pool: pool('a'), startMs: 0, stepSeconds: 3600, values: new Array(72).fill(1) };
    expect(() => runBacktest({ prices: [s], testSeconds: 2 * 86_400 })).toThrow(
      new RangeError('price backtest: c5.large@a has under 2 days of data before the test period'),
    );
  });
});

describe('interruption backtest, time split', () => {
  it('climatology is the training event frequency for the same duration; the per-pool constant its own', () => {
    const traces = [trace('a', 0.01, 0.05, 1), trace('b', 0.03, 0.05, 2)];
    const spec = { durationSeconds: 1800 };
    const r = backtestInterruptions({ traces, durationSeconds: 1800, testFraction: 0.4 });
    // Training = the first 60 % of each trace; windows must end inside it.
    const training = traces.map((t) =>
      evalWindows({ ...t, unavailable: t.unavailable.slice(0, 3000) }, spec),
    );
    const n = training[0]!.length + training[1]!.length;
    const k = training.flat().filter((w) => w.interrupted).length;
    expect(r.climatology.probability).toBeCloseTo(k / n, 12);
    expect(r.climatology.windows).toBe(n);
    expect(r.forecasts).toBe(traces.map((t) => evalWindows(t, spec, 3000).length).reduce((a, b) => a + b, 0));
    expect(r.calibration.reduce((m, b) => m + b.count, 0)).toBe(r.forecasts);
  });

  it('per-pool hazards beat one constant when pools differ, and the fit learns from the training part only', () => {
    const traces = [trace('a', 0.001, 0.05, 1), trace('b', 0.02, 0.05, 2), trace('c', 0.005, 0.05, 3)];
    const r = backtestInterruptions({ traces, durationSeconds: 1800, testFraction: 0.4 });
    expect(r.model.brier).toBeLessThan(0.9 * r.climatology.brier);
    expect(r.model.fit!.traces).toBe(3);
    expect(r.model.options).toEqual(r.model.fit!.options);
    expect(r.byTrace.map((t) => t.name)).toEqual(['a', 'b', 'c']);
    expect(formatBacktestReport(runBacktest({ traces }))).toContain(
      'per-pool constant (own training frequency)',
    );
  });

  it('has no edge over climatology when all pools are alike and the rate never changes', () => {
    const traces = [trace('a', 0.01, 0.05, 4), trace('b', 0.01, 0.05, 5)];
    const r = backtestInterruptions({ traces, durationSeconds: 1800 });
    expect(r.model.brier / r.climatology.brier).toBeGreaterThan(0.95);
  });

  it('scores given model options instead of fitting them', () => {
    const traces = [trace('a', 0.01, 0.05, 4)];
    const options = { defaultRatePerHour: 0.5, priorExposureHours: 2, halfLifeHours: 3 };
    const r = backtestInterruptions({ traces, model: options });
    expect(r.model.fit).toBeNull();
    expect(r.model.options).toEqual(options);
  });
});

describe('leave one group out', () => {
  // Bursty pools: the hazard switches between calm and stormy stretches, differently in each group.
  const bursty = (name: string, calm: number, storm: number, period: number, seed: number) =>
    trace(name, (i) => (Math.floor(i / period) % 2 ? storm : calm), 0.1, seed, 6000);
  const traces = [
    bursty('g1/us-east-1a_v100_1', 0.001, 0.05, 400, 1),
    bursty('g1/us-east-1b_v100_1', 0.002, 0.04, 700, 2),
    bursty('g2/us-west-2a_v100_1', 0.0005, 0.06, 500, 3),
    bursty('g2/us-west-2b_v100_1', 0.003, 0.03, 300, 4),
    bursty('g3/us-east-2a_v100_1', 0.001, 0.08, 900, 5),
  ];

  it('holds out each folder, scores the rest of each trace after its warm-up, and beats both references', () => {
    const seen: string[] = [];
    const r = backtestLeaveOneGroupOut({ traces, warmupFraction: 0.3, onGroup: (g) => seen.push(g) });
    expect(seen).toEqual(['g1', 'g2', 'g3']);
    expect(r.groups.map((g) => [g.group, g.traces, g.trainingTraces])).toEqual([
      ['g1', 2, 3],
      ['g2', 2, 3],
      ['g3', 1, 4],
    ]);
    for (const g of r.groups) {
      const held = traces.filter((t) => traceFolder(t) === g.group);
      expect(g.forecasts).toBe(held.reduce((n, t) => n + evalWindows(t, {}, 1800).length, 0));
      expect(g.model.brier).toBeLessThan(g.climatology.brier);
      expect(g.model.brier).toBeLessThan(g.poolConstant.brier);
    }
    expect(r.overall.forecasts).toBe(r.groups.reduce((n, g) => n + g.forecasts, 0));
    // Climatology of a held-out group is the other groups' frequency, never its own.
    const g3 = r.groups[2]!;
    const others = traces.slice(0, 4).map((t) => evalWindows(t));
    const k = others.flat().filter((w) => w.interrupted).length;
    expect(g3.climatologyFrequency.probability).toBeCloseTo(k / others.flat().length, 12);
  });

  it('gives the per-pool constant only the warm-up of the held-out trace', () => {
    // g2's trace never fails in its first half and always soon after: its constant must say "rarely".
    const unavailable = Array.from({ length: 4000 }, (_, i) => i >= 2000 && i % 30 === 0);
    const quietThenStormy: AvailabilityTrace = {
      name: 'g2/x',
      startMs: 0,
      gapSeconds: 60,
      unavailable,
    };
    const r = backtestLeaveOneGroupOut({ traces: [traces[0]!, quietThenStormy], warmupFraction: 0.5 });
    const g2 = r.groups.find((g) => g.group === 'g2')!;
    const warmupWindows = evalWindows({ ...quietThenStormy, unavailable: unavailable.slice(0, 2000) }).length;
    const p = 0.5 / (warmupWindows + 1);
    // Every scored window is interrupted (an outage every 30 min): Brier of the constant is (1 − p)².
    expect(g2.eventRate).toBe(1);
    expect(g2.poolConstant.brier).toBeCloseTo((1 - p) ** 2, 12);
  });

  it('needs at least two groups', () => {
    expect(() => backtestLeaveOneGroupOut({ traces: traces.slice(0, 2) })).toThrow(
      new RangeError('leave-one-group-out needs traces in at least 2 groups (folders); found 1 (g1)'),
    );
    expect(() => runBacktest({ leaveOneGroupOut: true })).toThrow(
      new RangeError('leave-one-group-out needs traces'),
    );
  });

  it('prints a table per metric with every group, the pooled and the mean row', () => {
    const text = formatBacktestReport(runBacktest({ traces, leaveOneGroupOut: { warmupFraction: 0.3 } }));
    expect(text).toContain('held-out group (Brier)');
    expect(text).toContain('held-out group (log loss)');
    for (const row of ['g1 ', 'g2 ', 'g3 ', 'all held-out forecasts', 'mean over groups'])
      expect(text).toContain(row);
  });
});
