/**
 * Uniform Progress (Wu et al., "Can't Be Late: Optimizing Spot Instance Savings under Deadlines",
 * NSDI'24, §4), as the paper states it, for one job of C seconds of work, deadline D and restart
 * overhead d (time billed without progress after starting or switching an instance), decided at
 * every trace tick of `gap` seconds:
 *
 * - behind when t·C/D − done > 0;
 * - spot whenever it is available;
 * - when spot is unavailable: on-demand if behind, else wait;
 * - once on on-demand, stay there unless spot is available and (t + 2d)·C/D − done < 0
 *   (hysteresis);
 * - safety net, times rounded to ticks (time left ⌊(D − t)/gap⌋·gap, time needed ⌈x/gap⌉·gap):
 *   when remaining + 2d ≥ time left and it is not on spot → on-demand; when remaining + d ≥ time
 *   left → keep spot only if it is already running past its restart, else on-demand.
 *
 * The single-job benchmark (src/sim/single) calls it with remaining = C − done. The DAG policy
 * (`uniformProgressPolicy` in policies.ts) generalises it: C is the DAG's total work, done counts
 * finished sub-tasks and the checkpointed work of the others (running ones included), remaining
 * is the remaining critical path, and the choice applies to work that has not started.
 */
export type Choice = 'spot' | 'on-demand' | 'none';

export interface UniformProgressView {
  /** Seconds since the job's start (a tick boundary). */
  t: number;
  gapSeconds: number;
  deadlineSeconds: number;
  /** C: the job's total work (seconds). */
  totalWork: number;
  /** Work done so far (seconds). */
  done: number;
  /** Time the rest needs without interruptions and without a restart (seconds). */
  remaining: number;
  /** d: restart overhead (seconds). */
  overheadSeconds: number;
  /** What the job runs on now (after any preemption at this tick). */
  current: Choice;
  spotAvailable: boolean;
  /** The current instance has finished its restart overhead. */
  pastRestart: boolean;
}

/** Rounding slack, so that a value computed as k·gap does not round to k ± 1 ticks. */
const ROUND = 1e-9;

/** Uniform Progress's choice for the next tick. */
export function uniformProgressChoice(v: UniformProgressView): Choice {
  const rate = v.totalWork / v.deadlineSeconds;
  const d = v.overheadSeconds;
  const behind = v.t * rate - v.done > 0;
  let choice: Choice = v.spotAvailable ? 'spot' : behind ? 'on-demand' : 'none';
  if (v.current === 'on-demand' && !(v.spotAvailable && (v.t + 2 * d) * rate - v.done < 0))
    choice = 'on-demand';

  const gap = v.gapSeconds;
  const timeLeft = Math.floor((v.deadlineSeconds - v.t) / gap + ROUND) * gap;
  const needs = (x: number) => Math.ceil(x / gap - ROUND) * gap;
  if (needs(v.remaining + 2 * d) >= timeLeft && v.current !== 'spot') return 'on-demand';
  if (needs(v.remaining + d) >= timeLeft) return v.current === 'spot' && v.pastRestart ? 'spot' : 'on-demand';
  return choice;
}
