/** Structure and time figures of a DAG: order, levels, critical path, work, parallelism. */
import { indexDag, topologicalIndices } from './graph-index';
import type { TaskDag } from './types';

export interface DagAnalysis {
  /** Every sub-task, each after all it depends on. */
  topologicalOrder: string[];
  /** levels[k]: the sub-tasks whose longest chain of dependencies has k edges. */
  levels: string[][];
  /** The longest chain by estimated duration (transfers not counted). */
  criticalPath: { seconds: number; nodes: string[] };
  /** Sum of all duration estimates. */
  totalWorkSeconds: number;
  /**
   * Peak number of sub-tasks running at once when each starts as soon as its dependencies finish
   * on unlimited capacity (durations as estimated). At least 1 for a non-empty DAG.
   */
  maxParallelism: number;
  /** Size of the widest level: sub-tasks that could all be ready at the same time. */
  maxLevelWidth: number;
  nodes: number;
  edges: number;
}

/** Analyses a DAG in O(V + E) (plus a sort for the parallelism sweep). Throws CycleError if cyclic. */
export function analyseDag(dag: TaskDag): DagAnalysis {
  const index = indexDag(dag);
  const order = topologicalIndices(index);
  const n = order.length;
  const { ids } = index;

  const depth = new Int32Array(n);
  const start = new Float64Array(n);
  const finish = new Float64Array(n);
  const via = new Int32Array(n).fill(-1);
  let maxDepth = 0;
  let totalWork = 0;
  let last = -1;
  for (let k = 0; k < n; k++) {
    const v = order[k]!;
    let d = 0;
    let s = 0;
    let from = -1;
    for (let i = index.inStart[v]!; i < index.inStart[v + 1]!; i++) {
      const u = index.inSources[i]!;
      if (depth[u]! + 1 > d) d = depth[u]! + 1;
      if (from === -1 || finish[u]! > s) {
        s = finish[u]!;
        from = u;
      }
    }
    const duration = index.attributes[v]!.durationSeconds;
    depth[v] = d;
    start[v] = s;
    finish[v] = s + duration;
    via[v] = from;
    totalWork += duration;
    if (d > maxDepth) maxDepth = d;
    if (last === -1 || finish[v]! > finish[last]!) last = v;
  }

  const levels: string[][] = Array.from({ length: n > 0 ? maxDepth + 1 : 0 }, () => []);
  for (let k = 0; k < n; k++) {
    const v = order[k]!;
    levels[depth[v]!]!.push(ids[v]!);
  }
  const path: string[] = [];
  for (let v = last; v !== -1; v = via[v]!) path.push(ids[v]!);
  path.reverse();

  return {
    topologicalOrder: Array.from(order, (v) => ids[v]!),
    levels,
    criticalPath: { seconds: last === -1 ? 0 : finish[last]!, nodes: path },
    totalWorkSeconds: totalWork,
    maxParallelism: peakConcurrency(start, finish),
    maxLevelWidth: levels.reduce((a, level) => Math.max(a, level.length), 0),
    nodes: n,
    edges: dag.size,
  };
}

/** Largest number of half-open intervals [start, finish) that overlap; zero-length ones count once. */
function peakConcurrency(start: Float64Array, finish: Float64Array): number {
  const n = start.length;
  if (n === 0) return 0;
  const starts = Float64Array.from(start).sort();
  const finishes = Float64Array.from(finish).sort();
  let peak = 1;
  let ended = 0;
  for (let i = 0; i < n; i++) {
    const t = starts[i]!;
    while (ended < n && finishes[ended]! <= t) ended++;
    // i + 1 intervals have started by t (ties: all with this start are counted when the last is reached).
    const running = i + 1 - ended;
    if (running > peak) peak = running;
  }
  return peak;
}
