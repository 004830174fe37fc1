import type { AvailabilityTrace } from '../market';
import { evalWindows, type WindowSpec } from './interruption-windows';
import { logLossTerm } from './metrics';

/** The three numbers the fit chooses; all pools share them (InterruptionModelOptions of the same names). */
export type FittedInterruptionOptions = {
  /** Prior mean rate (interruptions per hour of exposure) of every pool. */
  defaultRatePerHour: number;
  /** Prior weight, hours of pseudo-exposure. */
  priorExposureHours: number;
  /** Memory: evidence halves every this many hours of exposure (Infinity: never). */
  halfLifeHours: number;
};

export type InterruptionFit = {
  options: FittedInterruptionOptions;
  /** Mean log loss of the online forecasts on the training traces at the chosen options. */
  logLoss: number;
  /** Scored training forecasts. */
  forecasts: number;
  traces: number;
};

/** The candidates; the fit takes the best combination (ties: the first found, looping over half-life, weight, rate). */
export const INTERRUPTION_FIT_GRID = {
  defaultRatePerHour: [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1, 1.5, 2, 3],
  priorExposureHours: [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
  halfLifeHours: [0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 12, 24, 48, Infinity],
};

export type InterruptionFitGrid = typeof INTERRUPTION_FIT_GRID;

/** Per trace: the ticks of its scored windows and whether each was interrupted. */
type Prepared = { trace: AvailabilityTrace; ticks: number[]; hit: boolean[] };

/**
 * Discounted evidence (events, exposure hours) at every window of every trace for one half-life —
 * exactly what `InterruptionModel.observeTrace` accumulates, tick by tick, from the start of the trace.
 * It does not depend on the prior, so each half-life is replayed once and the prior grid is cheap.
 */
function evidenceAtWindows(prepared: Prepared[], halfLifeHours: number): { e: number[]; x: number[] } {
  const e: number[] = [];
  const x: number[] = [];
  for (const { trace, ticks } of prepared) {
    const u = trace.unavailable;
    const gapHours = trace.gapSeconds / 3600;
    const keep = Number.isFinite(halfLifeHours) ? 2 ** (-gapHours / halfLifeHours) : 1;
    let events = 0;
    let exposure = 0;
    let w = 0;
    for (let i = 0; w < ticks.length; i++) {
      if (i > 0 && !u[i - 1]) {
        events = events * keep + (u[i] ? 1 : 0);
        exposure = exposure * keep + gapHours;
      }
      while (w < ticks.length && ticks[w] === i) {
        e.push(events);
        x.push(exposure);
        w++;
      }
    }
  }
  return { e, x };
}

/**
 * Empirical Bayes for the Gamma–Poisson interruption model, across pools: one prior (mean rate, weight)
 * and one memory (half-life) shared by every pool, chosen on a grid to minimise the log loss of the
 * forecasts P(interrupted within d) the model makes running online through the training traces from its
 * prior — the same forecasts, scored on the same windows, as in the backtests. Each pool then starts
 * from this prior and learns from its own observations. Three numbers for all pools; nothing per pool.
 */
export function fitInterruptionModel(
  traces: AvailabilityTrace[],
  spec: WindowSpec = {},
  grid: InterruptionFitGrid = INTERRUPTION_FIT_GRID,
): InterruptionFit {
  const prepared: Prepared[] = traces.map((trace) => {
    const windows = evalWindows(trace, spec);
    return { trace, ticks: windows.map((w) => w.tick), hit: windows.map((w) => w.interrupted) };
  });
  const hit = prepared.flatMap((p) => p.hit);
  if (hit.length === 0) throw new RangeError('interruption fit: the training traces have no scorable window');
  const dHours = (spec.durationSeconds ?? 3600) / 3600;

  let best: InterruptionFit | undefined;
  const logKeep = new Float64Array(hit.length);
  for (const halfLifeHours of grid.halfLifeHours) {
    const { e, x } = evidenceAtWindows(prepared, halfLifeHours);
    for (const weight of grid.priorExposureHours) {
      // P = 1 − (β / (β + d))^α = 1 − exp(α · ln(β / (β + d))), with β = weight + exposure.
      for (let i = 0; i < hit.length; i++) {
        const beta = weight + x[i]!;
        logKeep[i] = Math.log(beta / (beta + dHours));
      }
      for (const rate of grid.defaultRatePerHour) {
        let loss = 0;
        for (let i = 0; i < hit.length; i++) {
          const p = 1 - Math.exp((rate * weight + e[i]!) * logKeep[i]!);
          loss += logLossTerm(p, hit[i]!);
        }
        loss /= hit.length;
        if (!best || loss < best.logLoss) {
          best = {
            options: { defaultRatePerHour: rate, priorExposureHours: weight, halfLifeHours },
            logLoss: loss,
            forecasts: hit.length,
            traces: traces.length,
          };
        }
      }
    }
  }
  return best!;
}
