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
  /** Central prediction interval (default 90 %) from backtest residuals (pooled across pools by forecastAll). */
  lower: number[];
  upper: number[];
  /** Model name → weight in the mean at steps where the ensemble is used (weights sum to 1). */
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
 * at which horizon steps the weighted ensemble beat the last price (elsewhere the forecast is the last
 * price), and the interval: at step h (0-based) the central interval is
 * [mean·(1 + lower[h]), mean·(1 + upper[h])], from quantiles of the relative errors at that step.
 */
export type EnsembleFit = {
  weights: Record<string, number>;
  errors: Record<string, number>;
  /** Per step: true where the ensemble beat naive in the backtest; false → the step forecasts the last price. */
  ensembleSteps: boolean[];
  lower: number[];
  upper: number[];
  /** The backtest's relative errors actual / forecast − 1 per step: the sample the interval came from. */
  residuals: number[][];
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

/** Σ weight × forecast over the models, per step (`forecasts[i]` is `models[i]`'s). */
export function weightedSum(
  models: PriceModel[],
  weights: Record<string, number>,
  forecasts: number[][],
  steps: number,
): number[] {
  const mean = new Array<number>(steps).fill(0);
  models.forEach((m, i) => {
    const w = weights[m.name] ?? 0;
    if (w !== 0) for (let h = 0; h < steps; h++) mean[h]! += w * forecasts[i]![h]!;
  });
  return mean;
}

/** The weighted sum of the models' forecasts of each step, or the last price at steps off the ensemble. */
export function ensembleForecast(
  models: PriceModel[],
  fit: Pick<EnsembleFit, 'weights' | 'ensembleSteps'>,
  history: number[],
  steps: number,
  stepSeconds: number,
): number[] {
  const forecasts = models.map((m) =>
    (fit.weights[m.name] ?? 0) === 0 ? [] : m.forecast(history, steps, stepSeconds),
  );
  const last = history[history.length - 1]!;
  return weightedSum(models, fit.weights, forecasts, steps).map((v, h) => (fit.ensembleSteps[h] ? v : last));
}

/**
 * Rolling-origin backtest on the history itself: at origins every `originStride` over the last
 * `backtestSeconds` (each with at least a day of history before it), every model forecasts the next
 * `steps`; its error is the mean sMAPE over all origins and steps whose target is observed. Weights are
 * proportional to 1 / (sMAPE + ε)², so a model twice as accurate gets four times the weight; ε (a tenth
 * of a basis point) keeps a perfect model from taking all the weight on a handful of origins.
 *
 * Prices here move like a random walk, where the last price is hard to beat a few hours out: at every
 * step where the weighted ensemble's backtest sMAPE is not below the last price's, the fit falls back
 * to the last price. The interval at step h comes from the 5 % and 95 % (for 90 % coverage) quantiles
 * of the relative errors of the resulting forecast at that step.
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
  if (n === 0) return fallbackFit(values, models, steps, coverage);

  const errors: Record<string, number> = {};
  const raw: Record<string, number> = {};
  for (const m of models) {
    errors[m.name] = errSum[m.name]! / n;
    raw[m.name] = 1 / (errors[m.name]! + 1e-5) ** 2;
  }
  const weights = normalise(raw);

  // Per step: the weighted forecast and the last price at every origin, scored on the same targets.
  const weighted = origins.map((o, i) =>
    weightedSum(
      models,
      weights,
      models.map((m) => forecasts[m.name]![i]!),
      Math.min(steps, values.length - o),
    ),
  );
  const ensembleErr = new Array<number>(steps).fill(0);
  const naiveErr = new Array<number>(steps).fill(0);
  origins.forEach((o, i) => {
    weighted[i]!.forEach((f, h) => {
      ensembleErr[h]! += smape(f, values[o + h]!);
      naiveErr[h]! += smape(values[o - 1]!, values[o + h]!);
    });
  });
  const ensembleSteps = ensembleErr.map((e, h) => e < naiveErr[h]!);

  const residuals: number[][] = Array.from({ length: steps }, () => []);
  origins.forEach((o, i) => {
    weighted[i]!.forEach((f, h) => {
      const forecast = ensembleSteps[h] ? f : values[o - 1]!;
      if (forecast > 0) residuals[h]!.push(values[o + h]! / forecast - 1);
    });
  });
  return {
    weights,
    errors,
    ensembleSteps,
    ...intervalFromResiduals(residuals, coverage),
    residuals,
    origins: origins.length,
  };
}

/** Quantile bounds of a sample, widened to include 0 (the interval always contains the forecast). */
function bounds(sample: number[], coverage: number): [number, number] {
  if (sample.length === 0) return [0, 0];
  const sorted = [...sample].sort((a, b) => a - b);
  const tail = (1 - coverage) / 2;
  return [Math.min(0, quantileSorted(sorted, tail)), Math.max(0, quantileSorted(sorted, 1 - tail))];
}

function intervalFromResiduals(
  residuals: number[][],
  coverage: number,
): { lower: number[]; upper: number[] } {
  const b = residuals.map((r) => bounds(r, coverage));
  return { lower: b.map(([lo]) => lo), upper: b.map(([, hi]) => hi) };
}

/**
 * Too little history to backtest: the last price, with an interval from one-step relative changes
 * widened by √h (random-walk growth); such a pool adds no residuals to a pooled calibration.
 */
function fallbackFit(values: number[], models: PriceModel[], steps: number, coverage: number): EnsembleFit {
  const changes: number[] = [];
  for (let i = 1; i < values.length; i++)
    if (values[i - 1]! > 0) changes.push(values[i]! / values[i - 1]! - 1);
  const [lo, hi] = bounds(changes, coverage);
  const weights = Object.fromEntries(models.map((m) => [m.name, m.name === 'naive' ? 1 : 0]));
  return {
    weights,
    errors: {},
    ensembleSteps: new Array<boolean>(steps).fill(false),
    lower: Array.from({ length: steps }, (_, h) => lo * Math.sqrt(h + 1)),
    upper: Array.from({ length: steps }, (_, h) => hi * Math.sqrt(h + 1)),
    residuals: Array.from({ length: steps }, () => []),
    origins: 0,
  };
}

/**
 * Split-conformal intervals across pools: the relative errors of every pool's backtest at step h are
 * pooled and their quantiles become every pool's interval at that step. One pool's few dozen origins
 * cannot place a 5 % quantile (most pools' prices do not change for hours, so their own quantiles are
 * often 0, an interval of zero width); the pooled sample has thousands per step. Pools keep their own
 * means; a step with no pooled residuals keeps each pool's own bounds.
 */
export function calibrateIntervals(fits: EnsembleFit[], coverage = 0.9): EnsembleFit[] {
  const steps = fits.reduce((n, f) => Math.max(n, f.residuals.length), 0);
  const pooled = Array.from({ length: steps }, (_, h) => {
    const sample: number[] = [];
    for (const f of fits) for (const r of f.residuals[h] ?? []) sample.push(r);
    return sample;
  });
  const { lower, upper } = intervalFromResiduals(pooled, coverage);
  return fits.map((f) => ({
    ...f,
    lower: f.lower.map((own, h) => (pooled[h]!.length ? lower[h]! : own)),
    upper: f.upper.map((own, h) => (pooled[h]!.length ? upper[h]! : own)),
  }));
}

/** Forecast of one pool's price over the horizon: weighted models, interval from backtest residuals. */
export function forecastPrices(series: PriceSeries, options: ForecastOptions = {}): PriceForecast {
  if (series.values.length === 0)
    throw new RangeError(`empty price series for ${series.pool.instanceType}@${series.pool.zone}`);
  const s = regrid(series, options.stepSeconds ?? series.stepSeconds);
  const steps = Math.max(1, Math.round((options.horizonSeconds ?? DAY) / s.stepSeconds));
  const models = options.models ?? defaultModels();
  const fit = options.fit ?? fitEnsemble(s.values, s.stepSeconds, steps, options);
  const mean = ensembleForecast(models, fit, s.values, steps, s.stepSeconds).map((v) => Math.max(0, v));
  const lower = mean.map((v, h) => Math.max(0, v * (1 + (fit.lower[h] ?? 0))));
  const upper = mean.map((v, h) => v * (1 + (fit.upper[h] ?? 0)));
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

/**
 * Forecasts of every pool: each pool's own backtest sets its weights and fallback steps; the intervals
 * are calibrated across pools (`calibrateIntervals`) unless `options.fit` fixes them.
 */
export function forecastAll(series: PriceSeries[], options: ForecastOptions = {}): PriceForecast[] {
  if (options.fit) return series.map((s) => forecastPrices(s, options));
  const regridded = series.map((s) => regrid(s, options.stepSeconds ?? s.stepSeconds));
  const fits = regridded.map((s) => {
    if (s.values.length === 0)
      throw new RangeError(`empty price series for ${s.pool.instanceType}@${s.pool.zone}`);
    const steps = Math.max(1, Math.round((options.horizonSeconds ?? DAY) / s.stepSeconds));
    return fitEnsemble(s.values, s.stepSeconds, steps, options);
  });
  const calibrated = calibrateIntervals(fits, options.coverage);
  return regridded.map((s, i) => forecastPrices(s, { ...options, fit: calibrated[i] }));
}
