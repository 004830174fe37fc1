/**
 * spotdag's predictive allocator: modified PageRank on the reversed DAG, then list scheduling in
 * rank order with the cost / time / risk score of scheduler.ts. `reallocate` re-plans the rest of a
 * running job after an interruption or a refused launch.
 */
import type { TaskDag } from '../dag';
import { BudgetExceededError } from './errors';
import { preferencesSchema, type Preferences, type PreferencesInput } from './preferences';
import { dagArrays, priorities, type DagArrays, type RankMix } from './rank';
import { listSchedule, preselectOptions, type NewInstanceOption, type Scoring } from './scheduler';
import {
  resolveFleet,
  type AllocationFleet,
  type AllocationForecast,
  type RankOrder,
  type RuntimeState,
  type SpotdagSchedule,
} from './types';

export interface AllocateOptions {
  /** Order of ready sub-tasks (default 'pagerank'; 'heft' and 'topological' are ablations). */
  order?: RankOrder;
  /** The PageRank order's mix (default DEFAULT_RANK_MIX). */
  rankMix?: Partial<RankMix>;
  /** Placement score (default 'spotdag'; baselines use 'eft' or 'cost'). */
  scoring?: Scoring;
  /** Restrict new instances to these (pool, market) options (baselines). */
  newOptions?: NewInstanceOption[] | ((now: number, penalised: Set<number>) => NewInstanceOption[]);
  /** Priorities from an earlier call (`rankSubTasks`), to skip recomputing them on every re-plan. */
  priority?: Float64Array;
  /** The DAG's array view from an earlier call. */
  arrays?: DagArrays;
  /**
   * Share of the deadline kept in reserve for what the plan does not model exactly (dispatch
   * order, launch timing, transfer contention): the plan aims at deadline·(1 − f) − restart.
   * Default 0.03.
   */
  deadlineReserve?: number;
  /** Sub-tasks (ids) that must run on on-demand capacity (the controller's deadline safety net). */
  onDemandSubTasks?: Iterable<string>;
  /** The controller's safety net guards the deadline (see `SchedulerInput.guarded`). */
  guarded?: boolean;
  /** Spot pools without capacity now may be waited for (see `SchedulerInput.waitForSpot`). */
  waitForSpot?: { maxSeconds: number };
}

function asArrays(dag: TaskDag | DagArrays): DagArrays {
  return 'topo' in dag && dag.topo instanceof Int32Array ? (dag as DagArrays) : dagArrays(dag as TaskDag);
}

function parsePreferences(preferences: PreferencesInput | Preferences): Preferences {
  return preferencesSchema.parse(preferences);
}

/**
 * Priorities in [0, 1] by the chosen order. PageRank inputs: each sub-task's predicted cost and
 * interruption probability on the median pre-selected spot pool, its duration and its edges' bytes.
 */
export function rankSubTasks(
  dag: TaskDag | DagArrays,
  forecast: AllocationForecast,
  fleetInput: AllocationFleet = {},
  preferencesInput: PreferencesInput | Preferences = {},
  order: RankOrder = 'pagerank',
  now = 0,
  mix?: Partial<RankMix>,
): Float64Array {
  const d = asArrays(dag);
  const fleet = resolveFleet(fleetInput);
  const preferences = parsePreferences(preferencesInput);
  const spot = preselectOptions(forecast, fleet, preferences, now).filter((o) => o.market === 'spot');
  const pick = <T>(xs: T[], fallback: T) =>
    xs.length ? [...xs].sort()[Math.floor(xs.length / 2)]! : fallback;
  const perVcpuHour = pick(
    spot.map((o) => forecast.spotPrice(o.pool, now, now + 3600) / forecast.pools[o.pool]!.vcpu),
    0.02,
  );
  const hazard = pick(
    spot.map((o) => forecast.hazardPerHour(o.pool)),
    0.1,
  );
  const n = d.ids.length;
  const cost = new Float64Array(n);
  const risk = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    cost[v] = (d.duration[v]! * Math.max(1, d.cpu[v]!) * perVcpuHour) / 3600;
    risk[v] = 1 - Math.exp((-hazard * d.duration[v]!) / 3600);
  }
  return priorities(d, order, {
    cost,
    seconds: d.duration,
    risk,
    bytesPerSecond: fleet.bandwidth.region,
    ...(mix ? { mix } : {}),
  });
}

/**
 * Plans a whole job: which instances to buy (pool, spot or on-demand, MaxPrice), which sub-task
 * runs where and when, the transfers between instances, the predicted cost and makespan.
 * @throws NoCapacityError when a sub-task fits no pool; BudgetExceededError when even the
 *   cost-minimising plan costs more than `preferences.budget`.
 */
export function allocate(
  dag: TaskDag | DagArrays,
  forecast: AllocationForecast,
  fleet: AllocationFleet = {},
  preferences: PreferencesInput | Preferences = {},
  options: AllocateOptions = {},
): SpotdagSchedule {
  return reallocate(
    dag,
    forecast,
    fleet,
    preferences,
    { nowSeconds: 0, done: [], running: [], instances: [], full: true },
    undefined,
    options,
  );
}

