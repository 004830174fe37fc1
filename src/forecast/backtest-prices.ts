import type { PriceSeries } from '../market';
import { poolKey } from '../market';
import { calibrateIntervals, fitEnsemble, weightedSum, type ForecastOptions } from './ensemble';
import { Mean, smape } from './metrics';
import { defaultModels } from './models';

export type PriceBacktestOptions = {
  series: PriceSeries[];
  /** Length of the test period at the end of the data (default 7 days). */
  testSeconds?: number;
  horizonSeconds?: number;
  /** Spacing of the rolling origins in the test period (default: every step). */
  originStrideSeconds?: number;
  forecast?: Omit<ForecastOptions, 'fit' | 'horizonSeconds' | 'stepSeconds'>;
  /** Called after each pool is scored. */
  onPool?: (done: number, total: number) => void;
};

export type ErrorPair = { smape: number; mae: number };

export type PriceBacktest = {
  pools: number;
  testStartMs: number;
  testEndMs: number;
  stepSeconds: number;
  horizonSteps: number;
  origins: number;
  /** (pool, origin, step) triples scored. */
  forecasts: number;
  /** The forecast spotdag uses: the weighted ensemble, or the last price at steps where it did not win in training. */
  ensemble: ErrorPair;
  /** The weighted ensemble at every step, without the fallback to the last price. */
  ensembleWithoutFallback: ErrorPair;
  naive: ErrorPair;
  /** Each model on its own, same triples. */
  byModel: Record<string, ErrorPair>;
  /**
   * Per horizon step (1-based h): sMAPE of the forecast and of naive, interval coverage, and the share
   * of pools whose fit uses the ensemble (not the last price) at that step.
   */
  byHorizon: { h: number; smape: number; naiveSmape: number; coverage: number; ensembleShare: number }[];
  /** Share of actuals inside the forecast's central interval (intervals calibrated across pools). */
  intervalCoverage: number;
  /** The same with each pool's own backtest quantiles (no pooling), for comparison. */
  ownIntervalCoverage: number;
  nominalCoverage: number;
  /** Mean interval width relative to the forecast, (upper − lower) / mean. */
  intervalWidth: number;
  /** Mean weight per model over the pools (weights fitted on the training period). */
  meanWeights: Record<string, number>;
  /**
   * How close the training prices are to a random walk: autocorrelation of relative hourly changes at
   * lags 1 and 24 steps, pooled over pools (0 for a random walk).
   */
  changeAutocorrelation: { lag1: number; lag24: number };
};

/** Pooled autocorrelation of relative one-step changes at a lag, over many series. */
function changeAutocorrelation(series: number[][], lag: number): number {
  let num = 0;
  let den = 0;
  for (const v of series) {
    const c: number[] = [];
    for (let i = 1; i < v.length; i++) c.push(v[i - 1]! > 0 ? v[i]! / v[i - 1]! - 1 : 0);
    for (let i = 0; i < c.length; i++) {
      den += c[i]! ** 2;
      if (i >= lag) num += c[i]! * c[i - lag]!;
    }
  }
  return den > 0 ? num / den : 0;
}

function endOfData(series: PriceSeries[], stepMs: number): number {
  let end = -Infinity;
  for (const s of series) end = Math.max(end, s.startMs + s.values.length * stepMs);
  return end;
}

/**
 * Rolling-origin evaluation on the last `testSeconds` of every series. Training = everything before the
 * test start: per pool, model weights and the fallback steps come from a rolling-origin backtest on the
 * training period only, the intervals from those backtests' errors pooled across pools; all are then
 * frozen. Every origin o in the test period (every step by default) forecasts steps o … o+H−1 from all
 * values before o (the past, including earlier test values — as in production), and every step whose
 * target lies inside the data is scored, so late origins score fewer steps. The overall figure is the
 * mean over all (pool, origin, step) triples.
 */
