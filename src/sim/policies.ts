/**
 * Policies under test. spotdag's is the runtime controller real jobs run (controller-policy.ts);
 * the baselines use the same list scheduler with their own pool choices and HEFT's
 * earliest-finish placement:
 *
 * - on-demand-heft          HEFT (upward rank, earliest finish) on the cheapest on-demand pools.
 * - greedy-failover         cheapest spot pool by current price; after an interruption relaunch in
 *                           the same pool, and if it refuses, the next cheapest (SkyPilot FAILOVER).
 * - eager-next-zone         cheapest spot pool; after an interruption move to the cheapest pool in
 *                           another zone (SkyPilot EAGER_NEXT_REGION).
 * - price-capacity-optimized EC2 Fleet's strategy, emulated: among the pools with the lowest
 *                           estimated interruption rate (best third), the cheapest now.
 * - uniform-progress        "Can't Be Late" (NSDI'24) §4's rules, generalised to DAGs: decided at
 *                           every trace tick; see `uniformProgressPolicy`.
 * - spotdag*               the runtime controller with forecasts (and ablations); with the actual
 *                           future (OracleForecast) it is bench schedule's oracle-informed heuristic.
 */
import { allocate, reallocate, rankSubTasks } from '../allocate/allocate';
import type { Preferences } from '../allocate/preferences';
import type { DagArrays } from '../allocate/rank';
import { checkpointInterval, type NewInstanceOption } from '../allocate/scheduler';
import type { AllocationForecast, ResolvedFleet, RuntimeState, SpotdagSchedule } from '../allocate/types';
import type { SimMarket } from './market';
import { controllerPolicy, type ControllerPolicyOptions } from './controller-policy';
import type { ReplanEvent, SimPolicy } from './simulator';
import { uniformProgressChoice, type Choice } from './uniform-progress';

export interface PolicyEnv {
  d: DagArrays;
  fleet: ResolvedFleet;
  preferences: Preferences;
  /** The simulated market: baselines only read what is observable now (current prices). */
  market: SimMarket;
}

/** How long a pool that interrupted or refused gets no new spot instances (price-capacity-optimized). */
export const PENALTY_SECONDS = 1800;

export type SpotdagPolicyOptions = ControllerPolicyOptions;

/**
 * spotdag: the runtime controller (src/controller) that real jobs run, through its simulator
 * adapter — planned at the start, decided again on every interruption, refused launch and tick.
 */
export function spotdagPolicy(env: PolicyEnv, options: SpotdagPolicyOptions): SimPolicy {
  return controllerPolicy(env, options);
}

/** Pools ordered by the current spot price (what a greedy policy sees), per instance shape. */
function byCurrentPrice(env: PolicyEnv, now: number): number[] {
  return env.market.pools
    .map((p, i) => ({ i, price: env.market.spotPrice(i, now) / p.option.vcpu }))
    .filter(
      (x) =>
        x.price < env.market.pools[x.i]!.option.onDemandPricePerHour / env.market.pools[x.i]!.option.vcpu,
    )
    .filter(
      (x) =>
        env.preferences.maxSpotPrice === undefined ||
        env.market.spotPrice(x.i, now) <= env.preferences.maxSpotPrice,
    )
    .sort((a, b) => a.price - b.price || a.i - b.i)
    .map((x) => x.i);
}

function cheapestOnDemand(env: PolicyEnv): NewInstanceOption[] {
  const best = new Map<string, number>();
  env.market.pools.forEach((p, i) => {
    const shape = `${p.option.vcpu}/${p.option.memoryMiB}`;
    const b = best.get(shape);
    if (b === undefined || p.option.onDemandPricePerHour < env.market.pools[b]!.option.onDemandPricePerHour)
      best.set(shape, i);
  });
  return [...best.values()].sort((a, b) => a - b).map((pool) => ({ pool, market: 'on-demand' as const }));
}

/**
 * A spot pool plus, for sub-tasks that do not fit it (more memory), the cheapest on-demand pools of
 * larger shapes; only on-demand when there is no spot pool.
 */
function withFallback(env: PolicyEnv, spot: number | undefined): NewInstanceOption[] {
  if (spot === undefined) return cheapestOnDemand(env);
  const memory = env.market.pools[spot]!.option.memoryMiB;
  return [
    { pool: spot, market: 'spot' },
    ...cheapestOnDemand(env).filter((o) => env.market.pools[o.pool]!.option.memoryMiB > memory),
  ];
}

/** The forecast baselines plan with: today's price holds, no hazard knowledge. */
function nowForecast(env: PolicyEnv, now: () => number): AllocationForecast {
  return {
    pools: env.market.pools.map((p) => p.option),
    spotPrice: (i) => env.market.spotPrice(i, now()),
    spotPriceUpper: (i) => env.market.pools[i]!.option.onDemandPricePerHour,
    interruptionProbability: () => 0,
    hazardPerHour: () => 0,
    availability: () => 1,
  };
}

