import fc from 'fast-check';
import type { SpotdagSchedule } from '../../../src/allocate/types';
import {
  CyclicTrace,
  greedyFailoverPolicy,
  mapTraces,
  onDemandHeftPolicy,
  OracleForecast,
  simulate,
  SimulationInvariantError,
  spotdagPolicy,
  uniformProgressPolicy,
  type SimPolicy,
} from '../../../src/sim';
import { buildDag, chain, flatForecast, forkJoin, task, type TestPool } from '../allocate/helpers';
import { env, simMarket, trace } from './helpers';

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
    expect(() => simulate({ ...e, market, checkpointForecast: flatForecast(list), policy: bad })).toThrow(
      SimulationInvariantError,
    );
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
    expect(() => simulate({ ...e, market, checkpointForecast: flatForecast(list), policy })).toThrow(
      SimulationInvariantError,
    );
  });

  it('property: every policy completes random DAGs on random traces with all invariants', () => {
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
        deadline: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(dagArb, ({ durations, edges, traces, deadline }) => {
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
        );
        const base = env(dag, market);
        const heft = onDemandHeftPolicy(base).plan();
        const e = env(
          dag,
          market,
          deadline ? { objective: 'minimize-cost', deadline: heft.predictedMakespanSeconds * 1.5 } : {},
        );
        const policies = [
          spotdagPolicy(e, { forecast: flatForecast(pools) }),
          spotdagPolicy(e, { name: 'perfect', forecast: new OracleForecast(market) }),
          onDemandHeftPolicy(e),
          greedyFailoverPolicy(e),
          ...(deadline ? [uniformProgressPolicy(e, { checkpointForecast: flatForecast(pools) })] : []),
        ];
        for (const policy of policies) {
          const r = simulate({ ...e, market, checkpointForecast: flatForecast(pools), policy });
          expect(r.costUsd).toBeGreaterThan(0);
          if (policy.name === 'spotdag' && deadline) expect(r.deadlineMet).toBe(true);
        }
      }),
      { numRuns: 40, seed: 42 },
    );
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
