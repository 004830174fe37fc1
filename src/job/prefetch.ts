/**
 * Which input prefetches the job workflow issues (docs/commands.md, "Transfers"): when a sub-task
 * is ready (its dependencies are done) but its instance is busy, the instance fetches its inputs
 * (`prefetchInputs` on its task queue) while the sub-task before it runs, so that the transfer
 * overlaps compute. Pure, and cheap enough to run after every event of a 10,000-sub-task job: it
 * reads only the heads of the instances' ready queues.
 */

/**
 * Activity slots an instance worker has beside its sub-task slots, for prefetches: a worker polls
 * its queue while any of its `slots + PREFETCH_SLOTS` activity slots is free.
 */
export const PREFETCH_SLOTS = 2;

export interface PrefetchState<I> {
  /** Per instance, its ready sub-tasks (dependencies done, not started) in start order. */
  readyOn: ReadonlyMap<I, readonly number[]>;
  /** Per instance, slots free now. */
  freeSlots: (instance: I) => number;
  /** Whether a prefetch was issued for the sub-task already. */
  prefetched: (subTask: number) => boolean;
  /** Bytes the sub-task's inputs move; sub-tasks with 0 have nothing to fetch. Absent: all may. */
  inputBytes?: (subTask: number) => number;
  /** Prefetched sub-tasks waiting to start per instance, at most (default 1: the next one). */
  lookahead?: number;
}

export interface PrefetchRequest<I> {
  subTask: number;
  instance: I;
}

/**
 * The prefetches to issue now: on each busy instance (no free slot), the first `lookahead` ready
 * sub-tasks in start order that have inputs to move, minus those prefetched already. An instance
 * with a free slot gets none: its next ready sub-task starts at once and fetches its own inputs.
 */
export function prefetchesToIssue<I>(state: PrefetchState<I>): Array<PrefetchRequest<I>> {
  const lookahead = state.lookahead ?? 1;
  const requests: Array<PrefetchRequest<I>> = [];
  for (const [instance, ready] of state.readyOn) {
    if (state.freeSlots(instance) > 0) continue;
    let next = 0;
    for (const k of ready) {
      if (next >= lookahead) break;
      if (state.inputBytes && !(state.inputBytes(k) > 0)) continue;
      next++;
      if (!state.prefetched(k)) requests.push({ subTask: k, instance });
    }
  }
  return requests;
}
