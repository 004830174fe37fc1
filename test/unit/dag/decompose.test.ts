import fc from 'fast-check';
import { hasCycle } from 'graphology-dag';
import {
  analyseDag,
  chunkAt,
  costOptimalSubTaskSeconds,
  decompose,
  DEFAULT_OVERHEAD,
  expectedWasteFraction,
  layoutChunks,
  parseJobSpec,
  TooManyNodesError,
  validateDag,
  type JobSpecInput,
  type StageInput,
  type TaskDag,
} from '../../../src/dag';
import { demoJob } from './helpers';

describe('decompose the demo job', () => {
  const dag = decompose(parseJobSpec(demoJob()));

  it('fans out into 12 chunks that tile 1..1e9 and fans in through a tree of fan-in ≤ 8', () => {
    const counts = dag.filterNodes((_n, a) => a.stage === 'count').map((n) => dag.getNodeAttributes(n));
    expect(counts.map((a) => a.id)).toEqual(
      Array.from({ length: 12 }, (_, i) => `count/${String(i).padStart(4, '0')}`),
    );
    expect(counts[0]!.range).toEqual({ start: 1, end: 83_333_334 });
    expect(counts[11]!.range!.end).toBe(1_000_000_000);
    for (let i = 1; i < 12; i++) expect(counts[i]!.range!.start).toBe(counts[i - 1]!.range!.end + 1);
    expect(
      counts.every(
        (a) => a.count === 12 && a.cpu === 1 && a.memoryMiB === 256 && a.durationUncertainty === 0.2,
      ),
    ).toBe(true);

    const totals = dag.filterNodes((_n, a) => a.stage === 'total');
    expect(totals).toEqual(['total/0000', 'total/0001', 'total/0002']);
    for (const id of totals) expect(dag.inDegree(id)).toBeLessThanOrEqual(8);
    expect(dag.inNeighbors('total/0002')).toEqual(['total/0000', 'total/0001']);
    expect(dag.outDegree('total/0002')).toBe(0);
    validateDag(dag);
  });

  it('gives priorities as upward ranks and analyses the DAG', () => {
    const a = analyseDag(dag);
    expect(a.nodes).toBe(15);
    expect(a.edges).toBe(14);
    expect(a.totalWorkSeconds).toBeCloseTo(5 + 0.3, 9);
    expect(a.maxParallelism).toBe(12);
    expect(a.criticalPath.nodes).toEqual(['count/0000', 'total/0000', 'total/0002']);
    expect(dag.getNodeAttribute('count/0000', 'priority')).toBeCloseTo(a.criticalPath.seconds, 12);
    expect(dag.getNodeAttribute('total/0002', 'priority')).toBeCloseTo(0.1, 12);
  });
});

describe('stage kinds', () => {
  const base = { name: 'j' } as const;

  it('splits items into chunks given to each sub-task as input', () => {
    const dag = decompose(
      parseJobSpec({
        ...base,
        stages: [
          {
            id: 'files',
            kind: 'split',
            step: 'f.x',
            items: ['a', 'b', 'c', 'd', 'e'],
            chunking: { size: 2 },
          },
        ],
      }),
    );
    expect(dag.mapNodes((_n, a) => [a.id, a.input])).toEqual([
      ['files/0000', ['a', 'b']],
      ['files/0001', ['c', 'd']],
      ['files/0002', ['e']],
    ]);
  });

  it('sizes chunks from targetSubTaskDuration, and links step stages to every sub-task they depend on', () => {
    const dag = decompose(
      parseJobSpec({
        ...base,
        stages: [
          {
            id: 'prep',
            kind: 'step',
            step: 'p.x',
            input: { url: 'x' },
            estimate: { seconds: 30 },
            outputBytes: 1000,
          },
          {
            id: 'work',
            kind: 'split',
            step: 'w.x',
            dependsOn: ['prep'],
            range: { start: 0, end: 999 },
            chunking: { targetSubTaskDuration: '10m' },
            estimate: { secondsPerUnit: 6 },
            outputBytesPerUnit: 10,
          },
          { id: 'report', kind: 'step', step: 'r.x', dependsOn: ['work'] },
        ],
      }),
    );
    expect(dag.filterNodes((_n, a) => a.stage === 'work')).toHaveLength(10);
    expect(dag.getNodeAttribute('work/0003', 'durationSeconds')).toBe(600);
    expect(dag.getNodeAttribute('prep', 'input')).toEqual({ url: 'x' });
    expect(dag.getEdgeAttribute(dag.edge('prep', 'work/0003')!, 'bytes')).toBe(1000);
    expect(dag.getEdgeAttribute(dag.edge('work/0003', 'report')!, 'bytes')).toBe(1000);
    expect(dag.inDegree('report')).toBe(10);
    // A step without an estimate gets the default and "unknown" uncertainty.
    expect(dag.getNodeAttribute('report', 'durationUncertainty')).toBe(1);
  });

  it('refuses to build a job over the sub-task limit', () => {
    const spec = parseJobSpec({
      ...base,
      stages: [{ id: 's', kind: 'split', step: 's.x', range: { start: 1, end: 10 }, chunking: { size: 1 } }],
    });
    expect(() => decompose({ ...spec, limits: { ...spec.limits, maxSubTasks: 5 } })).toThrow(
      TooManyNodesError,
    );
  });
});

