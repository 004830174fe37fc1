import { quantileSorted } from 'simple-statistics';
import type { Pool, PriceSeries } from '../market';
import { smape } from './metrics';
import { defaultModels, type PriceModel } from './models';

export type PriceForecast = {
  pool: Pool;
  /** Time of mean[0]: one step after the last observed value. */
  startMs: number;
  stepSeconds: number;
  mean: number[];
  /** Central prediction interval (default 90 %) from backtest residuals. */
  lower: number[];
  upper: number[];
  /** Model name → weight in the mean (weights sum to 1). */
  models: Record<string, number>;
};

export type ForecastOptions = {
  /** Default 24 h. */
  horizonSeconds?: number;
  /** Default: the series' own step (the series is re-gridded, last value carried forward, if it differs). */
  stepSeconds?: number;
  /** Rolling-origin backtest used to weigh the models: how far back the origins go (default 7 days). */
  backtestSeconds?: number;
  /** Spacing of those origins (default 6 h). */
  originStrideSeconds?: number;
  /** Central interval coverage, default 0.9. */
  coverage?: number;
  models?: PriceModel[];
  /** Use these weights and residual quantiles instead of backtesting (e.g. frozen from a training period). */
  fit?: EnsembleFit;
};

/**
 * What the rolling-origin backtest learned about one pool: model weights, each model's backtest sMAPE,
 * and quantiles of the ensemble's relative error divided by √h (h = steps ahead), which scale the
 * interval at each horizon step.
 */
export type EnsembleFit = {
  weights: Record<string, number>;
  errors: Record<string, number>;
  lowQ: number;
  highQ: number;
  origins: number;
};

const DAY = 86_400;

/** Re-grids a series to another step, last observation carried forward. */
export function regrid(series: PriceSeries, stepSeconds: number): PriceSeries {
  if (stepSeconds === series.stepSeconds) return series;
  const span = series.values.length * series.stepSeconds;
  const n = Math.max(1, Math.floor((span - series.stepSeconds) / stepSeconds) + 1);
  const values = Array.from(
    { length: n },
    (_, i) =>
      series.values[Math.min(series.values.length - 1, Math.floor((i * stepSeconds) / series.stepSeconds))]!,
  );
  return { ...series, stepSeconds, values };
}

function normalise(raw: Record<string, number>): Record<string, number> {
  const total = Object.values(raw).reduce((a, b) => a + b, 0);
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v / total]));
}

function combine(
  models: PriceModel[],
  weights: Record<string, number>,
  history: number[],
  steps: number,
  step: number,
) {
  const mean = new Array<number>(steps).fill(0);
  for (const m of models) {
    const w = weights[m.name] ?? 0;
    if (w === 0) continue;
    const f = m.forecast(history, steps, step);
    for (let h = 0; h < steps; h++) mean[h]! += w * f[h]!;
  }
  return mean;
}

/**
 * Rolling-origin backtest on the history itself: at origins every `originStride` over the last
 * `backtestSeconds` (each with at least a day of history before it), every model forecasts the next
 * `steps`; its error is the mean sMAPE over all origins and steps whose target is observed. Weights are
 * proportional to 1 / (sMAPE + ε)², so a model twice as accurate gets four times the weight; ε (a tenth
 * of a basis point) keeps a perfect model from taking all the weight on a handful of origins.
 */