function heftPolicy(
  env: PolicyEnv,
  name: string,
  onNoCapacity: 'wait' | 'replan',
  options: (now: number, event: ReplanEvent | undefined) => NewInstanceOption[],
  forecast: AllocationForecast,
  clock: { now: number },
): SimPolicy {
  // The baselines are not deadline-aware (Uniform Progress handles the deadline itself).
  const prefs = { ...env.preferences, deadline: undefined, objective: 'minimize-time' as const };
  let priority: Float64Array | undefined;
  return {
    name,
    onNoCapacity,
    plan() {
      clock.now = 0;
      priority = rankSubTasks(env.d, forecast, env.fleet, prefs, 'heft');
      return allocate(env.d, forecast, env.fleet, prefs, {
        order: 'heft',
        scoring: 'eft',
        priority,
        arrays: env.d,
        newOptions: options(0, undefined),
      });
    },
    replan(state, event, previous) {
      clock.now = state.nowSeconds;
      return reallocate(env.d, forecast, env.fleet, prefs, state, previous, {
        order: 'heft',
        scoring: 'eft',
        priority,
        arrays: env.d,
        newOptions: options(state.nowSeconds, event),
      });
    },
  };
}

/** Baseline 1: all on-demand, HEFT. */
export function onDemandHeftPolicy(env: PolicyEnv): SimPolicy {
  const clock = { now: 0 };
  return heftPolicy(
    env,
    'on-demand-heft',
    'replan',
    () => cheapestOnDemand(env),
    nowForecast(env, () => clock.now),
    clock,
  );
}

/** Keeps spot on one "home" pool per shape and moves it by a rule after interruptions/refusals. */
function homePoolPolicy(
  env: PolicyEnv,
  name: string,
  /** The next home pool after an event; undefined: none fits now (on-demand for the moment). */
  move: (home: number, now: number, event: ReplanEvent, refused: Map<number, number>) => number | undefined,
): SimPolicy {
  const clock = { now: 0 };
  const index = new Map(env.market.pools.map((p, i) => [p.option.key, i]));
  let home: number | undefined;
  const refused = new Map<number, number>();
  const options = (now: number, event: ReplanEvent | undefined): NewInstanceOption[] => {
    if (event?.reason === 'launch-failed') for (const p of event.pools) refused.set(index.get(p)!, now);
    const recent = (i: number) => now - (refused.get(i) ?? -Infinity) < REFUSAL_MEMORY_SECONDS;
    if (home === undefined) home = byCurrentPrice(env, now).find((i) => !recent(i));
    else if (event) home = move(home, now, event, refused);
    return withFallback(env, home);
  };
  return heftPolicy(
    env,
    name,
    'replan',
    options,
    nowForecast(env, () => clock.now),
    clock,
  );
}

const REFUSAL_MEMORY_SECONDS = 600;

/** Baseline 2: greedy cheapest spot, relaunch in the same pool (SkyPilot FAILOVER). */
export function greedyFailoverPolicy(env: PolicyEnv): SimPolicy {
  return homePoolPolicy(env, 'greedy-failover', (home, now, _event, refused) => {
    const recent = (i: number) => now - (refused.get(i) ?? -Infinity) < REFUSAL_MEMORY_SECONDS;
    if (!recent(home)) return home;
    const order = byCurrentPrice(env, now);
    const region = env.market.pools[home]!.option.region;
    // When every spot pool refused within the last 10 minutes: on-demand until one may have capacity.
    return (
      order.find((i) => !recent(i) && env.market.pools[i]!.option.region === region) ??
      order.find((i) => !recent(i))
    );
  });
}

/** Baseline 3: after an interruption move to another zone (SkyPilot EAGER_NEXT_REGION). */
export function eagerNextZonePolicy(env: PolicyEnv): SimPolicy {
  return homePoolPolicy(env, 'eager-next-zone', (home, now, event, refused) => {
    const recent = (i: number) => now - (refused.get(i) ?? -Infinity) < REFUSAL_MEMORY_SECONDS;
    const zone = env.market.pools[home]!.option.zone;
    if (event.reason === 'interruption' || recent(home)) {
      return byCurrentPrice(env, now).find((i) => env.market.pools[i]!.option.zone !== zone && !recent(i));
    }
    return home;
  });
}

/**
 * Baseline 4: EC2 Fleet price-capacity-optimized, emulated. AWS picks the pools with the most
 * spare capacity, then the lowest price among them; capacity is not public, so the emulation uses
 * the same interruption-rate estimate spotdag has (`hazard`) as the capacity signal: the best third
 * of pools by hazard, then the cheapest now. Pools that interrupted or refused are avoided for 30 min.
 */
