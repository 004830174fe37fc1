import type { AvailabilityTrace } from '../market';

/** Exposure and transitions over ticks (from, to] of a trace: what an observer of the pool would count. */
export type TraceCounts = {
  exposureSeconds: number;
  interruptions: number;
  downSeconds: number;
  recoveries: number;
};

/**
 * Counts over the transitions from tick i−1 to tick i for from < i ≤ to. A tick that starts available
 * contributes one gap of exposure, and an interruption if the next tick is unavailable; a tick that
 * starts unavailable contributes downtime, and a recovery if the next tick is available.
 */
export function traceCounts(trace: AvailabilityTrace, from: number, to: number): TraceCounts {
  const c: TraceCounts = { exposureSeconds: 0, interruptions: 0, downSeconds: 0, recoveries: 0 };
  const u = trace.unavailable;
  for (let i = Math.max(1, from + 1); i <= Math.min(to, u.length - 1); i++) {
    if (!u[i - 1]) {
      c.exposureSeconds += trace.gapSeconds;
      if (u[i]) c.interruptions++;
    } else {
      c.downSeconds += trace.gapSeconds;
      if (!u[i]) c.recoveries++;
    }
  }
  return c;
}
