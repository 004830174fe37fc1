import type { SubTaskOutcome } from './types';

/**
 * Seconds of work the sub-task's lost attempts lost (done past their last checkpoint) and kept
 * (up to it). A fraction of the sub-task is turned into seconds at the pace its last attempt
 * worked (its share of the work over its wall time), or with the estimate when that attempt did
 * too little of the work to tell.
 *
 * - The last move, followed by the final attempt that resumed from a checkpoint written at
 *   `resumedFromCheckpointAtMs`: the work from that checkpoint (or from the move's attempt start,
 *   if later) to the instance's death was lost — work done after the last heartbeat counts too.
 *   The death is when the provider saw it (`diedAtMs`), or, when no one saw it and the attempt
 *   ran (it heartbeated), the latest it can have been: the heartbeat timeout's firing (the last
 *   heartbeat + the timeout). That part is also counted in `estimatedLostSeconds` (an upper bound).
 * - An earlier move whose provider saw the death, of an attempt that reported nothing: from its
 *   start to the death.
 * - Otherwise, the progress the lost attempt last reported (a heartbeat or the notice) minus its
 *   checkpoint's: work after its last heartbeat is not seen (a lower bound).
 *
 * Pure and deterministic: the job workflow calls it.
 */
export function relocationWork(
  outcome: SubTaskOutcome,
  estimatedSeconds: number,
): { lostSeconds: number; savedSeconds: number; estimatedLostSeconds: number } {
  const relocations = outcome.relocations ?? []; // absent in outcomes of older versions
  const lastStartMs = relocations.at(-1)?.atMs ?? outcome.startedAtMs;
  const share = 1 - (outcome.resumedFromProgress ?? 0);
  const seconds = share >= 0.05 ? (outcome.finishedAtMs - lastStartMs) / 1000 / share : estimatedSeconds;
  let lostSeconds = 0;
  let savedSeconds = 0;
  let estimatedLostSeconds = 0;
  relocations.forEach((moved, i) => {
    const last = i === relocations.length - 1;
    const checkpointAtMs = outcome.resumedFromCheckpointAtMs;
    // Not seen: the latest it can have died — if the attempt ran (it heartbeated) and the final
    // attempt says where its work resumed.
    const resumedKnown = checkpointAtMs !== undefined || !(outcome.resumedFromProgress ?? 0);
    const ran = moved.reason === 'heartbeat-timeout' && moved.progress !== undefined;
    const diedAtMs = moved.diedAtMs ?? (ran && resumedKnown ? moved.atMs : undefined);
    if (last && diedAtMs !== undefined) {
      // The attempt that died began when the work last arrived on that instance.
      const attemptStartMs = i > 0 ? relocations[i - 1]!.atMs : outcome.startedAtMs;
      const from = Math.max(checkpointAtMs ?? attemptStartMs, attemptStartMs);
      const lost = Math.max(0, diedAtMs - from) / 1000;
      lostSeconds += lost;
      if (moved.diedAtMs === undefined) estimatedLostSeconds += lost;
      savedSeconds += (outcome.resumedFromProgress ?? 0) * seconds;
      return;
    }
    // An earlier attempt the provider saw die that said nothing (no heartbeat, so no checkpoint
    // reported either): all it did, from its start to its death, was lost.
    if (moved.diedAtMs !== undefined && moved.progress === undefined) {
      const attemptStartMs = i > 0 ? relocations[i - 1]!.atMs : outcome.startedAtMs;
      lostSeconds += Math.max(0, moved.diedAtMs - attemptStartMs) / 1000;
      return;
    }
    if (moved.progress === undefined || moved.checkpointProgress === undefined) return;
    lostSeconds += Math.max(0, moved.progress - moved.checkpointProgress) * seconds;
    savedSeconds += moved.checkpointProgress * seconds;
  });
  return { lostSeconds, savedSeconds, estimatedLostSeconds };
}
