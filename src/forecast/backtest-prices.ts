import type { PriceSeries } from '../market';
import { poolKey } from '../market';
import { fitEnsemble, type ForecastOptions } from './ensemble';
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
  ensemble: ErrorPair;
  naive: ErrorPair;
  /** Each model on its own, same triples. */
  byModel: Record<string, ErrorPair>;
  /** sMAPE per horizon step (1-based h). */
  byHorizon: { h: number; smape: number; naiveSmape: number }[];
  /** Share of actuals inside the forecast's central interval. */
  intervalCoverage: number;
  nominalCoverage: number;
  /** Mean weight per model over the pools (weights fitted on the training period). */
  meanWeights: Record<string, number>;
};

/**
 * Rolling-origin evaluation on the last `testSeconds` of every series. Training = everything before the
 * test start: per pool, model weights and interval quantiles come from a rolling-origin backtest on the
 * training period only and are then frozen. Every origin o in the test period (every step by default)
 * forecasts steps o … o+H−1 from all values before o (the past, including earlier test values — as in
 * production), and every step whose target lies inside the data is scored, so late origins score fewer
 * steps. The overall figure is the mean over all (pool, origin, step) triples.
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
  const endMs = Math.max(...series.map((s) => s.startMs + s.values.length * stepMs));
  const testStartMs = endMs - testSteps * stepMs;
  const models = options.forecast?.models ?? defaultModels();
  const coverageNominal = options.forecast?.coverage ?? 0.9;

  const ens = { s: new Mean(), a: new Mean() };
  const nai = { s: new Mean(), a: new Mean() };
  const per = Object.fromEntries(models.map((m) => [m.name, { s: new Mean(), a: new Mean() }]));
  const byH = Array.from({ length: H }, () => ({ s: new Mean(), n: new Mean() }));
  const covered = new Mean();
  const weightSum: Record<string, number> = Object.fromEntries(models.map((m) => [m.name, 0]));
  const originSet = new Set<number>();
  let pools = 0;

  for (const s of series) {
    const testStart = Math.round((testStartMs - s.startMs) / stepMs);
    if (testStart < Math.round(86_400 / step) * 2) {
      throw new RangeError(
        `price backtest: ${poolKey(s.pool)} has under 2 days of data before the test period`,
      );
    }
    if (testStart >= s.values.length) continue;
    pools++;
    const fit = fitEnsemble(s.values.slice(0, testStart), step, H, { ...options.forecast, models });
    for (const m of models) weightSum[m.name]! += fit.weights[m.name] ?? 0;
    for (let o = testStart; o < s.values.length; o += stride) {
      originSet.add(s.startMs + o * stepMs);
      const history = s.values.slice(0, o);
      const k = Math.min(H, s.values.length - o);
      const mean = new Array<number>(k).fill(0);
      for (const m of models) {
        const f = m.forecast(history, k, step);
        const w = fit.weights[m.name] ?? 0;
        for (let h = 0; h < k; h++) {
          const actual = s.values[o + h]!;
          per[m.name]!.s.add(smape(f[h]!, actual));
          per[m.name]!.a.add(Math.abs(f[h]! - actual));
          mean[h]! += w * f[h]!;
        }
      }
      const last = history[history.length - 1]!;
      for (let h = 0; h < k; h++) {
        const actual = s.values[o + h]!;
        const e = smape(mean[h]!, actual);
        const n = smape(last, actual);
        ens.s.add(e);
        ens.a.add(Math.abs(mean[h]! - actual));
        nai.s.add(n);
        nai.a.add(Math.abs(last - actual));
        byH[h]!.s.add(e);
        byH[h]!.n.add(n);
        const lo = Math.max(0, mean[h]! * (1 + fit.lowQ * Math.sqrt(h + 1)));
        const hi = mean[h]! * (1 + fit.highQ * Math.sqrt(h + 1));
        covered.add(actual >= lo - 1e-12 && actual <= hi + 1e-12 ? 1 : 0);
      }
    }
  }
  return {
    pools,
    testStartMs,
    testEndMs: endMs,
    stepSeconds: step,
    horizonSteps: H,
    origins: originSet.size,
    forecasts: ens.s.n,
    ensemble: { smape: ens.s.value, mae: ens.a.value },
    naive: { smape: nai.s.value, mae: nai.a.value },
    byModel: Object.fromEntries(
      models.map((m) => [m.name, { smape: per[m.name]!.s.value, mae: per[m.name]!.a.value }]),
    ),
    byHorizon: byH.map((b, h) => ({ h: h + 1, smape: b.s.value, naiveSmape: b.n.value })),
    intervalCoverage: covered.value,
    nominalCoverage: coverageNominal,
    meanWeights: Object.fromEntries(models.map((m) => [m.name, pools ? weightSum[m.name]! / pools : 0])),
  };
}