export function fitEnsemble(
  values: number[],
  stepSeconds: number,
  steps: number,
  options: ForecastOptions = {},
): EnsembleFit {
  const models = options.models ?? defaultModels();
  const coverage = options.coverage ?? 0.9;
  const stride = Math.max(1, Math.round((options.originStrideSeconds ?? 6 * 3600) / stepSeconds));
  const back = Math.round((options.backtestSeconds ?? 7 * DAY) / stepSeconds);
  const minHistory = Math.max(2, Math.round(DAY / stepSeconds));
  const origins: number[] = [];
  for (let o = values.length - 1; o >= Math.max(minHistory, values.length - back); o -= stride)
    origins.push(o);

  const errSum: Record<string, number> = {};
  const forecasts: Record<string, number[][]> = {};
  let n = 0;
  for (const m of models) {
    errSum[m.name] = 0;
    forecasts[m.name] = [];
  }
  for (const o of origins) {
    const history = values.slice(0, o);
    const k = Math.min(steps, values.length - o);
    for (const m of models) {
      const f = m.forecast(history, k, stepSeconds);
      forecasts[m.name]!.push(f);
      for (let h = 0; h < k; h++) errSum[m.name]! += smape(f[h]!, values[o + h]!);
    }
    n += k;
  }
  if (n === 0) return fallbackFit(values, models, coverage);

  const errors: Record<string, number> = {};
  const raw: Record<string, number> = {};
  for (const m of models) {
    errors[m.name] = errSum[m.name]! / n;
    raw[m.name] = 1 / (errors[m.name]! + 1e-5) ** 2;
  }
  const weights = normalise(raw);

  // Relative residuals of the weighted forecast, scaled by 1/√h so that all steps pool together.
  const scaled: number[] = [];
  origins.forEach((o, i) => {
    const k = Math.min(steps, values.length - o);
    for (let h = 0; h < k; h++) {
      let f = 0;
      for (const m of models) f += weights[m.name]! * forecasts[m.name]![i]![h]!;
      if (f > 0) scaled.push((values[o + h]! / f - 1) / Math.sqrt(h + 1));
    }
  });
  const [lowQ, highQ] = residualQuantiles(scaled, coverage);
  return { weights, errors, lowQ, highQ, origins: origins.length };
}

function residualQuantiles(scaled: number[], coverage: number): [number, number] {
  if (scaled.length === 0) return [0, 0];
  scaled.sort((a, b) => a - b);
  const tail = (1 - coverage) / 2;
  return [Math.min(0, quantileSorted(scaled, tail)), Math.max(0, quantileSorted(scaled, 1 - tail))];
}

/** Too little history to backtest: all weight on naive, intervals from one-step relative changes. */
function fallbackFit(values: number[], models: PriceModel[], coverage: number): EnsembleFit {
  const changes: number[] = [];
  for (let i = 1; i < values.length; i++)
    if (values[i - 1]! > 0) changes.push(values[i]! / values[i - 1]! - 1);
  const [lowQ, highQ] = residualQuantiles(changes, coverage);
  const weights = Object.fromEntries(models.map((m) => [m.name, m.name === 'naive' ? 1 : 0]));
  return { weights, errors: {}, lowQ, highQ, origins: 0 };
}

/** Forecast of one pool's price over the horizon: weighted models, interval from backtest residuals. */
export function forecastPrices(series: PriceSeries, options: ForecastOptions = {}): PriceForecast {
  if (series.values.length === 0)
    throw new RangeError(`empty price series for ${series.pool.instanceType}@${series.pool.zone}`);
  const s = regrid(series, options.stepSeconds ?? series.stepSeconds);
  const steps = Math.max(1, Math.round((options.horizonSeconds ?? DAY) / s.stepSeconds));
  const models = options.models ?? defaultModels();
  const fit = options.fit ?? fitEnsemble(s.values, s.stepSeconds, steps, options);
  const mean = combine(models, fit.weights, s.values, steps, s.stepSeconds).map((v) => Math.max(0, v));
  const lower = mean.map((v, h) => Math.max(0, v * (1 + fit.lowQ * Math.sqrt(h + 1))));
  const upper = mean.map((v, h) => v * (1 + fit.highQ * Math.sqrt(h + 1)));
  return {
    pool: s.pool,
    startMs: s.startMs + s.values.length * s.stepSeconds * 1000,
    stepSeconds: s.stepSeconds,
    mean,
    lower,
    upper,
    models: { ...fit.weights },
  };
}

export function forecastAll(series: PriceSeries[], options: ForecastOptions = {}): PriceForecast[] {
  return series.map((s) => forecastPrices(s, options));
}
