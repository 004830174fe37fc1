/**
 * Which input prefetches the parent workflow issues (docs/commands.md, "Transfers"): when a
 * sub-task's dependencies are done but its instance is busy, the instance can fetch its inputs
 * (`prefetchInputs` on its task queue) while the sub-task before it runs, so that the transfer
 * overlaps compute. Pure; indices are those of `JobPlan.ids` and `SchedulePlan.instances`.
 */

export interface PrefetchState {
  /** Per sub-task, the indices of its dependencies (`JobPlan.deps`). */
  deps: number[][];
  /** Per sub-task, the planned instance it runs on (`SchedulePlan.placedOn`). */
  placedOn: number[];
  /** Sub-tasks in the order they start (`SchedulePlan.order`). */
  order: number[];
  /** Per sub-task: finished. */
  done: ArrayLike<boolean>;
  /** Per sub-task: its child has started (running or finished). */
  started: ArrayLike<boolean>;
  /** Per sub-task: a prefetch was issued already. */
  prefetched: ArrayLike<boolean>;
  /** Per planned instance: slots free now. */
  freeSlots: ArrayLike<number>;
  /**
   * Per sub-task: bytes its inputs move (e.g. the sum of its incoming edges' bytes); sub-tasks
   * with 0 have nothing to fetch. Absent: every sub-task may have inputs.
   */
  inputBytes?: ArrayLike<number>;
  /** Prefetched sub-tasks waiting to start per instance, at most (default 1: the next one). */
  lookahead?: number;
}

export interface PrefetchRequest {
  subTask: number;
  instance: number;
}

/**
 * The prefetches to issue now: for each busy instance (no free slot), the next sub-tasks placed
 * on it, in start order, whose dependencies are all done, that have not started, have inputs to
 * move and have not been prefetched, up to `lookahead` prefetched-and-waiting per instance. An
 * instance with a free slot gets none: its next ready sub-task starts at once and fetches its own
 * inputs.
 */
export function prefetchesToIssue(state: PrefetchState): PrefetchRequest[] {
  const lookahead = state.lookahead ?? 1;
  const waiting = new Map<number, number>(); // instance → prefetched sub-tasks not started yet
  for (let k = 0; k < state.placedOn.length; k++)
    if (state.prefetched[k] && !state.started[k])
      waiting.set(state.placedOn[k]!, (waiting.get(state.placedOn[k]!) ?? 0) + 1);
  const ready = (k: number) => state.deps[k]!.every((d) => state.done[d]);
  const requests: PrefetchRequest[] = [];
  for (const k of state.order) {
    const instance = state.placedOn[k]!;
    if (state.started[k] || state.prefetched[k] || state.freeSlots[instance]! > 0) continue;
    if ((waiting.get(instance) ?? 0) >= lookahead) continue;
    if (state.inputBytes && !(state.inputBytes[k]! > 0)) continue;
    if (!ready(k)) continue;
    requests.push({ subTask: k, instance });
    waiting.set(instance, (waiting.get(instance) ?? 0) + 1);
  }
  return requests;
}
