import { quantile } from 'simple-statistics';
import {
  calibrateIntervals,
  drift,
  ewma,
  fitEnsemble,
  forecastAll,
  forecastPrices,
  holt,
  naive,
  regrid,
  seasonalNaiveDaily,
  type EnsembleFit,
  windowRegression,
} from '../../../src/forecast';
import type { PriceSeries } from '../../../src/market';

const pool = { instanceType: 'c5.large', region: 'us-east-1', zone: 'use1-az1' };
const HOUR = 3600;
const series = (values: number[], stepSeconds = HOUR): PriceSeries => ({
  pool,
  startMs: 0,
  stepSeconds,
  values,
});
const days = (n: number, f: (i: number) => number) => Array.from({ length: n * 24 }, (_, i) => f(i));

describe('models recover known answers on synthetic series', () => {
  const constant = days(10, () => 0.05);
  const models = [naive, seasonalNaiveDaily, ewma(), holt(), windowRegression(), drift()];

  it.each(models.map((m) => [m.name, m]))('%s forecasts a constant series exactly', (_, model) => {
    for (const v of model.forecast(constant, 24, HOUR)) expect(v).toBeCloseTo(0.05, 12);
  });

  it('regression and drift follow a linear trend (undamped: exactly)', () => {
    const trend = days(10, (i) => 0.05 + 0.0001 * i);
    const next = Array.from({ length: 24 }, (_, h) => 0.05 + 0.0001 * (trend.length + h));
    for (const m of [windowRegression(3 * 86_400, 1), drift(3 * 86_400, 1)]) {
      m.forecast(trend, 24, HOUR).forEach((v, h) => expect(v).toBeCloseTo(next[h]!, 10));
    }
    // Holt without damping converges to the trend.
    holt(0.5, 0.1, 1)
      .forecast(trend, 24, HOUR)
      .forEach((v, h) => expect(v).toBeCloseTo(next[h]!, 6));
    // Damped versions still move in the trend's direction, less than the full slope.
    const damped = drift().forecast(trend, 24, HOUR);
    expect(damped[23]!).toBeGreaterThan(trend[trend.length - 1]!);
    expect(damped[23]!).toBeLessThan(next[23]!);
  });

  it('seasonal naive repeats the daily cycle; the ensemble picks it for a seasonal series', () => {
    const cycle = (i: number) => 0.05 + 0.01 * Math.sin((2 * Math.PI * (i % 24)) / 24);
    const seasonal = days(10, cycle);
    const next = Array.from({ length: 24 }, (_, h) => cycle(seasonal.length + h));
    seasonalNaiveDaily.forecast(seasonal, 24, HOUR).forEach((v, h) => expect(v).toBeCloseTo(next[h]!, 12));
    const f = forecastPrices(series(seasonal));
    expect(f.models['seasonal-naive']).toBeGreaterThan(0.99);
    f.mean.forEach((v, h) => expect(v).toBeCloseTo(next[h]!, 4));
  });

  it('after a step change naive and EWMA settle on the new level', () => {
    const step = days(10, (i) => (i < 200 ? 0.05 : 0.08));
    expect(naive.forecast(step, 24, HOUR)).toEqual(new Array(24).fill(0.08));
    expect(ewma().forecast(step, 24, HOUR)[0]).toBeCloseTo(0.08, 6);
    // Once the trend models have forgotten the jump, the ensemble sits on the new level too.
    const settled = days(10, (i) => (i < 100 ? 0.05 : 0.08));
    forecastPrices(series(settled)).mean.forEach((v) => expect(v).toBeCloseTo(0.08, 6));
  });
});

