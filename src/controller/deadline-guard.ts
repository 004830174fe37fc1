/**
 * The deadline safety net. At every call it asks: if everything not done ran on on-demand from now
 * on, when would the job finish? Running spot work is counted pessimistically, as if it were
 * interrupted now and resumed on on-demand from its last checkpoint, after a boot and a restart.
 * The slack is the deadline minus that finish. That estimate already pays for an interruption
 * now; until the next decision it can only grow by the time that passes without a checkpoint (at
 * most a tick) and a notice that comes just after this call, and the estimate itself is off by
 * about 1 % of the time it covers. When the slack falls below that margin (tick + notice + one
 * checkpoint's cost + 3 % of the remaining on-demand time), the work on the critical path moves to on-demand
 * (and running spot work without checkpoints restarts there). It moves back to spot only when the
 * slack is three margins again: hysteresis, so the net does not flap.
 *
 * Invariant it keeps: a job whose on-demand plan fits the deadline with a margin to spare at
 * submission meets it whatever the trace does, up to errors in the sub-tasks' duration estimates.
 */
import type { Preferences } from '../allocate/preferences';
import type { DagArrays } from '../allocate/rank';
import { listSchedule, type NewInstanceOption } from '../allocate/scheduler';
import type { AllocationForecast, ResolvedFleet, SpotdagInstancePlan } from '../allocate/types';
import type { ControllerMemory, ControllerState, GuardReading } from './types';

export type GuardFleet = ResolvedFleet;

/** Share of the remaining on-demand time kept for the estimate's own error (the allocator's reserve). */
export const ESTIMATE_ERROR = 0.03;

export interface GuardInput {
  d: DagArrays;
  forecast: AllocationForecast;
  fleet: GuardFleet;
  preferences: Preferences;
  state: ControllerState;
  priority: Float64Array;
  memory: ControllerMemory;
  /** Time until the controller is called again at the latest (its tick). */
  tickSeconds: number;
  /** Checkpoint interval (seconds of work) of each running spot sub-task, by id. */
  checkpointInterval: (subTaskId: string) => number;
  /** Wall seconds per declared second the remaining work is expected to take (paceFactor; default 1). */
  pace?: number;
  /** The margin × this (≥ 1; src/controller/tuning.ts). Default 1. */
  marginScale?: number;
  /** Released once the slack is this many margins (≥ 1.5). Default 3. */
  releaseMargins?: number;
}

/** The cheapest on-demand pool per instance shape. */
export function onDemandOptions(forecast: AllocationForecast): NewInstanceOption[] {
  const best = new Map<string, number>();
  forecast.pools.forEach((p, i) => {
    const shape = `${p.vcpu}/${p.memoryMiB}`;
    const b = best.get(shape);
    if (b === undefined || p.onDemandPricePerHour < forecast.pools[b]!.onDemandPricePerHour)
      best.set(shape, i);
  });
  return [...best.values()].sort((a, b) => a - b).map((pool) => ({ pool, market: 'on-demand' as const }));
}

/** Latest finish of every node so that the sink finishes by `deadline` (work and transfers on the way). */
function latestFinish(
  d: DagArrays,
  deadline: number,
  work: (v: number) => number,
  bps: number,
): Float64Array {
  const n = d.ids.length;
  const latest = new Float64Array(n).fill(Infinity);
  for (let k = n - 1; k >= 0; k--) {
    const v = d.topo[k]!;
    let lf = deadline;
    for (let i = d.succStart[v]!; i < d.succStart[v + 1]!; i++) {
      const s = d.succ[i]!;
      lf = Math.min(lf, latest[s]! - work(s) - d.succBytes[i]! / bps);
    }
    latest[v] = lf;
  }
  return latest;
}

/** The DAG with every duration stretched by `pace`. */
function atPace(d: DagArrays, pace: number): DagArrays {
  return pace === 1 ? d : { ...d, duration: d.duration.map((x) => x * pace) };
}

