import type { SubTaskOutcome } from './types';

/**
 * Seconds of work the sub-task's lost attempts lost (done past their last checkpoint) and kept
 * (up to it), from the progress each lost attempt last reported. A fraction of the sub-task is
 * turned into seconds at the pace its last attempt worked (its share of the work over its wall
 * time), or with the estimate when that attempt did too little of the work to tell.
 * Pure and deterministic: the job workflow calls it.
 */
export function relocationWork(
  outcome: SubTaskOutcome,
  estimatedSeconds: number,
): { lostSeconds: number; savedSeconds: number } {
  const relocations = outcome.relocations ?? []; // absent in outcomes of older versions
  const lastStartMs = relocations.at(-1)?.atMs ?? outcome.startedAtMs;
  const share = 1 - (outcome.resumedFromProgress ?? 0);
  const seconds = share >= 0.05 ? (outcome.finishedAtMs - lastStartMs) / 1000 / share : estimatedSeconds;
  let lostSeconds = 0;
  let savedSeconds = 0;
  for (const moved of relocations) {
    if (moved.progress === undefined || moved.checkpointProgress === undefined) continue;
    lostSeconds += Math.max(0, moved.progress - moved.checkpointProgress) * seconds;
    savedSeconds += moved.checkpointProgress * seconds;
  }
  return { lostSeconds, savedSeconds };
}
