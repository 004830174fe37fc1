/**
 * The exact optimum of the single-job tick model (job.ts), knowing the whole trace: the cheapest
 * sequence of per-tick choices (spot, on-demand, wait) whose work is done by the deadline.
 *
 * Dynamic programming forward over ticks. A state at a tick boundary is (work done, what the job
 * runs on, restart overhead still to pay) with the cost so far; every choice at every tick is
 * expanded with `advance`, the model's own definition of a tick, so the optimum and the policies
 * are measured by the same rules. Work done is kept exactly, not on a grid: with an overhead that
 * is not a whole number of ticks (0.2 h at 195 s ticks) it takes values k·gap − m·d and partial
 * ticks, which a grid would round. The state space stays small because only three kinds of
 * states are dropped, none of which can be part of a cheaper schedule:
 *
 * 1. dominated: at the same tick, on the same market with the same overhead left, a state with at
 *    least as much work done for at most the cost. Whatever follows the dominated state, the same
 *    choices from the other finish no later and cost no more (per tick, more work done never means
 *    less progress or a later finish, and billing stops once the work is done);
 * 2. late: even with no interruption and no further overhead beyond the one now due, the work
 *    cannot be done by the deadline;
 * 3. dear: the cost so far plus a lower bound on the rest is no less than a schedule already known
 *    to meet the deadline (on-demand from the start, the caller's `upperBoundUsd`, or one found).
 *    The bound: the remaining work on spot for as much as spot can still do — the rest of a run of
 *    ticks with capacity the job may already be in, plus, for every later run of such ticks before
 *    the deadline, its length minus the overhead a new instance pays in it — and on on-demand for
 *    the rest, overheads not counted.
 *
 * So per tick and (market, overhead left) only a Pareto front of (work done ↑, cost ↑) survives;
 * a waiting state is also dropped when a state on a market has at least its work for at most its
 * cost (from there the same choices do as well: continuing costs no more overhead than starting).
 */
import { advance, initialState, spotAvailable, type Choice, type JobState, type SingleJob } from './job';

interface Node {
  state: JobState;
  parent: Node | undefined;
  choice: Choice | undefined;
}

export interface OmniscientSchedule {
  /** A schedule meets the deadline (false: the deadline is shorter than the work plus one overhead). */
  feasible: boolean;
  costUsd: number;
  /** The choice at every tick until the work is done. */
  choices: Choice[];
  /** States kept over all ticks (after pruning), for the record. */
  statesKept: number;
}

const EPS = 1e-6;
const CHOICES: Choice[] = ['none', 'spot', 'on-demand'];

/**
 * The minimum-cost schedule meeting the deadline. `onProgress(tick, ticks)` is called now and
 * then for long runs.
 */
/** The states no other state of the list dominates (at least the work for at most the cost). */
function paretoFront(nodes: Node[]): Node[] {
  // Most work first (on a market before waiting at equal work and cost), then cheapest.
  nodes.sort(
    (a, b) =>
      b.state.done - a.state.done ||
      a.state.costUsd - b.state.costUsd ||
      Number(a.state.on === 'none') - Number(b.state.on === 'none'),
  );
  const kept: Node[] = [];
  let cheapestSoFar = Infinity;
  for (const node of nodes) {
    if (node.state.costUsd < cheapestSoFar - 1e-12) {
      kept.push(node);
      cheapestSoFar = node.state.costUsd;
    }
  }
  return kept;
}

/**
 * Per tick k: the most work spot can still do from k to the deadline. The run of ticks with
 * capacity that k is in counts whole (a job already on spot pays no new overhead there); every
 * later run counts its length minus one overhead (a new spot instance starts in it).
 */
function spotWorkBound(job: SingleJob, ticks: number): Float64Array {
  const { gapSeconds: gap, deadlineSeconds: deadline, overheadSeconds: d } = job;
  const seconds = (k: number) => Math.max(0, Math.min(gap, deadline - k * gap));
  const bound = new Float64Array(ticks + 1);
  let later = 0; // Σ over runs that start after the current one: length − d
  let run = 0; // seconds of capacity from k to the end of k's run
  for (let k = ticks - 1; k >= 0; k--) {
    if (spotAvailable(job, k)) {
      run += seconds(k);
      bound[k] = run + later;
    } else {
      if (run > 0) later += Math.max(0, run - d);
      run = 0;
      bound[k] = later;
    }
  }
  return bound;
}

