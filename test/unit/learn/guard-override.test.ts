import fc from 'fast-check';
import { preferencesSchema } from '../../../src/allocate/preferences';
import { resolveFleet } from '../../../src/allocate/types';
import { Controller, freshMemory, type ControllerFleet, type ControllerState } from '../../../src/controller';
import { DIMENSIONS, fromUnit } from '../../../src/learn/policy-space';
import { buildDag, flatForecast, task, type TestPool } from '../allocate/helpers';

const pools: TestPool[] = [{ key: 'c5@z1', od: 0.1, spot: 0.02, hazard: 0.05 }];
const fleet: ControllerFleet = {
  ...resolveFleet({ bootSeconds: 90, restartSeconds: 30 }),
  noticeSeconds: 120,
  engineOverheadSeconds: 0.065,
  minTickSeconds: 60,
  penaltySeconds: 0,
};
const start: ControllerState = { nowSeconds: 0, done: [], running: [], instances: [] };

/** One decision at the start of a one-task job (10 h of work) with `deadline`, under a tuning point. */
function decideAt(deadline: number, unit: number[], memory = freshMemory()) {
  const params = fromUnit(unit);
  const controller = new Controller({
    forecast: flatForecast(pools),
    fleet,
    preferences: preferencesSchema.parse({ objective: 'minimize-cost', deadline }),
    options: { rankMix: params.rankMix, tuning: params.tuning },
  });
  return controller.decide(buildDag([task('long', 36_000)], []), start, { kind: 'start' }, memory);
}

const anyPoint = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
  minLength: DIMENSIONS.length,
  maxLength: DIMENSIONS.length,
});

describe('the deadline safety net overrides any learned tuning', () => {
  // On-demand: boot 90 s + 36,000 s of work. The heuristic's margin is ≈ 1,500 s here.
  const tight = 36_090 + 1_000;
  const loose = 36_090 + 30_000;

  it('with little slack, every tuning puts the work on on-demand', () => {
    fc.assert(
      fc.property(anyPoint, (unit) => {
        const decision = decideAt(tight, unit);
        expect(decision.guard.onDemandMode).toBe(true);
        expect(decision.guard.onDemandSubTasks).toEqual(['long']);
        const placed = decision.schedule.placements.map(
          (p) => decision.schedule.instances.find((i) => i.id === p.instanceId)!.market,
        );
        expect(placed).toEqual(['on-demand']);
      }),
      { numRuns: 40, seed: 11 },
    );
  });

  it('no tuning makes the margin smaller or releases an engaged net sooner than 1.5 margins', () => {
    const heuristic = decideAt(
      loose,
      DIMENSIONS.map(() => 0),
    ).guard.marginSeconds;
    fc.assert(
      fc.property(anyPoint, (unit) => {
        const reading = decideAt(loose, unit).guard;
        expect(reading.marginSeconds).toBeGreaterThanOrEqual(heuristic - 1e-6);
        // Engaged, with a slack of 1.2 margins: it stays engaged.
        const engaged = { ...freshMemory(), onDemandMode: true, engagedMarginSeconds: reading.marginSeconds };
        const slack = 1.2 * reading.marginSeconds;
        expect(decideAt(36_090 + slack, unit, engaged).guard.onDemandMode).toBe(true);
      }),
      { numRuns: 40, seed: 12 },
    );
  });

  it('and the safety net’s parameters cannot be tuned below their floor', () => {
    const unsafe = { guardMarginScale: 0.1, releaseMargins: 0.5 };
    const decide = (deadline: number, memory = freshMemory()) =>
      new Controller({
        forecast: flatForecast(pools),
        fleet,
        preferences: preferencesSchema.parse({ objective: 'minimize-cost', deadline }),
        options: { tuning: unsafe },
      }).decide(buildDag([task('long', 36_000)], []), start, { kind: 'start' }, memory);
    // A tenth of the margin would not engage at 1,000 s of slack; the floor does.
    const engaged = decide(tight).guard;
    expect(engaged.onDemandMode).toBe(true);
    // Half a margin of release would let go at 1.2 margins of slack; the floor (1.5) does not.
    const memory = { ...freshMemory(), onDemandMode: true, engagedMarginSeconds: engaged.marginSeconds };
    expect(decide(36_090 + 1.2 * engaged.marginSeconds, memory).guard.onDemandMode).toBe(true);
  });
});