export function priceCapacityOptimizedPolicy(env: PolicyEnv, hazard: (pool: number) => number): SimPolicy {
  const clock = { now: 0 };
  const penalties = new Map<number, number>();
  const index = new Map(env.market.pools.map((p, i) => [p.option.key, i]));
  const options = (now: number, event: ReplanEvent | undefined): NewInstanceOption[] => {
    for (const p of event?.pools ?? []) penalties.set(index.get(p)!, now + PENALTY_SECONDS);
    const priced = new Set(byCurrentPrice(env, now));
    const ok = env.market.pools
      .map((_, i) => i)
      .filter((i) => priced.has(i) && (penalties.get(i) ?? 0) <= now);
    const byHazard = [...ok].sort((a, b) => hazard(a) - hazard(b) || a - b);
    const tier = byHazard.slice(0, Math.max(1, Math.ceil(byHazard.length / 3)));
    const best = tier.sort(
      (a, b) =>
        env.market.spotPrice(a, now) / env.market.pools[a]!.option.vcpu -
          env.market.spotPrice(b, now) / env.market.pools[b]!.option.vcpu || a - b,
    )[0];
    return withFallback(env, best);
  };
  return heftPolicy(
    env,
    'price-capacity-optimized',
    'replan',
    options,
    nowForecast(env, () => clock.now),
    clock,
  );
}

/**
 * Baseline 5: Uniform Progress (Wu et al., "Can't Be Late", NSDI'24, §4), its rules as the paper
 * states them (../sim/uniform-progress.ts), generalised to DAGs and decided at every trace tick
 * (the shortest `gap_seconds` of the pools' traces) and at every interruption:
 *
 * - C is the DAG's total work (Σ durations); done counts finished sub-tasks and the checkpointed
 *   work of the others, running ones included; the uniform line is t·C/D;
 * - remaining (for the safety net) is the remaining critical path: the time the rest needs on
 *   instances that are never interrupted (running sub-tasks to their expected finish, transfers
 *   at region bandwidth, a restart where there is checkpointed progress);
 * - d, the restart overhead, is what an interruption costs in time in this simulator: boot +
 *   restart + the work it can lose (one checkpoint interval and checkpoint of the longest remaining
 *   sub-task on the pool, or all its work when it does not checkpoint);
 * - "spot is available" when some spot pool cheaper than on-demand has capacity now; the job uses
 *   one such pool (kept while it has capacity, else the cheapest with capacity); waiting means spot
 *   requests in the cheapest pool that wait for capacity;
 * - the choice applies to work that has not started: spot → new instances in that pool (spot
 *   instances already alive are reused); on-demand → new work on on-demand instances only; sub-tasks
 *   running on spot keep running (work that has started is past its restart), and nothing running
 *   is stopped.
 */
