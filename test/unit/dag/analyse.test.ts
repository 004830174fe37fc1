import fc from 'fast-check';
import { DirectedGraph } from 'graphology';
import {
  analyseDag,
  assignPriorities,
  CycleError,
  type DependencyAttributes,
  type SubTaskAttributes,
  type TaskDag,
} from '../../../src/dag';
import { maxOf } from '../../../src/util/array';

function build(durations: number[], edges: Array<[number, number]>): TaskDag {
  const dag = new DirectedGraph<SubTaskAttributes, DependencyAttributes>();
  durations.forEach((d, i) =>
    dag.addNode(`n${i}`, {
      id: `n${i}`,
      stage: 's',
      step: 's.x',
      cpu: 1,
      memoryMiB: 1,
      durationSeconds: d,
      durationUncertainty: 0,
      priority: 0,
      index: i,
      count: durations.length,
    }),
  );
  for (const [a, b] of edges)
    if (!dag.hasDirectedEdge(`n${a}`, `n${b}`)) dag.addDirectedEdge(`n${a}`, `n${b}`, { bytes: 0 });
  return dag;
}

describe('analyseDag', () => {
  //   n0(2) → n1(3) → n3(1)
  //   n0(2) → n2(5) → n3(1)        n4(4) alone
  const dag = build(
    [2, 3, 5, 1, 4],
    [
      [0, 1],
      [0, 2],
      [1, 3],
      [2, 3],
    ],
  );
  const a = analyseDag(dag);

  it('orders, levels and finds the critical path', () => {
    expect(a.topologicalOrder).toEqual(['n0', 'n4', 'n1', 'n2', 'n3']);
    expect(a.levels).toEqual([['n0', 'n4'], ['n1', 'n2'], ['n3']]);
    expect(a.criticalPath).toEqual({ seconds: 8, nodes: ['n0', 'n2', 'n3'] });
    expect(a.totalWorkSeconds).toBe(15);
    expect(a.nodes).toBe(5);
    expect(a.edges).toBe(4);
    // At t = 2: n1, n2 and n4 run.
    expect(a.maxParallelism).toBe(3);
    expect(a.maxLevelWidth).toBe(2);
  });

  it('throws a CycleError on a cycle', () => {
    expect(() =>
      analyseDag(
        build(
          [1, 1],
          [
            [0, 1],
            [1, 0],
          ],
        ),
      ),
    ).toThrow(CycleError);
  });

  it('handles an empty DAG', () => {
    expect(analyseDag(build([], []))).toMatchObject({
      nodes: 0,
      edges: 0,
      maxParallelism: 0,
      criticalPath: { seconds: 0, nodes: [] },
    });
  });
});

/** Random DAGs: edges only from lower to higher index. */
const dagArb = fc.integer({ min: 1, max: 9 }).chain((n) =>
  fc.record({
    durations: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: n, maxLength: n }),
    edges: fc
      .array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 20 })
      .map((pairs) =>
        pairs.filter(([a, b]) => a !== b).map(([a, b]): [number, number] => (a < b ? [a, b] : [b, a])),
      ),
  }),
);

function bruteForce(durations: number[], edges: Array<[number, number]>): number {
  let best = 0;
  const walk = (v: number, sum: number) => {
    const total = sum + durations[v]!;
    best = Math.max(best, total);
    for (const [a, b] of edges) if (a === v) walk(b, total);
  };
  durations.forEach((_, v) => walk(v, 0));
  return best;
}

/** Peak concurrency by simulation on a fine grid (durations are integers). */
function bruteForceParallelism(dag: TaskDag): number {
  const start = new Map<string, number>();
  const finish = new Map<string, number>();
  for (const id of analyseDag(dag).topologicalOrder) {
    const s = Math.max(0, maxOf(dag.inNeighbors(id).map((p) => finish.get(p)!)));
    start.set(id, s);
    finish.set(id, s + dag.getNodeAttribute(id, 'durationSeconds'));
  }
  let peak = 0;
  for (const t of new Set(start.values())) {
    peak = Math.max(peak, dag.filterNodes((id) => start.get(id)! <= t && t < finish.get(id)!).length);
  }
  return Math.max(peak, 1);
}

describe('analyseDag on random DAGs', () => {
  it('agrees with brute force and respects every edge', () => {
    fc.assert(
      fc.property(dagArb, ({ durations, edges }) => {
        const dag = build(durations, edges);
        const a = analyseDag(dag);
        expect(a.criticalPath.seconds).toBe(bruteForce(durations, edges));
        expect(a.totalWorkSeconds).toBe(durations.reduce((x, y) => x + y, 0));
        const position = new Map(a.topologicalOrder.map((id, i) => [id, i]));
        dag.forEachEdge((_e, _a, s, t) => expect(position.get(s)!).toBeLessThan(position.get(t)!));
        expect(a.levels.flat().sort()).toEqual([...a.topologicalOrder].sort());
        expect(a.maxParallelism).toBe(bruteForceParallelism(dag));
        // Priorities are upward ranks: the largest one is the critical path length.
        assignPriorities(dag);
        expect(maxOf(dag.mapNodes((_n, attrs) => attrs.priority))).toBe(a.criticalPath.seconds);
      }),
      { numRuns: 300 },
    );
  });
});