export function readGuard(input: GuardInput): GuardReading {
  const { forecast, fleet, preferences, state, memory } = input;
  const pace = input.pace ?? 1;
  const d = atPace(input.d, pace);
  const now = state.nowSeconds;
  const deadline = preferences.deadline;
  const index = (id: string) => d.indexOf.get(id);
  const spotInstances = new Set(state.instances.filter((i) => i.market === 'spot').map((i) => i.id));

  // Running spot work is assumed lost to an interruption now: it resumes from its checkpoint.
  const progress = new Map<number, number>();
  for (const [id, s] of Object.entries(state.progress ?? {})) {
    const v = index(id);
    if (v !== undefined) progress.set(v, s * pace);
  }
  const running = new Map<number, { finish: number; instance: string }>();
  for (const r of state.running) {
    const v = index(r.subTaskId);
    if (v === undefined) continue;
    const saved = (r.checkpointedSeconds ?? 0) * pace;
    if (spotInstances.has(r.instanceId)) progress.set(v, saved);
    else running.set(v, { finish: paceFinish(r, d.duration[v]! - saved), instance: r.instanceId });
  }
  const doneAt = new Map<number, { at: number; instance: string }>();
  for (const x of state.done) {
    const v = index(x.subTaskId);
    if (v !== undefined) doneAt.set(v, { at: x.finishedAt, instance: x.instanceId });
  }
  const existing: SpotdagInstancePlan[] = state.instances.filter((i) => i.market === 'on-demand');
  const plan = listSchedule({
    d,
    forecast,
    fleet,
    preferences: { ...preferences, deadline: undefined, budget: undefined, objective: 'minimize-time' },
    priority: input.priority,
    order: 'heft',
    scoring: 'eft',
    now,
    doneAt,
    running,
    progress,
    existing,
    newOptions: onDemandOptions(forecast),
    nextInstanceId: 1e6, // ids of this what-if plan are never used
  });
  const onDemandFinish = plan.predictedMakespanSeconds;
  // The estimate already pays a boot, a restart and the work since the last checkpoint of every
  // running spot sub-task; until the next decision it can grow by a tick without a checkpoint,
  // and a notice can come just after this one. And the estimate is a list schedule: how the rest
  // really runs (instances taking their queues, transfers) differs from it by about 1 % of the
  // time it covers (docs/allocation.md), so a share of that time is kept too.
  const marginSeconds =
    Math.max(1, input.marginScale ?? 1) *
    (input.tickSeconds +
      fleet.noticeSeconds +
      fleet.checkpointSeconds +
      ESTIMATE_ERROR * Math.max(0, onDemandFinish - now));
  if (deadline === undefined) {
    return {
      onDemandFinish,
      slackSeconds: Infinity,
      marginSeconds,
      pace,
      onDemandMode: false,
      onDemandSubTasks: [],
      stopRunning: [],
    };
  }
  const slackSeconds = deadline - onDemandFinish;
  const release =
    Math.max(1.5, input.releaseMargins ?? 3) * Math.max(marginSeconds, memory.engagedMarginSeconds ?? 0);
  const onDemandMode = memory.onDemandMode ? slackSeconds < release : slackSeconds < marginSeconds;
  const onDemandSubTasks: string[] = [];
  const stopRunning: string[] = [];
  if (onDemandMode) {
    // Tight work: its on-demand finish leaves less than three margins before its latest finish.
    const work = (v: number) => Math.max(0, d.duration[v]! - (progress.get(v) ?? 0));
    const latest = latestFinish(d, deadline, work, fleet.bandwidth.region);
    const finish = new Map(plan.placements.map((p) => [p.subTaskId, p.finish]));
    for (const [id, f] of finish) {
      const v = index(id)!;
      if (latest[v]! - f < 3 * marginSeconds) onDemandSubTasks.push(id);
    }
    const tight = new Set(onDemandSubTasks);
    for (const r of state.running)
      if (
        tight.has(r.subTaskId) &&
        spotInstances.has(r.instanceId) &&
        !(input.checkpointInterval(r.subTaskId) > 0)
      )
        stopRunning.push(r.subTaskId);
  }
  return { onDemandFinish, slackSeconds, marginSeconds, pace, onDemandMode, onDemandSubTasks, stopRunning };
}

/**
 * When running on-demand work ends if its remaining `work` (at the pace) runs from its last
 * checkpoint or its start, whichever is later; never before its driver's own expectation.
 */
function paceFinish(r: ControllerState['running'][number], work: number): number {
  const from = Math.max(r.checkpointedAt ?? -Infinity, r.startedAt ?? -Infinity);
  return Number.isFinite(from) ? Math.max(r.expectedFinish, from + work) : r.expectedFinish;
}