export function omniscientSchedule(
  job: SingleJob,
  options: {
    /** The cost of a schedule known to meet the deadline (prunes more; it must be real). */
    upperBoundUsd?: number;
    onProgress?: (tick: number, ticks: number) => void;
  } = {},
): OmniscientSchedule {
  const { gapSeconds: gap, deadlineSeconds: deadline, workSeconds: work, overheadSeconds: d } = job;
  const { onProgress } = options;
  const ticks = Math.ceil(deadline / gap - 1e-9);
  const spot = Math.min(job.spotPricePerHour, job.onDemandPricePerHour) / 3600;
  const onDemand = job.onDemandPricePerHour / 3600;
  const spotWork = spotWorkBound(job, ticks);
  const restCost = (k: number, left: number) => {
    const onSpot = Math.min(left, spotWork[k]!);
    return onSpot * spot + (left - onSpot) * onDemand;
  };
  // A schedule known to meet the deadline, if any: on-demand from the start.
  let bestCost = work + d <= deadline + EPS ? ((work + d) * job.onDemandPricePerHour) / 3600 : Infinity;
  if (options.upperBoundUsd !== undefined) bestCost = Math.min(bestCost, options.upperBoundUsd + 1e-9);
  let best: Node | undefined;
  let layer: Node[] = [{ state: initialState(), parent: undefined, choice: undefined }];
  let statesKept = 1;

  // Fronts by (market, ticks since its start capped at J): the overhead left is d − j·gap, 0 from J on.
  const J = Math.ceil(d / gap - 1e-9);
  const frontOf = (st: JobState) => {
    if (st.on === 'none') return 0;
    const j = st.overheadLeft > 0 ? Math.round((d - st.overheadLeft) / gap) : J;
    return 1 + (st.on === 'spot' ? 0 : J + 1) + j;
  };
  for (let k = 0; k < ticks && layer.length > 0; k++) {
    if (onProgress && k % 100 === 0) onProgress(k, ticks);
    const fronts: Node[][] = Array.from({ length: 2 * J + 3 }, () => []);
    for (const node of layer) {
      for (const choice of CHOICES) {
        if (choice === 'spot' && !spotAvailable(job, k)) continue;
        const next = advance(job, node.state, choice);
        if (next.finishedAt !== undefined) {
          if (next.finishedAt <= deadline + EPS && next.costUsd < bestCost - 1e-12) {
            bestCost = next.costUsd;
            best = { state: next, parent: node, choice };
          }
          continue;
        }
        const left = work - next.done;
        const due = next.on === 'none' ? d : next.overheadLeft;
        if ((k + 1) * gap + due + left > deadline + EPS) continue; // late
        if (next.costUsd + restCost(k + 1, left) >= bestCost - 1e-12) continue; // dear
        fronts[frontOf(next)]!.push({ state: next, parent: node, choice });
      }
    }
    layer = [];
    for (let f = 1; f < fronts.length; f++) for (const node of paretoFront(fronts[f]!)) layer.push(node);
    // Waiting states that no state on a market dominates.
    const onMarket = layer.length;
    for (const node of paretoFront(fronts[0]!.concat(layer.slice(0, onMarket))))
      if (node.state.on === 'none') layer.push(node);
    statesKept += layer.length;
  }
  onProgress?.(ticks, ticks);

  if (!best) {
    // On-demand from the start is optimal when nothing else meets the deadline (and the fastest when nothing does).
    const choices = new Array<Choice>(Math.ceil((work + d) / gap - 1e-9)).fill('on-demand');
    return {
      feasible: Number.isFinite(bestCost),
      costUsd: ((work + d) * job.onDemandPricePerHour) / 3600,
      choices,
      statesKept,
    };
  }
  const choices: Choice[] = [];
  for (let n: Node | undefined = best; n?.choice !== undefined; n = n.parent) choices.push(n.choice);
  choices.reverse();
  return { feasible: true, costUsd: best.state.costUsd, choices, statesKept };
}
