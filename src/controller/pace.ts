/**
 * The pace the job's work really goes at: wall seconds per declared second of work, observed from
 * running sub-tasks' successive checkpoints. The plan trusts the declared estimates; the deadline
 * safety net checks them against this pace, so that a job whose sub-tasks run longer than declared
 * still moves to on-demand in time.
 *
 * A sample is two checkpoints of one attempt seen at two calls: the wall time between them over the
 * work they add. Attempts are told apart by instance and start time, so the time a sub-task spent
 * lost or waiting never counts as slow work.
 */
import type { ControllerMemory, ControllerState } from './types';

/** Observed pace within this share of the declared one is taken as estimation noise (the net's margin covers it). */
export const PACE_TOLERANCE = 0.2;

/** Adds the samples `state` gives over what `memory` saw at the last call, and remembers this call's checkpoints. */
export function observePace(memory: ControllerMemory, state: ControllerState): void {
  const seen = memory.paceSeen ?? {};
  const pace = memory.pace ?? { wallSeconds: 0, workSeconds: 0 };
  const next: NonNullable<ControllerMemory['paceSeen']> = {};
  for (const r of state.running) {
    if (r.checkpointedAt === undefined || r.checkpointedSeconds === undefined) continue;
    const now = {
      at: r.checkpointedAt,
      work: r.checkpointedSeconds,
      instanceId: r.instanceId,
      startedAt: r.startedAt,
    };
    const before = seen[r.subTaskId];
    if (
      before &&
      before.instanceId === now.instanceId &&
      before.startedAt === now.startedAt &&
      before.at >= (now.startedAt ?? -Infinity) &&
      now.at > before.at &&
      now.work > before.work
    ) {
      pace.wallSeconds += now.at - before.at;
      pace.workSeconds += now.work - before.work;
    }
    next[r.subTaskId] = now;
  }
  memory.paceSeen = next;
  if (pace.workSeconds > 0) memory.pace = pace;
}

/**
 * How much longer than declared the remaining work is expected to take: the observed pace when it
 * is slower than declared by more than PACE_TOLERANCE, else 1 (faster work is not counted on).
 */
export function paceFactor(memory: Pick<ControllerMemory, 'pace'>): number {
  const p = memory.pace;
  if (!p || !(p.workSeconds > 0)) return 1;
  const pace = p.wallSeconds / p.workSeconds;
  return pace > 1 + PACE_TOLERANCE ? pace : 1;
}