describe('forecastPrices', () => {
  it('returns a horizon of steps after the last value, with weights summing to 1', () => {
    const s = { ...series(days(5, (i) => 0.05 + 0.00001 * i)), startMs: Date.UTC(2024, 0, 1) };
    const f = forecastPrices(s, { horizonSeconds: 12 * HOUR });
    expect(f.mean).toHaveLength(12);
    expect(f.startMs).toBe(Date.UTC(2024, 0, 1) + 120 * HOUR * 1000);
    expect(Object.values(f.models).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    f.mean.forEach((m, h) => {
      expect(f.lower[h]!).toBeLessThanOrEqual(m);
      expect(f.upper[h]!).toBeGreaterThanOrEqual(m);
    });
  });

  it('intervals come from backtest residuals: zero width on a constant series, wider with noise and horizon', () => {
    const flat = forecastPrices(series(days(10, () => 0.05)));
    flat.mean.forEach((m, h) => {
      expect(m).toBeCloseTo(0.05, 12);
      expect(flat.upper[h]! - m).toBeCloseTo(0, 12);
      expect(flat.lower[h]! - m).toBeCloseTo(0, 12);
    });
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.002;
    let x = 0.05;
    const walk = days(10, () => (x = Math.max(0.01, x + rand())));
    const f = forecastPrices(series(walk));
    expect(f.upper[0]! - f.lower[0]!).toBeGreaterThan(0);
    expect(f.upper[23]! - f.lower[23]!).toBeGreaterThan(f.upper[0]! - f.lower[0]!);
  });

  it('re-grids to another step, last value carried forward', () => {
    const s = series([1, 2, 3, 4], HOUR);
    expect(regrid(s, 1800).values).toEqual([1, 1, 2, 2, 3, 3, 4]);
    const f = forecastPrices(series(days(3, () => 0.05)), { stepSeconds: 900, horizonSeconds: 2 * HOUR });
    expect(f.stepSeconds).toBe(900);
    expect(f.mean).toHaveLength(8);
  });

  it('falls back to naive with too little history, and forecastAll maps every series', () => {
    const fit = fitEnsemble([0.05, 0.051, 0.05], HOUR, 24);
    expect(fit.origins).toBe(0);
    expect(fit.weights.naive).toBe(1);
    expect(forecastAll([series([0.05, 0.05]), series([0.07])]).map((f) => f.mean[0])).toEqual([0.05, 0.07]);
    expect(() => forecastPrices(series([]))).toThrow(RangeError);
  });
});

describe('fallback to the last price and intervals calibrated across pools', () => {
  it('forecasts the last price at steps where the ensemble did not beat it in the backtest', () => {
    // Flat for days, then one jump: every model ties naive or loses to it in the backtest.
    const values = days(10, (i) => (i < 200 ? 0.05 : 0.051));
    const fit = fitEnsemble(values, HOUR, 24);
    expect(fit.ensembleSteps).toEqual(new Array(24).fill(false));
    expect(forecastPrices(series(values)).mean).toEqual(new Array(24).fill(0.051));
    // A daily cycle: the ensemble (seasonal naive) wins at every step but the 24th, where the price a
    // day earlier is the last price itself (a tie keeps the last price).
    const cycle = days(10, (i) => 0.05 + 0.01 * Math.sin((2 * Math.PI * (i % 24)) / 24));
    expect(fitEnsemble(cycle, HOUR, 24).ensembleSteps).toEqual([...new Array(23).fill(true), false]);
  });

  it('pools the relative errors of every pool at each step and takes their quantiles', () => {
    const fit = (residuals: number[][]): EnsembleFit => ({
      weights: { naive: 1 },
      errors: {},
      ensembleSteps: [false, false],
      lower: [-0.5, -0.5],
      upper: [0.5, 0.5],
      residuals,
      origins: 3,
    });
    const a = fit([[-0.02, 0, 0.01], []]);
    const b = fit([[0.03, -0.01, 0, 0.02], []]);
    const [ca, cb] = calibrateIntervals([a, b], 0.8);
    const pooled = [-0.02, 0, 0.01, 0.03, -0.01, 0, 0.02];
    expect(ca!.lower[0]).toBeCloseTo(Math.min(0, quantile(pooled, 0.1)), 12);
    expect(ca!.upper[0]).toBeCloseTo(quantile(pooled, 0.9), 12);
    expect(cb!.lower[0]).toBe(ca!.lower[0]);
    expect(cb!.upper[0]).toBe(ca!.upper[0]);
    // No residuals at step 2 anywhere: each pool keeps its own bounds.
    expect([ca!.lower[1], ca!.upper[1]]).toEqual([-0.5, 0.5]);
  });

  it('forecastAll gives every pool the same relative interval at a step, around its own mean', () => {
    let seed = 3;
    const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const walk = (start: number) => {
      let x = start;
      return days(10, () => (rand() < 0.2 ? (x = x * (1 + (rand() - 0.5) * 0.02)) : x));
    };
    const [f, g] = forecastAll([series(walk(0.05)), series(walk(0.2))], { horizonSeconds: 6 * HOUR });
    for (let h = 0; h < 6; h++) {
      expect(f!.upper[h]! / f!.mean[h]!).toBeCloseTo(g!.upper[h]! / g!.mean[h]!, 12);
      expect(f!.lower[h]! / f!.mean[h]!).toBeCloseTo(g!.lower[h]! / g!.mean[h]!, 12);
    }
    expect(f!.upper[5]! - f!.lower[5]!).toBeGreaterThan(0);
  });
});
