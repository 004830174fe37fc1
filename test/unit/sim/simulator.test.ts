import fc from 'fast-check';
import type { SpotdagSchedule } from '../../../src/allocate/types';
import { topologicalSort } from 'graphology-dag';
import {
  CyclicTrace,
  eagerNextZonePolicy,
  greedyFailoverPolicy,
  lowerBoundCost,
  mapTraces,
  onDemandHeftPolicy,
  OracleForecast,
  priceCapacityOptimizedPolicy,
  simulate,
  SimulationInvariantError,
  spotdagPolicy,
  uniformProgressPolicy,
  type SimPolicy,
} from '../../../src/sim';
import { buildDag, chain, flatForecast, forkJoin, task, type TestPool } from '../allocate/helpers';
import { env, simMarket, trace } from './helpers';

/** The error `fn` throws (fails the test if it returns). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('trace replay', () => {
  it('finds the next unavailable / available tick cyclically', () => {
    const t = new CyclicTrace(trace([false, false, true, false]));
    expect(t.ticksToUnavailable(0)).toBe(2);
    expect(t.ticksToUnavailable(3)).toBe(3);
    expect(t.ticksToAvailable(2)).toBe(1);
    expect(new CyclicTrace(trace([false, false])).ticksToUnavailable(0)).toBe(-1);
  });

  it('maps pools to traces deterministically per seed', () => {
    const traces = [trace(new Array(100).fill(false), 60, 'a'), trace(new Array(50).fill(true), 60, 'b')];
    const keys = Array.from({ length: 20 }, (_, i) => `p${i}@z`);
    expect(mapTraces(keys, traces, { seed: 1 })).toEqual(mapTraces(keys, traces, { seed: 1 }));
    expect(mapTraces(keys, traces, { seed: 1 })).not.toEqual(mapTraces(keys, traces, { seed: 2 }));
  });
});

describe('simulate: hand-checkable runs', () => {
  it('on-demand chain: one instance, billed boot + work at the on-demand price', () => {
    const list: TestPool[] = [{ key: 'od@z1', od: 0.1, spot: 0.5 }];
    const market = simMarket(list);
    const e = env(buildDag([task('a', 3600), task('b', 3600)], [['a', 'b', 1e9]]), market);
    const r = simulate({
      ...e,
      market,
      checkpointForecast: flatForecast(list),
      policy: spotdagPolicy(e, { forecast: flatForecast(list) }),
    });
    expect(r.instancesLaunched).toBe(1);
    expect(r.makespanSeconds).toBeCloseTo(90 + 7200, 6);
    expect(r.costUsd).toBeCloseTo((0.1 * (90 + 7200)) / 3600, 9);
    expect(r.interruptions).toBe(0);
  });

  it('an interruption loses the work since the last checkpoint and the rest resumes elsewhere', () => {
    // Spot capacity for 6 ticks of 10 min, then 2 ticks without, then back.
    const list: TestPool[] = [{ key: 'sp@z1', od: 0.1, spot: 0.02, hazard: 0.01 }];
    const gaps = [false, false, false, false, false, false, true, true, ...new Array(100).fill(false)];
    const market = simMarket(list, [trace(gaps, 600)]);
    const e = env(buildDag([task('long', 7200)], []), market);
    const r = simulate({
      ...e,
      market,
      checkpointForecast: flatForecast(list),
      policy: spotdagPolicy(e, { forecast: flatForecast(list) }),
    });
    expect(r.interruptions).toBe(1);
    // Started at 90 s, checkpoints every τ = √(2·10·3600/0.01) s (+10 s each), stopped at the notice (3480 s).
    const tau = Math.sqrt((2 * 10 * 3600) / 0.01);
    const elapsed = 3480 - 90;
    const saved = Math.floor(elapsed / (tau + 10)) * tau;
    expect(r.lostWorkHours).toBeCloseTo((elapsed - saved) / 3600, 9);
    expect(r.instances.some((i) => i.market === 'on-demand')).toBe(true);
    expect(r.instances[0]!.interrupted).toBe(true);
  });

  it('every policy checkpoints by the same rule: a baseline keeps its work up to the last checkpoint', () => {
    // The baselines plan with no hazard (τ = 0 in their placements); the simulator checkpoints anyway.
    const list: TestPool[] = [{ key: 'sp@z1', od: 0.1, spot: 0.02, hazard: 0.01 }];
    const gaps = [false, false, false, false, false, false, true, true, ...new Array(100).fill(false)];
    const market = simMarket(list, [trace(gaps, 600)]);
    const e = env(buildDag([task('long', 7200)], []), market);
    const policy = greedyFailoverPolicy(e);
    expect(policy.plan().placements[0]!.checkpointIntervalSeconds).toBe(0);
    const r = simulate({ ...e, market, checkpointForecast: flatForecast(list), policy });
    expect(r.interruptions).toBe(1);
    const tau = Math.sqrt((2 * 10 * 3600) / 0.01);
    const elapsed = 3480 - 90;
    const saved = Math.floor(elapsed / (tau + 10)) * tau;
    expect(saved).toBeGreaterThan(0);
    expect(r.lostWorkHours).toBeCloseTo((elapsed - saved) / 3600, 9);
  });

  it('a fixed checkpoint interval (checkpointEverySeconds) replaces the rule, as fixed-interval instances do', () => {
    const list: TestPool[] = [{ key: 'sp@z1', od: 0.1, spot: 0.02, hazard: 0.01 }];
    const gaps = [false, false, false, false, false, false, true, true, ...new Array(100).fill(false)];
    const market = simMarket(list, [trace(gaps, 600)]);
    const e = env(buildDag([task('long', 7200)], []), market);
    const r = simulate({
      ...e,
      market,
      checkpointForecast: flatForecast(list),
      checkpointEverySeconds: 250,
      policy: greedyFailoverPolicy(e),
    });
    expect(r.interruptions).toBe(1);
    // Every 250 s of work (+10 s per checkpoint) from 90 s to the notice at 3480 s.
    const elapsed = 3480 - 90;
    const saved = Math.floor(elapsed / (250 + 10)) * 250;
    expect(r.lostWorkHours).toBeCloseTo((elapsed - saved) / 3600, 9);
  });

  it('work longer than declared (durationFactor) takes its true time, while policies see the declared one', () => {
    const list: TestPool[] = [{ key: 'sp@z1', od: 0.1, spot: 0.02, hazard: 0.01 }];
    const gaps = [false, false, false, false, false, false, true, true, ...new Array(100).fill(false)];
    const market = simMarket(list, [trace(gaps, 600)]);
    const e = env(buildDag([task('long', 7200)], []), market);
    const greedy = greedyFailoverPolicy(e);
    const seen: Parameters<typeof greedy.replan>[0][] = [];
    const r = simulate({
      ...e,
      market,
      checkpointForecast: flatForecast(list),
      checkpointEverySeconds: 250,
      durationFactor: 1.5,
      policy: {
        ...greedy,
        replanEverySeconds: 1000,
        replan: (state, event, previous) => (seen.push(state), greedy.replan(state, event, previous)),
      },
    });
    expect(r.interruptions).toBe(1);
    // At the tick at 3,000 s, the attempt that started at 90 s has made 11 checkpoints, one per
    // 250 s of wall time (+10 s each): 2,750 s of wall time, at 1.5 wall seconds per declared second.
    const at3000 = seen.find((s) => s.nowSeconds === 3000)!;
    expect(at3000.progress?.long).toBeCloseTo((11 * 250) / 1.5, 6);
    const view = at3000.running[0]!;
    expect(view.startedAt).toBe(90);
    expect(view.checkpointedAt).toBeCloseTo(90 + 11 * 260, 6);
    // The declared finish, not the true one: 7,200 s of work (+10 s per checkpoint) from 90 s.
    expect(view.expectedFinish).toBeLessThan(90 + 7200 * 1.2);
    // Lost: the wall time since the last checkpoint; the rest (declared 7,200 − progress) takes 1.5× too.
    expect(r.lostWorkHours).toBeCloseTo((3480 - 90 - 13 * 250) / 3600, 9);
    expect(r.makespanSeconds).toBeGreaterThan(90 + 7200 * 1.5);
  });

  it('finalCheckpointOnNotice: a sub-task stopped by a notice keeps all its work done so far', () => {
    // As the fixed-interval test above, but the step saves where it is at the notice (as
    // `workload.spin` does on the real instances of `bench twin`): only checkpoint time is lost.
    const list: TestPool[] = [{ key: 'sp@z1', od: 0.1, spot: 0.02, hazard: 0.01 }];
    const gaps = [false, false, false, false, false, false, true, true, ...new Array(100).fill(false)];
    const market = simMarket(list, [trace(gaps, 600)]);
    const e = env(buildDag([task('long', 7200)], []), market);
    const run = (finalCheckpointOnNotice: boolean) =>
      simulate({
        ...e,
        market,
        checkpointForecast: flatForecast(list),
        checkpointEverySeconds: 250,
        finalCheckpointOnNotice,
        policy: greedyFailoverPolicy(e),
      });
    // From 90 s to the notice at 3480 s: 13 checkpoints (250 s of work + 10 s each), then 10 s of work.
    const elapsed = 3480 - 90;
    const done = 13 * 250 + (elapsed - 13 * 260);
    expect(done).toBe(3260);
    const r = run(true);
    expect(r.interruptions).toBe(1);
    expect(r.lostWorkHours).toBeCloseTo((elapsed - done) / 3600, 9);
    expect(run(false).lostWorkHours).toBeCloseTo((elapsed - 13 * 250) / 3600, 9);
  });

  it('the first spot instance ends billing at the interruption; cost = Σ time × price', () => {
    const list: TestPool[] = [
      { key: 'sp@z1', od: 0.1, spot: 0.02, hazard: 0.01 },
      { key: 'sp2@z2', od: 0.1, spot: 0.03, hazard: 0.01 },
    ];
    const market = simMarket(list, [trace([false, false, false, true, ...new Array(20).fill(false)], 600)]);
    const e = env(forkJoin(3, 2400), market);
    const r = simulate({
      ...e,
      market,
      checkpointForecast: flatForecast(list),
      policy: spotdagPolicy(e, { forecast: flatForecast(list) }),
    });
    const billed = r.instances.reduce(
      (a, i) =>
        a +
        ((i.endedAt - i.launchedAt) / 3600) *
          (i.pool === 'sp@z1' ? 0.02 : i.pool === 'sp2@z2' && i.market === 'spot' ? 0.03 : 0.1),
      0,
    );
    expect(r.costUsd).toBeCloseTo(billed, 9);
    for (const i of r.instances.filter((x) => x.interrupted))
      expect(i.endedAt).toBeLessThanOrEqual(1800 + 1e-6);
  });
});

describe('simulate: invariants', () => {
  it('throws when a policy leaves a sub-task unplaced', () => {
    const list: TestPool[] = [{ key: 'od@z1', od: 0.1, spot: 0.5 }];
    const market = simMarket(list);
    const e = env(chain(), market);
    const good = spotdagPolicy(e, { forecast: flatForecast(list) });
    const bad: SimPolicy = {
      name: 'bad',
      onNoCapacity: 'replan',
      plan: () => {
        const s: SpotdagSchedule = good.plan();
        return { ...s, placements: s.placements.slice(1) };
      },
      replan: () => {
        throw new Error('unused');
      },
    };
    const err = thrown(() => simulate({ ...e, market, checkpointForecast: flatForecast(list), policy: bad }));
    expect(err).toBeInstanceOf(SimulationInvariantError);
    expect(err.message).toBe('simulation invariant violated: bad: sub-task a is not placed by the new plan');
  });

  it('throws when a plan overcommits an instance', () => {
    const list: TestPool[] = [{ key: 'od@z1', od: 0.1, spot: 0.5, vcpu: 2 }];
    const market = simMarket(list);
    const e = env(buildDag([task('x', 60, 3)], []), market);
    const policy: SimPolicy = {
      name: 'overcommit',
      onNoCapacity: 'replan',
      plan: () => ({
        instances: [
          {
            id: 'i0',
            pool: 'od@z1',
            slots: 2,
            market: 'on-demand',
            maxPricePerHour: 0.1,
            instanceType: 'od',
            zone: 'z1',
            region: 'r1',
            vcpu: 2,
            memoryMiB: 4096,
            launchAt: 0,
            releaseAt: 100,
            predictedPricePerHour: 0.1,
            predictedCostUsd: 0,
          },
        ],
        placements: [
          {
            subTaskId: 'x',
            instanceId: 'i0',
            start: 90,
            finish: 150,
            checkpointIntervalSeconds: 0,
            interruptionProbability: 0,
            rank: 1,
          },
        ],
        transfers: [],
        predictedMakespanSeconds: 150,
        predictedCostUsd: 0,
        order: 'pagerank',
        objective: 'balanced',
        predictedInterruptions: 0,
        onDemandFraction: 1,
        plannedAtSeconds: 0,
      }),
      replan: () => {
        throw new Error('unused');
      },
    };
    // The sub-task never fits: the run stalls, which is reported rather than looping forever.
    const err = thrown(() => simulate({ ...e, market, checkpointForecast: flatForecast(list), policy }));
    expect(err).toBeInstanceOf(SimulationInvariantError);
    expect(err.message).toBe(
      'simulation invariant violated: overcommit: stalled at 90 s with 1 sub-tasks left',
    );
  });

  it('property: every policy completes random DAGs on random traces and prices, each with its invariants', () => {
    const dagArb = fc.integer({ min: 1, max: 10 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        durations: fc.array(fc.integer({ min: 60, max: 3600 }), { minLength: n, maxLength: n }),
        edges: fc.array(fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n - 1 })), {
          maxLength: 2 * n,
        }),
        traces: fc.array(fc.array(fc.boolean(), { minLength: 4, maxLength: 30 }), {
          minLength: 3,
          maxLength: 3,
        }),
        // Spot price steps (10 min) as multiples of the pool's base price.
        prices: fc.array(
          fc.array(fc.double({ min: 0.5, max: 1.5, noNaN: true }), { minLength: 1, maxLength: 20 }),
          {
            minLength: 3,
            maxLength: 3,
          },
        ),
        deadline: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(dagArb, ({ durations, edges, traces, prices, deadline }) => {
        const nodes = durations.map((s, i) => task(`t${i}`, s));
        const seen = new Set<string>();
        const list = edges
          .map(([a, b]) => (a < b ? [a, b] : [b, a]))
          .filter(([a, b]) => a !== b && !seen.has(`${a}-${b}`) && seen.add(`${a}-${b}`))
          .map(([a, b]): [string, string, number] => [`t${a}`, `t${b}`, 1e7]);
        const dag = buildDag(nodes, list);
        const pools: TestPool[] = [
          { key: 'a@z1', od: 0.1, spot: 0.02, hazard: 0.3 },
          { key: 'b@z2', od: 0.1, spot: 0.03, hazard: 0.1 },
          { key: 'c@z3', od: 0.09, spot: 0.04, hazard: 0.05 },
        ];
        // Make sure each trace has capacity somewhere, so that waiting policies can finish.
        const market = simMarket(
          pools,
          traces.map((t) => trace([...t, false], 600)),
          prices.map((steps, i) => steps.map((x) => x * pools[i]!.spot)),
        );
        const base = env(dag, market);
        const heft = onDemandHeftPolicy(base).plan();
        const e = env(
          dag,
          market,
          deadline ? { objective: 'minimize-cost', deadline: heft.predictedMakespanSeconds * 1.5 } : {},
        );
        const checkpointForecast = flatForecast(pools);
        const policies = [
          spotdagPolicy(e, { forecast: flatForecast(pools) }),
          spotdagPolicy(e, { name: 'oracle-informed', forecast: new OracleForecast(market) }),
          onDemandHeftPolicy(e),
          greedyFailoverPolicy(e),
          eagerNextZonePolicy(e),
          priceCapacityOptimizedPolicy(e, (i) => pools[i]!.hazard!),
          ...(deadline ? [uniformProgressPolicy(e, { checkpointForecast })] : []),
        ];
        // No run can be shorter than the longest chain of durations.
        const longest = new Map<string, number>();
        let criticalPath = 0;
        for (const id of topologicalSort(dag)) {
          const before = dag.inNeighbors(id).reduce((a, u) => Math.max(a, longest.get(u)!), 0);
          longest.set(id, before + dag.getNodeAttribute(id, 'durationSeconds'));
          criticalPath = Math.max(criticalPath, longest.get(id)!);
        }
        for (const policy of policies) {
          const r = simulate({ ...e, market, checkpointForecast, policy });
          // Every policy: billed = Σ its instances' bills, never below the proven bound, never
          // faster than the critical path, interruptions = interrupted instances.
          expect(r.costUsd).toBeCloseTo(
            r.instances.reduce((a, i) => a + i.costUsd, 0),
            9,
          );
          expect(r.costUsd).toBeGreaterThanOrEqual(lowerBoundCost(e, r.makespanSeconds) - 1e-12);
          expect(r.makespanSeconds).toBeGreaterThanOrEqual(criticalPath - 1e-6);
          expect(r.interruptions).toBe(r.instances.filter((i) => i.interrupted).length);
          expect(r.lostWorkHours).toBeGreaterThanOrEqual(0);
          for (const i of r.instances) {
            expect(i.endedAt).toBeGreaterThanOrEqual(i.launchedAt);
            if (i.market === 'spot') {
              // Launched only with capacity; ended at the interruption or with capacity throughout.
              expect(market.available(market.index(i.pool), i.launchedAt)).toBe(true);
              if (!i.interrupted)
                expect(market.nextUnavailable(market.index(i.pool), i.launchedAt)).toBeGreaterThanOrEqual(
                  i.endedAt,
                );
            }
          }
          if (policy.name === 'on-demand-heft') {
            expect(r.instances.every((i) => i.market === 'on-demand')).toBe(true);
            expect(r.interruptions).toBe(0);
            expect(r.lostWorkHours).toBe(0);
            expect(r.onDemandTaskFraction).toBe(1);
          }
          // The deadline-aware policies meet the deadline (1.5 × the HEFT on-demand plan).
          if (deadline && (policy.name === 'spotdag' || policy.name === 'uniform-progress'))
            expect({ policy: policy.name, deadlineMet: r.deadlineMet }).toEqual({
              policy: policy.name,
              deadlineMet: true,
            });
        }
      }),
      { numRuns: 40, seed: 42 },
    );
  });
});

describe('lower bound', () => {
  it('is Σ cores × duration at the lowest price per vCPU in force before the horizon, spot or on-demand', () => {
    const list: TestPool[] = [
      { key: 'a@z1', od: 0.4, spot: 0.1, vcpu: 2 },
      { key: 'b@z2', od: 0.3, spot: 0.2, vcpu: 4 },
    ];
    // Pool a: 0.1 $/h, then 0.04 from 20 min to 30 min, then 0.1 again.
    const market = simMarket(list, [], [[0.1, 0.1, 0.04, 0.1], [0.2]]);
    const e = env(buildDag([task('x', 3600, 2), task('y', 1800, 1)], []), market);
    const coreHours = (2 * 3600 + 1800) / 3600;
    // Before the cheap step: min(0.1 / 2, 0.3 / 4 on-demand, 0.2 / 4) = 0.05 per vCPU-hour.
    expect(lowerBoundCost(e, 1200)).toBeCloseTo(coreHours * 0.05, 12);
    // From 1200 s on the 0.04 step counts: 0.02 per vCPU-hour.
    expect(lowerBoundCost(e, 1201)).toBeCloseTo(coreHours * 0.02, 12);
  });

  it('counts fractional cores as they are: two half-core sub-tasks sharing one vCPU do not beat it', () => {
    const list: TestPool[] = [{ key: 'od@z1', od: 0.1, spot: 0.5, vcpu: 1 }];
    const market = simMarket(list);
    const e = env(buildDag([task('x', 3600, 0.5), task('y', 3600, 0.5)], []), market);
    const both = (id: string) => ({
      subTaskId: id,
      instanceId: 'i0',
      start: 90,
      finish: 3690,
      checkpointIntervalSeconds: 0,
      interruptionProbability: 0,
      rank: 1,
    });
    const policy: SimPolicy = {
      name: 'packed',
      onNoCapacity: 'replan',
      plan: () => ({
        instances: [
          {
            id: 'i0',
            pool: 'od@z1',
            slots: 1,
            market: 'on-demand',
            maxPricePerHour: 0.1,
            instanceType: 'od',
            zone: 'z1',
            region: 'r1',
            vcpu: 1,
            memoryMiB: 4096,
            launchAt: 0,
            releaseAt: 3690,
            predictedPricePerHour: 0.1,
            predictedCostUsd: 0,
          },
        ],
        placements: [both('x'), both('y')],
        transfers: [],
        predictedMakespanSeconds: 3690,
        predictedCostUsd: 0,
        order: 'pagerank',
        objective: 'balanced',
        predictedInterruptions: 0,
        onDemandFraction: 1,
        plannedAtSeconds: 0,
      }),
      replan: () => {
        throw new Error('unused');
      },
    };
    const r = simulate({ ...e, market, checkpointForecast: flatForecast(list), policy });
    expect(r.makespanSeconds).toBeCloseTo(3690, 6);
    expect(r.costUsd).toBeCloseTo((0.1 * 3690) / 3600, 12);
    expect(r.costUsd).toBeGreaterThanOrEqual(lowerBoundCost(e, r.makespanSeconds));
    // Counting each sub-task as at least one core (the old bound) would claim $0.2 — above the real bill.
    expect(r.costUsd).toBeLessThan(0.2);
  });
});

describe('oracle', () => {
  it('knows exactly when capacity goes', () => {
    const list: TestPool[] = [{ key: 'sp@z1', od: 0.1, spot: 0.02 }];
    const market = simMarket(list, [trace([false, false, true, false], 600)]);
    const o = new OracleForecast(market);
    expect(o.interruptionProbability(0, 0, 1100)).toBe(0);
    expect(o.interruptionProbability(0, 0, 1300)).toBe(1);
    expect(o.availability(0, 1250)).toBe(0);
    expect(o.spotPrice(0, 0, 100)).toBeCloseTo(0.02, 12);
  });
});