export function backtestPrices(options: PriceBacktestOptions): PriceBacktest {
  const { series } = options;
  if (series.length === 0) throw new RangeError('price backtest: no price series');
  const step = series[0]!.stepSeconds;
  if (series.some((s) => s.stepSeconds !== step))
    throw new RangeError('price backtest: series must share one step');
  const stepMs = step * 1000;
  const testSteps = Math.round((options.testSeconds ?? 7 * 86_400) / step);
  const H = Math.max(1, Math.round((options.horizonSeconds ?? 86_400) / step));
  const stride = Math.max(1, Math.round((options.originStrideSeconds ?? step) / step));
  const endMs = endOfData(series, stepMs);
  const testStartMs = endMs - testSteps * stepMs;
  const models = options.forecast?.models ?? defaultModels();
  const coverageNominal = options.forecast?.coverage ?? 0.9;

  const tested: { s: PriceSeries; testStart: number }[] = [];
  for (const s of series) {
    const testStart = Math.round((testStartMs - s.startMs) / stepMs);
    if (testStart < Math.round(86_400 / step) * 2) {
      throw new RangeError(
        `price backtest: ${poolKey(s.pool)} has under 2 days of data before the test period`,
      );
    }
    if (testStart < s.values.length) tested.push({ s, testStart });
  }
  const own = tested.map(({ s, testStart }) =>
    fitEnsemble(s.values.slice(0, testStart), step, H, { ...options.forecast, models }),
  );
  const fits = calibrateIntervals(own, coverageNominal);

  const ens = { s: new Mean(), a: new Mean() };
  const all = { s: new Mean(), a: new Mean() };
  const nai = { s: new Mean(), a: new Mean() };
  const per = Object.fromEntries(models.map((m) => [m.name, { s: new Mean(), a: new Mean() }]));
  const byH = Array.from({ length: H }, () => ({
    s: new Mean(),
    n: new Mean(),
    c: new Mean(),
    e: new Mean(),
  }));
  const covered = new Mean();
  const ownCovered = new Mean();
  const width = new Mean();
  const weightSum: Record<string, number> = Object.fromEntries(models.map((m) => [m.name, 0]));
  const originSet = new Set<number>();
  const inside = (actual: number, mean: number, lo: number, hi: number) =>
    actual >= Math.max(0, mean * (1 + lo)) - 1e-12 && actual <= mean * (1 + hi) + 1e-12;

  tested.forEach(({ s, testStart }, p) => {
    const fit = fits[p]!;
    for (const m of models) weightSum[m.name]! += fit.weights[m.name] ?? 0;
    for (let h = 0; h < H; h++) byH[h]!.e.add(fit.ensembleSteps[h] ? 1 : 0);
    for (let o = testStart; o < s.values.length; o += stride) {
      originSet.add(s.startMs + o * stepMs);
      const history = s.values.slice(0, o);
      const k = Math.min(H, s.values.length - o);
      const forecasts = models.map((m) => m.forecast(history, k, step));
      models.forEach((m, i) => {
        for (let h = 0; h < k; h++) {
          per[m.name]!.s.add(smape(forecasts[i]![h]!, s.values[o + h]!));
          per[m.name]!.a.add(Math.abs(forecasts[i]![h]! - s.values[o + h]!));
        }
      });
      const weighted = weightedSum(models, fit.weights, forecasts, k);
      const last = history[history.length - 1]!;
      for (let h = 0; h < k; h++) {
        const actual = s.values[o + h]!;
        const mean = fit.ensembleSteps[h] ? weighted[h]! : last;
        const e = smape(mean, actual);
        const n = smape(last, actual);
        ens.s.add(e);
        ens.a.add(Math.abs(mean - actual));
        all.s.add(smape(weighted[h]!, actual));
        all.a.add(Math.abs(weighted[h]! - actual));
        nai.s.add(n);
        nai.a.add(Math.abs(last - actual));
        const hit = inside(actual, mean, fit.lower[h]!, fit.upper[h]!);
        byH[h]!.s.add(e);
        byH[h]!.n.add(n);
        byH[h]!.c.add(hit ? 1 : 0);
        covered.add(hit ? 1 : 0);
        ownCovered.add(inside(actual, mean, own[p]!.lower[h]!, own[p]!.upper[h]!) ? 1 : 0);
        if (mean > 0) width.add(fit.upper[h]! - Math.max(-1, fit.lower[h]!));
      }
    }
    options.onPool?.(p + 1, tested.length);
  });
  const training = tested.map(({ s, testStart }) => s.values.slice(0, testStart));
  return {
    pools: tested.length,
    testStartMs,
    testEndMs: endMs,
    stepSeconds: step,
    horizonSteps: H,
    origins: originSet.size,
    forecasts: ens.s.n,
    ensemble: { smape: ens.s.value, mae: ens.a.value },
    ensembleWithoutFallback: { smape: all.s.value, mae: all.a.value },
    naive: { smape: nai.s.value, mae: nai.a.value },
    byModel: Object.fromEntries(
      models.map((m) => [m.name, { smape: per[m.name]!.s.value, mae: per[m.name]!.a.value }]),
    ),
    byHorizon: byH.map((b, h) => ({
      h: h + 1,
      smape: b.s.value,
      naiveSmape: b.n.value,
      coverage: b.c.value,
      ensembleShare: b.e.value,
    })),
    intervalCoverage: covered.value,
    ownIntervalCoverage: ownCovered.value,
    nominalCoverage: coverageNominal,
    intervalWidth: width.value,
    meanWeights: Object.fromEntries(
      models.map((m) => [m.name, tested.length ? weightSum[m.name]! / tested.length : 0]),
    ),
    changeAutocorrelation: {
      lag1: changeAutocorrelation(training, 1),
      lag24: changeAutocorrelation(training, Math.max(1, Math.round(86_400 / step))),
    },
  };
}