describe('the overhead model', () => {
  it("has its minimum waste at Young's √(2o/λ)", () => {
    const best = costOptimalSubTaskSeconds(DEFAULT_OVERHEAD);
    expect(best).toBeCloseTo(Math.sqrt((2 * 15) / (0.05 / 3600)), 6);
    const at = (d: number) => expectedWasteFraction(d, DEFAULT_OVERHEAD);
    expect(at(best)).toBeLessThan(at(best * 0.9));
    expect(at(best)).toBeLessThan(at(best * 1.1));
  });

  it('automatically fills the fleet when chunks stay well above the overhead, and no further', () => {
    const context = { overhead: DEFAULT_OVERHEAD, slots: 6, objective: 'balanced' as const };
    // 1 hour of work: 6 slots × 10 min, each far above o / 0.1 = 150 s; below the cost optimum (≈ 24.5 min).
    expect(layoutChunks(3600, 1, undefined, context).count).toBe(6);
    // 5 seconds of work: one sub-task (splitting would spend more on overhead than it saves).
    expect(layoutChunks(1e9, 5e-9, undefined, context).count).toBe(1);
    // 100 hours: cut at the cost optimum.
    expect(layoutChunks(360_000, 1, undefined, context).count).toBe(
      Math.ceil(360_000 / costOptimalSubTaskSeconds(DEFAULT_OVERHEAD)),
    );
    // No interruptions: no reason to cut beyond the fleet's slots.
    expect(
      layoutChunks(360_000, 1, undefined, {
        ...context,
        overhead: { ...DEFAULT_OVERHEAD, interruptionsPerHour: 0 },
      }).count,
    ).toBe(6);
  });
});

// ---------------------------------------------------------------------------------------------
// Property-based tests over random specs

const chunkingArb = fc.oneof(
  fc.record({ size: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ maxSubTasks: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ targetSubTaskDuration: fc.integer({ min: 1, max: 500 }) }),
  fc.constant(undefined),
);

describe('chunks cover the input exactly once', () => {
  it('for ranges', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1e6, max: 1e6 }),
        fc.integer({ min: 1, max: 300 }),
        chunkingArb,
        fc.double({ min: 0, max: 10, noNaN: true }),
        (start, units, chunking, secondsPerUnit) => {
          const dag = decompose(
            parseJobSpec({
              name: 'p',
              stages: [
                {
                  id: 's',
                  kind: 'split',
                  step: 's.x',
                  range: { start, end: start + units - 1 },
                  chunking,
                  estimate: { secondsPerUnit },
                },
              ],
            }),
          );
          const ranges = dag.mapNodes((_n, a) => a.range!);
          let next = start;
          for (const r of ranges) {
            expect(r.start).toBe(next);
            expect(r.end).toBeGreaterThanOrEqual(r.start);
            next = r.end + 1;
          }
          expect(next).toBe(start + units);
          expect(analyseDag(dag).totalWorkSeconds).toBeCloseTo(units * secondsPerUnit, 6);
        },
      ),
    );
  });

  it('for items, and layouts are consistent for any size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer(), { minLength: 1, maxLength: 200 }),
        chunkingArb,
        (items, chunking) => {
          const dag = decompose(
            parseJobSpec({ name: 'p', stages: [{ id: 's', kind: 'split', step: 's.x', items, chunking }] }),
          );
          expect(dag.mapNodes((_n, a) => a.input as number[]).flat()).toEqual(items);
          expect(dag.everyNode((_n, a) => (a.input as unknown[]).length > 0)).toBe(true);
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e7 }),
        fc.integer({ min: 1, max: 1e4 }),
        (units, maxSubTasks) => {
          const layout = layoutChunks(
            units,
            1,
            { maxSubTasks },
            { overhead: DEFAULT_OVERHEAD, slots: 1, objective: 'balanced' },
          );
          const last = chunkAt(layout, layout.count - 1);
          expect(last.offset + last.length).toBe(units);
          expect(chunkAt(layout, 0).length - last.length).toBeLessThanOrEqual(1);
        },
      ),
    );
  });
});

