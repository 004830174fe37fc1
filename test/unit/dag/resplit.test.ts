import fc from 'fast-check';
import { hasCycle } from 'graphology-dag';
import {
  analyseDag,
  decompose,
  parseJobSpec,
  splitSubTask,
  SplitError,
  validateDag,
  type TaskDag,
} from '../../../src/dag';
import { demoJob } from './helpers';

function neighbours(dag: TaskDag) {
  const edges = new Map<string, { in: string[]; out: string[] }>();
  dag.forEachNode((id) =>
    edges.set(id, { in: dag.inNeighbors(id).sort(), out: dag.outNeighbors(id).sort() }),
  );
  return edges;
}

/** Bytes sent by a stage's sub-tasks (in-edges are copied to every piece: each needs its inputs). */
function bytesFrom(dag: TaskDag, stage: string): number {
  return dag.reduceEdges(
    (sum, _e, a, source) => sum + (dag.getNodeAttribute(source, 'stage') === stage ? a.bytes : 0),
    0,
  );
}

describe('splitSubTask', () => {
  it('splits a sub-task that has not started into parts', () => {
    const dag = decompose(parseJobSpec(demoJob()));
    const before = analyseDag(dag);
    const result = splitSubTask(dag, 'count/0003', { parts: 3 });
    expect(result).toEqual({
      id: 'count/0003',
      pieces: ['count/0003', 'count/0003.1', 'count/0003.2'],
      created: ['count/0003.1', 'count/0003.2'],
    });
    const ranges = result.pieces.map((id) => dag.getNodeAttribute(id, 'range'));
    expect(ranges).toEqual([
      { start: 250_000_003, end: 277_777_780 },
      { start: 277_777_781, end: 305_555_558 },
      { start: 305_555_559, end: 333_333_336 },
    ]);
    for (const id of result.created) expect(dag.outNeighbors(id)).toEqual(dag.outNeighbors('count/0003'));
    // Stage bookkeeping: indices stay a permutation of 0..count-1.
    const indices = dag.filterNodes((_n, a) => a.stage === 'count').map((id) => dag.getNodeAttributes(id));
    expect(indices.every((a) => a.count === 14)).toBe(true);
    expect(indices.map((a) => a.index).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 14 }, (_, i) => i),
    );
    const after = analyseDag(dag);
    expect(after.totalWorkSeconds).toBeCloseTo(before.totalWorkSeconds, 12);
    expect(after.nodes).toBe(17);
    validateDag(dag);
  });

  it('splits the unfinished remainder of a resumed sub-task, keeping the done part under the original id', () => {
    const dag = decompose(parseJobSpec(demoJob()));
    const duration = dag.getNodeAttribute('count/0000', 'durationSeconds');
    const result = splitSubTask(dag, 'count/0000', {
      remainder: { start: 50_000_001, end: 83_333_334 },
      maxDurationSeconds: 0.06,
    });
    expect(result.pieces).toEqual(['count/0000', 'count/0000.1', 'count/0000.2', 'count/0000.3']);
    expect(dag.getNodeAttribute('count/0000', 'range')).toEqual({ start: 1, end: 50_000_000 });
    expect(dag.getNodeAttribute('count/0000.1', 'range')!.start).toBe(50_000_001);
    expect(dag.getNodeAttribute('count/0000.3', 'range')!.end).toBe(83_333_334);
    const sum = result.pieces.reduce((a, id) => a + dag.getNodeAttribute(id, 'durationSeconds'), 0);
    expect(sum).toBeCloseTo(duration, 12);
    for (const id of result.created)
      expect(dag.getNodeAttribute(id, 'durationSeconds')).toBeLessThanOrEqual(0.06);
  });

  it('splits item sub-tasks by item positions, and a second time with fresh ids', () => {
    const dag = decompose(
      parseJobSpec({
        name: 'i',
        stages: [
          {
            id: 'f',
            kind: 'split',
            step: 'f.x',
            items: ['a', 'b', 'c', 'd', 'e', 'f'],
            chunking: { maxSubTasks: 1 },
          },
        ],
      }),
    );
    splitSubTask(dag, 'f', { parts: 2 });
    expect(dag.getNodeAttribute('f', 'input')).toEqual(['a', 'b', 'c']);
    expect(dag.getNodeAttribute('f.1', 'input')).toEqual(['d', 'e', 'f']);
    splitSubTask(dag, 'f', { parts: 1, remainder: { start: 1, end: 2 } });
    expect(dag.getNodeAttribute('f', 'input')).toEqual(['a']);
    expect(dag.getNodeAttribute('f.2', 'input')).toEqual(['b', 'c']);
  });

  it('refuses what it cannot do', () => {
    const dag = decompose(parseJobSpec(demoJob()));
    expect(() => splitSubTask(dag, 'nope', { parts: 2 })).toThrow(SplitError);
    expect(() => splitSubTask(dag, 'total/0000', { parts: 2 })).toThrow('only sub-tasks of split stages');
    expect(() => splitSubTask(dag, 'count/0001', { parts: 0 })).toThrow('parts must be a positive integer');
    expect(() => splitSubTask(dag, 'count/0001', {})).toThrow('give parts or maxDurationSeconds');
    expect(() => splitSubTask(dag, 'count/0001', { parts: 2, remainder: { start: 1, end: 5 } })).toThrow(
      'is not a non-empty suffix',
    );
  });
});

