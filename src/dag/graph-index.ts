/**
 * A compact, array-based view of a TaskDag (compressed sparse rows) for the linear-time passes:
 * topological order, cycle finding, critical path, priorities. Graphology's callbacks are fine
 * for building; typed arrays are much faster for repeated traversal of 100,000 nodes.
 */
import { CycleError } from './errors';
import type { SubTaskAttributes, TaskDag } from './types';

export interface DagIndex {
  ids: string[];
  attributes: SubTaskAttributes[];
  indexOf: Map<string, number>;
  /** Successors of node v: outTargets[outStart[v] .. outStart[v+1]). */
  outStart: Int32Array;
  outTargets: Int32Array;
  /** Predecessors of node v: inSources[inStart[v] .. inStart[v+1]). */
  inStart: Int32Array;
  inSources: Int32Array;
}

/**
 * Index of each DAG, reused by decompose → validate → analyse until the graph changes: any
 * structural or attribute event drops it. (In-place edits of attribute objects keep it valid:
 * the index holds the same objects.)
 */
const INDEX = Symbol('spotdag.dagIndex');
type Indexed = TaskDag & { [INDEX]?: DagIndex | undefined };
const INVALIDATING_EVENTS = [
  'nodeAdded',
  'edgeAdded',
  'nodeDropped',
  'edgeDropped',
  'cleared',
  'edgesCleared',
  'nodeAttributesUpdated',
] as const;

export function indexDag(dag: TaskDag): DagIndex {
  const indexed = dag as Indexed;
  const cached = indexed[INDEX];
  if (cached && cached.ids.length === dag.order && cached.outTargets.length === dag.size) return cached;
  if (!Object.prototype.hasOwnProperty.call(indexed, INDEX)) {
    // Kept on the graph itself (not in a module-level map) so that it lives and dies with it.
    Object.defineProperty(indexed, INDEX, { value: undefined, writable: true, enumerable: false });
    const drop = () => {
      indexed[INDEX] = undefined;
    };
    for (const event of INVALIDATING_EVENTS) dag.on(event, drop);
  }
  const index = buildIndex(dag);
  indexed[INDEX] = index;
  return index;
}

function buildIndex(dag: TaskDag): DagIndex {
  const n = dag.order;
  const ids = new Array<string>(n);
  const attributes = new Array<SubTaskAttributes>(n);
  const indexOf = new Map<string, number>();
  let k = 0;
  dag.forEachNode((key, attrs) => {
    ids[k] = key;
    attributes[k] = attrs;
    indexOf.set(key, k++);
  });
  const m = dag.size;
  const sources = new Int32Array(m);
  const targets = new Int32Array(m);
  const outStart = new Int32Array(n + 1);
  const inStart = new Int32Array(n + 1);
  let e = 0;
  dag.forEachEdge((_edge, _attrs, source, target) => {
    const s = indexOf.get(source)!;
    const t = indexOf.get(target)!;
    sources[e] = s;
    targets[e++] = t;
    outStart[s + 1]!++;
    inStart[t + 1]!++;
  });
  for (let v = 0; v < n; v++) {
    outStart[v + 1]! += outStart[v]!;
    inStart[v + 1]! += inStart[v]!;
  }
  const outTargets = new Int32Array(m);
  const inSources = new Int32Array(m);
  const outFill = outStart.slice(0, n);
  const inFill = inStart.slice(0, n);
  for (let i = 0; i < m; i++) {
    const s = sources[i]!;
    const t = targets[i]!;
    outTargets[outFill[s]!++] = t;
    inSources[inFill[t]!++] = s;
  }
  return { ids, attributes, indexOf, outStart, outTargets, inStart, inSources };
}

/**
 * Kahn's algorithm. Returns node indices in topological order (ties in insertion order), or
 * throws a CycleError naming the nodes of one cycle.
 */
export function topologicalIndices(index: DagIndex): Int32Array {
  const n = index.ids.length;
  const { outStart, outTargets, inStart } = index;
  const remaining = new Int32Array(n);
  const order = new Int32Array(n);
  let tail = 0;
  for (let v = 0; v < n; v++) {
    remaining[v] = inStart[v + 1]! - inStart[v]!;
    if (remaining[v] === 0) order[tail++] = v;
  }
  for (let head = 0; head < tail; head++) {
    const v = order[head]!;
    for (let i = outStart[v]!; i < outStart[v + 1]!; i++) {
      const w = outTargets[i]!;
      if (--remaining[w]! === 0) order[tail++] = w;
    }
  }
  if (tail < n) throw new CycleError(findCycle(index, remaining));
  return order;
}

/**
 * After Kahn's algorithm stalls, every node left has a predecessor that is also left; walking
 * backwards through such predecessors must revisit a node, which closes a cycle.
 */
function findCycle(index: DagIndex, remaining: Int32Array): string[] {
  const { inStart, inSources, ids } = index;
  let v = remaining.findIndex((r) => r > 0);
  const seenAt = new Map<number, number>();
  const walk: number[] = [];
  while (!seenAt.has(v)) {
    seenAt.set(v, walk.length);
    walk.push(v);
    let next = -1;
    for (let i = inStart[v]!; i < inStart[v + 1]!; i++) {
      if (remaining[inSources[i]!]! > 0) {
        next = inSources[i]!;
        break;
      }
    }
    v = next;
  }
  // The walk goes against the edges; reverse it so that each node depends on the one before.
  return walk
    .slice(seenAt.get(v))
    .reverse()
    .map((i) => ids[i]!);
}

/** Upward rank of every node: its duration plus the largest upward rank among its successors. */
export function upwardRanks(index: DagIndex, order: Int32Array): Float64Array {
  const rank = new Float64Array(index.ids.length);
  const { outStart, outTargets, attributes } = index;
  for (let k = order.length - 1; k >= 0; k--) {
    const v = order[k]!;
    let best = 0;
    for (let i = outStart[v]!; i < outStart[v + 1]!; i++) {
      const r = rank[outTargets[i]!]!;
      if (r > best) best = r;
    }
    rank[v] = attributes[v]!.durationSeconds + best;
  }
  return rank;
}

/** Sets `priority` on every node to its upward rank. Throws a CycleError on a cyclic graph. */
export function assignPriorities(dag: TaskDag): void {
  const index = indexDag(dag);
  const ranks = upwardRanks(index, topologicalIndices(index));
  for (let v = 0; v < index.attributes.length; v++) index.attributes[v]!.priority = ranks[v]!;
}