/** Random stage graphs: each stage may depend on earlier ones (so the spec is acyclic). */
const specArb: fc.Arbitrary<JobSpecInput> = fc
  .array(
    fc.record({
      kind: fc.constantFrom('step', 'split', 'reduce'),
      deps: fc.array(fc.nat(), { maxLength: 3 }),
      units: fc.integer({ min: 1, max: 60 }),
      chunking: chunkingArb,
      fanIn: fc.option(fc.integer({ min: 2, max: 5 }), { nil: undefined }),
      seconds: fc.double({ min: 0, max: 100, noNaN: true }),
    }),
    { minLength: 1, maxLength: 7 },
  )
  .map((stages) => ({
    name: 'random',
    stages: stages.map((s, i): StageInput => {
      const dependsOn = i === 0 ? [] : [...new Set(s.deps.map((d) => `s${d % i}`))];
      const id = `s${i}`;
      if (s.kind === 'reduce' && dependsOn.length > 0) {
        return {
          id,
          kind: 'reduce',
          step: 'r.x',
          dependsOn,
          fanIn: s.fanIn,
          estimate: { seconds: s.seconds },
        };
      }
      if (s.kind === 'split' || s.kind === 'reduce') {
        return {
          id,
          kind: 'split',
          step: 'p.x',
          dependsOn,
          range: { start: 0, end: s.units - 1 },
          chunking: s.chunking,
          estimate: { secondsPerUnit: s.seconds / s.units },
        };
      }
      return { id, kind: 'step', step: 's.x', dependsOn, estimate: { seconds: s.seconds } };
    }),
  }));

function expectedWork(spec: JobSpecInput, dag: TaskDag): number {
  let work = 0;
  for (const stage of spec.stages) {
    if (stage.kind === 'split')
      work += stage.estimate!.secondsPerUnit * (stage.range!.end - stage.range!.start + 1);
    else if (stage.kind === 'step') work += stage.estimate!.seconds;
    else work += stage.estimate!.seconds! * dag.filterNodes((_n, a) => a.stage === stage.id).length;
  }
  return work;
}

function reachable(dag: TaskDag, from: string): Set<string> {
  const seen = new Set<string>([from]);
  const stack = [from];
  while (stack.length) {
    for (const next of dag.outNeighbors(stack.pop()!)) {
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return seen;
}

describe('decomposition of random specs', () => {
  it('is acyclic, valid, keeps every dependency and preserves total work', () => {
    fc.assert(
      fc.property(specArb, (input) => {
        const spec = parseJobSpec(input);
        const dag = decompose(spec);
        expect(hasCycle(dag)).toBe(false);
        validateDag(dag);
        const analysis = analyseDag(dag);
        expect(analysis.totalWorkSeconds).toBeCloseTo(expectedWork(input, dag), 6);
        expect(analysis.criticalPath.seconds).toBeLessThanOrEqual(analysis.totalWorkSeconds + 1e-9);
        const nodesOf = (stage: string) => dag.filterNodes((_n, a) => a.stage === stage);
        for (const stage of spec.stages) {
          for (const dep of stage.dependsOn ?? []) {
            // Every sub-task of the dependency must finish before the stage's final sub-task(s).
            const finals = nodesOf(stage.id).filter(
              (n) => !dag.someOutNeighbor(n, (_m, a) => a.stage === stage.id),
            );
            for (const up of nodesOf(dep)) {
              const reach = reachable(dag, up);
              for (const f of finals) expect(reach.has(f)).toBe(true);
            }
          }
          if (stage.kind === 'reduce' && stage.fanIn) {
            for (const n of nodesOf(stage.id)) expect(dag.inDegree(n)).toBeLessThanOrEqual(stage.fanIn);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