describe('splitSubTask on random splits', () => {
  it('covers the units exactly once, preserves work and bytes, keeps the DAG acyclic and every dependency', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 2, max: 500 }),
        fc.array(
          fc.record({
            pick: fc.nat(),
            parts: fc.integer({ min: 1, max: 6 }),
            doneShare: fc.double({ min: 0, max: 1, noNaN: true }),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        (chunks, units, splits) => {
          const dag = decompose(
            parseJobSpec({
              name: 'r',
              stages: [
                { id: 'pre', kind: 'step', step: 'p.x', estimate: { seconds: 3 } },
                {
                  id: 'work',
                  kind: 'split',
                  step: 'w.x',
                  dependsOn: ['pre'],
                  range: { start: 1, end: units },
                  chunking: { maxSubTasks: chunks },
                  estimate: { secondsPerUnit: 0.7 },
                  outputBytesPerUnit: 13,
                },
                { id: 'sum', kind: 'reduce', step: 'r.x', dependsOn: ['work'], fanIn: 3 },
              ],
            }),
          );
          const work = analyseDag(dag).totalWorkSeconds;
          const bytes = bytesFrom(dag, 'work');
          expect(bytes).toBe(13 * units);
          for (const { pick, parts, doneShare } of splits) {
            const candidates = dag.filterNodes((_n, a) => a.stage === 'work');
            const id = candidates[pick % candidates.length]!;
            const { range } = dag.getNodeAttributes(id);
            const size = range!.end - range!.start + 1;
            const done = Math.floor(doneShare * (size - 1));
            if (parts > size - done) continue;
            const before = neighbours(dag);
            const result = splitSubTask(dag, id, {
              parts,
              remainder: done > 0 ? { start: range!.start + done, end: range!.end } : undefined,
            });
            for (const piece of result.pieces) {
              expect(dag.inNeighbors(piece).sort()).toEqual(before.get(id)!.in);
              expect(dag.outNeighbors(piece).sort()).toEqual(before.get(id)!.out);
            }
          }
          const ranges = dag
            .filterNodes((_n, a) => a.stage === 'work')
            .map((n) => dag.getNodeAttribute(n, 'range')!)
            .sort((a, b) => a.start - b.start);
          let next = 1;
          for (const r of ranges) {
            expect(r.start).toBe(next);
            next = r.end + 1;
          }
          expect(next).toBe(units + 1);
          expect(analyseDag(dag).totalWorkSeconds).toBeCloseTo(work, 9);
          expect(bytesFrom(dag, 'work')).toBe(bytes);
          expect(hasCycle(dag)).toBe(false);
          validateDag(dag);
        },
      ),
      { numRuns: 150 },
    );
  });
});
