/**
 * The runtime controller's thresholds that are not safety: what a learned policy may tune
 * (src/learn). The deadline safety net stays outside the learner's reach: its margin can only grow
 * (`guardMarginScale` ≥ 1) and it always releases above its margin, so whatever the tuning, a job
 * that fits its deadline on on-demand at submission keeps meeting it (src/controller/deadline-guard.ts).
 */

export interface ControllerTuning {
  /**
   * Wait for spot capacity to come back only when ahead of the deadline's pace by this many
   * restarts' worth of work (boot + restart); negative: wait even when a little behind.
   */
  waitAheadRestarts: number;
  /** Move running on-demand work back to spot when ahead of pace by this many restarts. */
  backToSpotRestarts: number;
  /** The safety net's margin × this; at least 1: a tuning makes it more cautious, never less. */
  guardMarginScale: number;
  /** The safety net releases once the slack is this many margins (hysteresis; at least 1.5). */
  releaseMargins: number;
  /** How long a pool that interrupted gets no new spot (job seconds); absent: the driver's. */
  penaltySeconds?: number;
}

/** The hand-set thresholds: the heuristic `spotdag` policy. */
export const DEFAULT_TUNING: ControllerTuning = {
  waitAheadRestarts: 0,
  backToSpotRestarts: 2,
  guardMarginScale: 1,
  releaseMargins: 3,
};

/** The lowest values that keep the safety net's invariant. */
export const SAFE_FLOOR = { guardMarginScale: 1, releaseMargins: 1.5 } as const;

/** `tuning` over the defaults, with the safety net's parameters held at or above their floor. */
export function resolveTuning(tuning: Partial<ControllerTuning> | undefined): ControllerTuning {
  const t = { ...DEFAULT_TUNING, ...tuning };
  // NaN fails every comparison: it falls to the floor too.
  const atLeast = (floor: number, x: number) => (x >= floor ? x : floor);
  return {
    ...t,
    guardMarginScale: atLeast(SAFE_FLOOR.guardMarginScale, t.guardMarginScale),
    releaseMargins: atLeast(SAFE_FLOOR.releaseMargins, t.releaseMargins),
  };
}
