import { linearRegression } from 'simple-statistics';

/**
 * A point-forecast model: given a regular price history (oldest first, last value = now) returns the
 * forecasts for the next `steps` grid points. Models are stateless and fitted on each call.
 */
export type PriceModel = {
  name: string;
  forecast(history: number[], steps: number, stepSeconds: number): number[];
};

const HOUR = 3600;
const DAY = 86_400;

function last(history: number[]): number {
  return history[history.length - 1]!;
}

/** Trend damping per step, expressed per hour so that it does not depend on the step size. */
function dampPerStep(phiPerHour: number, stepSeconds: number): number {
  return phiPerHour ** (stepSeconds / HOUR);
}

/** Cumulative damped trend: slope · (φ + φ² + … + φ^h) for h = 1..steps. */
function dampedPath(level: number, slope: number, phi: number, steps: number): number[] {
  const out = new Array<number>(steps);
  let acc = 0;
  let f = 1;
  for (let h = 0; h < steps; h++) {
    f *= phi;
    acc += slope * f;
    out[h] = level + acc;
  }
  return out;
}

/** The last observed price holds: the benchmark every other model must beat. */
export const naive: PriceModel = {
  name: 'naive',
  forecast: (history, steps) => new Array<number>(steps).fill(last(history)),
};

/** The price one day earlier at the same time of day (falls back to naive with under a day of history). */
export const seasonalNaiveDaily: PriceModel = {
  name: 'seasonal-naive',
  forecast(history, steps, stepSeconds) {
    const period = Math.max(1, Math.round(DAY / stepSeconds));
    if (history.length < period) return naive.forecast(history, steps, stepSeconds);
    const base = history.length - period;
    return Array.from({ length: steps }, (_, h) => history[base + (h % period)]!);
  },
};

/** Exponentially weighted moving average (simple exponential smoothing), flat forecast. */
export function ewma(alphaPerHour = 0.3, maxHistorySeconds = 14 * DAY): PriceModel {
  return {
    name: 'ewma',
    forecast(history, steps, stepSeconds) {
      // Same memory per hour whatever the step: 1 − α_step = (1 − α_hour)^(step/1h).
      const alpha = 1 - (1 - alphaPerHour) ** (stepSeconds / HOUR);
      const from = Math.max(0, history.length - Math.ceil(maxHistorySeconds / stepSeconds));
      let level = history[from]!;
      for (let i = from + 1; i < history.length; i++) level += alpha * (history[i]! - level);
      return new Array<number>(steps).fill(level);
    },
  };
}

/** Holt's linear trend method with a damped trend (φ per hour); α, β are per step. */
export function holt(alpha = 0.5, beta = 0.1, phiPerHour = 0.95, maxHistorySeconds = 14 * DAY): PriceModel {
  return {
    name: 'holt',
    forecast(history, steps, stepSeconds) {
      const phi = dampPerStep(phiPerHour, stepSeconds);
      const from = Math.max(0, history.length - Math.ceil(maxHistorySeconds / stepSeconds));
      let level = history[from]!;
      let trend = 0;
      for (let i = from + 1; i < history.length; i++) {
        const prev = level;
        level = alpha * history[i]! + (1 - alpha) * (prev + phi * trend);
        trend = beta * (level - prev) + (1 - beta) * phi * trend;
      }
      return dampedPath(level, trend, phi, steps);
    },
  };
}

/**
 * Least-squares line through the last `windowSeconds` of history; the forecast continues its slope
 * (damped) from the last observed price. Anchoring at the last price rather than at the fitted line
 * matters: spot prices move like a random walk, and the fitted line's level lags the current price.
 */
export function windowRegression(windowSeconds = 3 * DAY, phiPerHour = 0.95): PriceModel {
  return {
    name: 'regression',
    forecast(history, steps, stepSeconds) {
      const n = Math.min(history.length, Math.max(2, Math.round(windowSeconds / stepSeconds)));
      if (n < 2) return naive.forecast(history, steps, stepSeconds);
      const points: [number, number][] = new Array(n);
      for (let i = 0; i < n; i++) points[i] = [i, history[history.length - n + i]!];
      const { m } = linearRegression(points);
      return dampedPath(
        last(history),
        Number.isFinite(m) ? m : 0,
        dampPerStep(phiPerHour, stepSeconds),
        steps,
      );
    },
  };
}

/** Random walk with drift: the average change over the last `windowSeconds`, damped, from the last price. */
export function drift(windowSeconds = 3 * DAY, phiPerHour = 0.95): PriceModel {
  return {
    name: 'drift',
    forecast(history, steps, stepSeconds) {
      const k = Math.min(history.length - 1, Math.round(windowSeconds / stepSeconds));
      if (k < 1) return naive.forecast(history, steps, stepSeconds);
      const slope = (last(history) - history[history.length - 1 - k]!) / k;
      return dampedPath(last(history), slope, dampPerStep(phiPerHour, stepSeconds), steps);
    },
  };
}

/** The models the ensemble weighs, in report order. */
export function defaultModels(): PriceModel[] {
  return [naive, seasonalNaiveDaily, ewma(), holt(), windowRegression(), drift()];
}