/**
 * Re-plans the rest of a running job. Done sub-tasks stay done, running ones stay where they run;
 * by default only the `displaced` sub-tasks (and those whose instance is gone) move, the others
 * keep their instances with re-computed times — fast enough to run on every interruption. When the
 * deadline is then at risk (or `state.full`), everything that has not started is re-planned.
 * Pools in `penalisedPools` get no new spot instances in this plan.
 */
export function reallocate(
  dag: TaskDag | DagArrays,
  forecast: AllocationForecast,
  fleetInput: AllocationFleet,
  preferencesInput: PreferencesInput | Preferences,
  state: RuntimeState,
  previous?: SpotdagSchedule,
  options: AllocateOptions = {},
): SpotdagSchedule {
  const d = options.arrays ?? asArrays(dag);
  const fleet = resolveFleet(fleetInput);
  const preferences = parsePreferences(preferencesInput);
  const order = options.order ?? 'pagerank';
  const now = state.nowSeconds;
  const priority =
    options.priority ?? rankSubTasks(d, forecast, fleet, preferences, order, now, options.rankMix);
  const index = (id: string) => {
    const v = d.indexOf.get(id);
    if (v === undefined) throw new Error(`unknown sub-task ${id}`);
    return v;
  };
  const doneAt = new Map(
    state.done.map((x) => [index(x.subTaskId), { at: x.finishedAt, instance: x.instanceId }]),
  );
  const running = new Map(
    state.running.map((x) => [index(x.subTaskId), { finish: x.expectedFinish, instance: x.instanceId }]),
  );
  const progress = new Map<number, number>();
  for (const [id, s] of Object.entries(state.progress ?? {})) progress.set(index(id), s);
  const poolIndex = new Map(forecast.pools.map((p, i) => [p.key, i]));
  const penalised = new Set<number>();
  for (const key of state.penalisedPools ?? []) {
    const i = poolIndex.get(key);
    if (i !== undefined) penalised.add(i);
  }
  let nextInstanceId = state.nextInstanceId ?? 0;
  for (const inst of [...state.instances, ...(previous?.instances ?? [])]) {
    const m = /^i(\d+)$/.exec(inst.id);
    if (m) nextInstanceId = Math.max(nextInstanceId, Number(m[1]) + 1);
  }
  const newOptions =
    typeof options.newOptions === 'function' ? options.newOptions(now, penalised) : options.newOptions;
  const onDemand = new Set<number>();
  for (const id of options.onDemandSubTasks ?? []) {
    const v = d.indexOf.get(id);
    if (v !== undefined) onDemand.add(v);
  }

  const reserve = options.deadlineReserve ?? 0.03;
  const target = (prefs: Preferences): Preferences =>
    prefs.deadline === undefined
      ? prefs
      : { ...prefs, deadline: prefs.deadline * (1 - reserve) - fleet.restartSeconds };
  const run = (full: boolean, userPrefs: Preferences) => {
    const prefs = target(userPrefs);
    const forced = new Map<number, string>();
    if (!full && previous) {
      const alive = new Set(state.instances.map((i) => i.id));
      const displaced = new Set(state.displaced ?? []);
      for (const p of previous.placements) {
        const v = d.indexOf.get(p.subTaskId);
        if (v === undefined || doneAt.has(v) || running.has(v) || displaced.has(p.subTaskId)) continue;
        if (alive.has(p.instanceId)) forced.set(v, p.instanceId);
      }
    }
    const schedule = listSchedule({
      d,
      forecast,
      fleet,
      preferences: prefs,
      priority,
      order,
      scoring: options.scoring ?? 'spotdag',
      now,
      doneAt,
      running,
      progress,
      existing: state.instances,
      forced,
      newOptions,
      penalised,
      nextInstanceId,
      onDemand,
      guarded: options.guarded,
      waitForSpot: options.waitForSpot,
    });
    schedule.deadlineSeconds = userPrefs.deadline;
    return schedule;
  };

  const full = state.full === true || !previous;
  let schedule = run(full, preferences);
  if (
    !full &&
    preferences.deadline !== undefined &&
    schedule.predictedMakespanSeconds > target(preferences).deadline! &&
    (options.scoring ?? 'spotdag') === 'spotdag'
  ) {
    schedule = run(true, preferences);
  }
  const spent = state.spentUsd ?? 0;
  if (preferences.budget !== undefined && spent + schedule.predictedCostUsd > preferences.budget) {
    if (preferences.objective !== 'minimize-cost') {
      const cheaper = run(true, { ...preferences, objective: 'minimize-cost' });
      if (spent + cheaper.predictedCostUsd <= preferences.budget) return cheaper;
    }
    throw new BudgetExceededError(preferences.budget, spent + schedule.predictedCostUsd);
  }
  return schedule;
}
