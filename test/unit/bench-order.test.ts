import { candidateMixes, leaveOneFamilyOut } from '../../bench/order';
import type { ScheduleRun } from '../../bench/schedule';
import { DEFAULT_RANK_MIX } from '../../src/allocate';

/** A run of `policy` on `workflow` costing `costUsd` (on-demand HEFT costs 10 on every scenario). */
function run(workflow: string, policy: string, costUsd: number, deadlineMet = true): ScheduleRun {
  return {
    workflow,
    subTasks: 1,
    window: 0,
    startIso: '2024-01-09T00:00:00.000Z',
    seed: 0,
    policy,
    costUsd,
    makespanSeconds: 1,
    deadlineSeconds: 2,
    deadlineMet,
    interruptions: 0,
    launchFailures: 0,
    lostWorkHours: 0,
    replans: 0,
    instances: 1,
    onDemandTaskFraction: 0,
    predictedCostUsd: null,
    costVsOnDemand: costUsd / 10,
    makespanVsHeft: null,
    wallMs: 0,
  };
}

describe('bench order: the PageRank mix learned leaving one family out', () => {
  const candidates = candidateMixes(3, 7).map((mix, i) => ({
    name: i === 0 ? 'spotdag' : `spotdag-mix-${i}`,
    mix,
  }));

  it('candidates: the hand-set mix first, then seeded random ones, the same for a seed', () => {
    expect(candidates[0]!.mix).toEqual(DEFAULT_RANK_MIX);
    expect(candidateMixes(3, 7)).toEqual(candidates.map((c) => c.mix));
    expect(candidateMixes(3, 8)[1]).not.toEqual(candidates[1]!.mix);
  });

  it("chooses each fold's mix without its held-out family, and reports it there", () => {
    // mix-1 is best on family x only, mix-2 on y and z.
    const costs: Record<string, Record<string, number>> = {
      x: {
        'spotdag-heft-order': 4,
        spotdag: 4,
        'spotdag-topo-order': 5,
        'spotdag-mix-1': 3,
        'spotdag-mix-2': 4,
      },
      y: {
        'spotdag-heft-order': 4,
        spotdag: 4,
        'spotdag-topo-order': 5,
        'spotdag-mix-1': 4,
        'spotdag-mix-2': 2,
      },
      z: {
        'spotdag-heft-order': 4,
        spotdag: 4,
        'spotdag-topo-order': 5,
        'spotdag-mix-1': 4,
        'spotdag-mix-2': 2,
      },
    };
    const runs = Object.entries(costs).flatMap(([wf, byPolicy]) =>
      Object.entries(byPolicy).map(([policy, cost]) => run(wf, policy, cost)),
    );
    const { folds, summary, scenarios } = leaveOneFamilyOut(runs, candidates);
    expect(scenarios).toBe(3);
    const learned = Object.fromEntries(folds.map((f) => [f.heldOut, f.learnedCandidate]));
    // Without x, mix-2 wins on y and z: x's own figure (where mix-1 shines) never chose it.
    expect(learned).toEqual({ x: 'spotdag-mix-2', y: 'spotdag-mix-2', z: 'spotdag-mix-2' });
    expect(folds.find((f) => f.heldOut === 'x')!.costVsOnDemand['pagerank-learned']).toBeCloseTo(0.4, 9);
    const learnedRow = summary.find((s) => s.order === 'pagerank-learned')!;
    expect(learnedRow.costVsOnDemand).toBeCloseTo((0.4 + 0.2 + 0.2) / 3, 9);
    expect(learnedRow.vsHeft).toBeCloseTo((1 + 0.5 + 0.5) / 3, 9);
  });

  it('a mix that shines only on the held-out family is not learned for it (no leak)', () => {
    // Over both families mix-1 would win (0.55 < 0.6); without x, mix-2 does.
    const runs = [
      ['x', 0.4, 2.4],
      ['y', 4, 2.4],
    ].flatMap(([wf, mix1, mix2]) => [
      run(wf as string, 'spotdag-heft-order', 4),
      run(wf as string, 'spotdag', 4),
      run(wf as string, 'spotdag-topo-order', 4),
      run(wf as string, 'spotdag-mix-1', mix1 as number),
      run(wf as string, 'spotdag-mix-2', mix2 as number),
    ]);
    const { folds } = leaveOneFamilyOut(runs, candidates);
    expect(folds.find((f) => f.heldOut === 'x')!.learnedCandidate).toBe('spotdag-mix-2');
  });

  it('a missed deadline counts against a mix in training', () => {
    const runs = ['x', 'y'].flatMap((wf) => [
      run(wf, 'spotdag-heft-order', 4),
      run(wf, 'spotdag', 3),
      run(wf, 'spotdag-topo-order', 5),
      run(wf, 'spotdag-mix-1', 1, false),
      run(wf, 'spotdag-mix-2', 4),
    ]);
    const { folds } = leaveOneFamilyOut(runs, candidates);
    expect(folds.map((f) => f.learnedCandidate)).toEqual(['spotdag', 'spotdag']);
  });
});