export function uniformProgressPolicy(
  env: PolicyEnv,
  options: {
    /** The forecast the simulator checkpoints by (`SimOptions.checkpointForecast`): sizes d. */
    checkpointForecast: Pick<AllocationForecast, 'hazardPerHour'>;
    /** Decision tick (default: the shortest gap of the pools' traces). */
    tickSeconds?: number;
  },
): SimPolicy {
  const { d, fleet, market } = env;
  const deadline = env.preferences.deadline;
  if (deadline === undefined) throw new Error('uniform-progress needs preferences.deadline');
  const clock = { now: 0 };
  const forecast = nowForecast(env, () => clock.now);
  const prefs = { ...env.preferences, deadline: undefined, objective: 'minimize-time' as const };
  const tick =
    options.tickSeconds ?? market.pools.reduce((a, p) => Math.min(a, p.trace.gapSeconds), Infinity);
  const n = d.ids.length;
  let totalWork = 0;
  for (let v = 0; v < n; v++) totalWork += d.duration[v]!;
  let priority: Float64Array | undefined;
  let current: Choice = 'none';
  let home: number | undefined;

  /** Work done, the remaining critical path and the longest remaining work, from the state now. */
  const measure = (state: RuntimeState | undefined) => {
    const now = state?.nowSeconds ?? 0;
    const finished = new Map(state?.done.map((x) => [d.indexOf.get(x.subTaskId)!, x.finishedAt]) ?? []);
    const running = new Map(state?.running.map((x) => [d.indexOf.get(x.subTaskId)!, x.expectedFinish]) ?? []);
    const saved = new Float64Array(n);
    for (const [id, s] of Object.entries(state?.progress ?? {})) saved[d.indexOf.get(id)!] = s;
    let done = 0;
    let remaining = 0;
    let longest = 0;
    const end = new Float64Array(n); // seconds from now until each sub-task's output is ready
    for (let k = 0; k < n; k++) {
      const v = d.topo[k]!;
      if (finished.has(v)) {
        done += d.duration[v]!;
        continue;
      }
      done += saved[v]!;
      const work = d.duration[v]! - saved[v]!;
      longest = Math.max(longest, work);
      const run = running.get(v);
      if (run !== undefined) end[v] = Math.max(0, run - now);
      else {
        let start = 0;
        for (let i = d.predStart[v]!; i < d.predStart[v + 1]!; i++)
          start = Math.max(start, end[d.pred[i]!]! + d.predBytes[i]! / fleet.bandwidth.region);
        end[v] = start + (saved[v]! > 0 ? fleet.restartSeconds : 0) + work;
      }
      remaining = Math.max(remaining, end[v]!);
    }
    return { now, done, remaining, longest };
  };

  /** The work one interruption can lose on `pool`, plus boot and restart: the model's d. */
  const overhead = (pool: number | undefined, longest: number) => {
    let lost = 0;
    if (pool !== undefined) {
      const tau = checkpointInterval(
        longest,
        options.checkpointForecast.hazardPerHour(pool),
        fleet.checkpointSeconds,
      );
      lost = tau > 0 ? tau + fleet.checkpointSeconds : longest;
    }
    return fleet.bootSeconds + fleet.restartSeconds + lost;
  };

  const decide = (state: RuntimeState | undefined): Choice => {
    const { now, done, remaining, longest } = measure(state);
    const candidates = byCurrentPrice(env, now);
    const withCapacity = candidates.filter((i) => market.available(i, now));
    if (home === undefined || !withCapacity.includes(home)) home = withCapacity[0] ?? candidates[0];
    const choice =
      home === undefined
        ? 'on-demand'
        : uniformProgressChoice({
            t: now,
            gapSeconds: tick,
            deadlineSeconds: deadline,
            totalWork,
            done,
            remaining,
            overheadSeconds: overhead(home, longest),
            current,
            spotAvailable: withCapacity.length > 0,
            pastRestart: false, // the choice is for work that has not started
          });
    return choice;
  };

  const schedule = (choice: Choice, state: RuntimeState, previous?: SpotdagSchedule) => {
    const spot = choice !== 'on-demand';
    return reallocate(
      d,
      forecast,
      fleet,
      prefs,
      { ...state, instances: state.instances.filter((i) => (i.market === 'spot') === spot), full: true },
      previous,
      {
        order: 'heft',
        scoring: 'eft',
        priority,
        arrays: d,
        newOptions: spot ? withFallback(env, home) : cheapestOnDemand(env),
      },
    );
  };

  return {
    name: 'uniform-progress',
    onNoCapacity: 'wait',
    replanEverySeconds: tick,
    plan() {
      clock.now = 0;
      priority = rankSubTasks(d, forecast, fleet, prefs, 'heft');
      current = decide(undefined);
      return schedule(current, { nowSeconds: 0, done: [], running: [], instances: [] });
    },
    replan(state, event, previous) {
      clock.now = state.nowSeconds;
      const before = { current, home };
      current = decide(state);
      // Nothing new at this tick: the plan in force stays (see SimPolicy.replan).
      const unchanged = current === before.current && home === before.home;
      if (event.reason === 'periodic' && unchanged && !state.displaced?.length) return previous;
      return schedule(current, state, previous);
    },
  };
}

/**
 * The analytic lower bound on the cost of any run that ends by `horizonSeconds` (for the deadline:
 * of any schedule meeting it): Σ over sub-tasks of cores × duration, at the lowest price per vCPU
 * of any pool, spot or on-demand, in force at any instant of [0, horizon).
 *
 * Proof: an instance's bill over any interval is at least its price per vCPU × the cores its
 * running sub-tasks use (they never use more than its vCPUs); every sub-task runs for at least its
 * duration in total over its attempts (work only advances while it runs); boots, idle time,
 * checkpoints and lost work only add. So the bill is at least Σ cores × duration × the lowest
 * price per vCPU paid at any instant before the run ends.
 */
export function lowerBoundCost(env: PolicyEnv, horizonSeconds: number): number {
  let best = Infinity;
  env.market.pools.forEach((p, i) => {
    const price = Math.min(env.market.minPrice(i, 0, horizonSeconds), p.option.onDemandPricePerHour);
    best = Math.min(best, price / p.option.vcpu);
  });
  let coreSeconds = 0;
  for (let v = 0; v < env.d.ids.length; v++) coreSeconds += env.d.duration[v]! * env.d.cpu[v]!;
  return (coreSeconds / 3600) * best;
}
