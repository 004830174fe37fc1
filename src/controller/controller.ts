/**
 * The runtime controller: one policy for a running job, driven by the simulator (src/sim) and by
 * the job workflow (through the `decide` activity) alike.
 *
 *   decide(dag, state, event, memory) → decision
 *
 * is called at the start, on every event (sub-task done, instance lost, spot notice, launch
 * refused) and on a periodic tick. Each call runs the same steps, each a method below:
 *
 *   learn      feed observed exposure, interruptions and refusals to the interruption model
 *   penalise   no new spot in pools that just interrupted or refused, for a while
 *   resplit    cut long work to the expected time between interruptions, or to fill idle slots
 *   guard      the deadline safety net: tight work to on-demand, back to spot with hysteresis
 *   replan     re-plan the remaining DAG at the real elapsed time (PageRank order, cost/time/risk)
 *   schedule   when to be called again
 *
 * The controller is pure: it reads its inputs, mutates only the DAG it is given (re-splits, which
 * it also returns so that its driver can apply the same cuts to its own copy) and the forecast's
 * interruption model (learning; its driver persists it), and returns everything else.
 */
import { rankSubTasks, reallocate } from '../allocate/allocate';
import type { Preferences } from '../allocate/preferences';
import { dagArrays, type DagArrays, type RankMix } from '../allocate/rank';
import { checkpointInterval } from '../allocate/scheduler';
import type { AllocationForecast, RankOrder, RuntimeState, SpotdagSchedule } from '../allocate/types';
import { splitSubTask, type TaskDag } from '../dag';
import { pushAll } from '../util/array';
import { readGuard, type GuardFleet } from './deadline-guard';
import { cutsOfPending, cutsOfRunning, type GranularityInput } from './granularity';
import { learnFrom, penalise } from './learning';
import { observePace, paceFactor } from './pace';
import { resolveTuning, type ControllerTuning } from './tuning';
import type {
  ControllerEvent,
  ControllerMemory,
  ControllerState,
  Decision,
  GuardReading,
  Resplit,
} from './types';

export interface ControllerFleet extends GuardFleet {
  /** Engine overhead of one sub-task (seconds; `spotdag bench engine`): the floor of re-splitting. */
  engineOverheadSeconds: number;
  /** The shortest period between two ticks (job seconds). */
  minTickSeconds: number;
  /** How long a pool that interrupted or refused gets no new spot instances (job seconds). */
  penaltySeconds: number;
}

export interface ControllerOptions {
  /** Ready sub-tasks' order in the list scheduler (default PageRank). */
  order?: RankOrder;
  /** The PageRank order's edge-weight mix, teleport and damping (default DEFAULT_RANK_MIX). */
  rankMix?: Partial<RankMix>;
  /** Cut long work at runtime (default true). */
  resplit?: boolean;
  /**
   * Re-plan everything not running on every call (`full`, default), or only the sub-tasks an event
   * displaced, unless the deadline is at risk (`displaced`).
   */
  replan?: 'full' | 'displaced';
  /**
   * Spot placements must meet their latest finish only in expectation, leaving interruptions to
   * the safety net (true), or even after one interruption at the worst moment (false, default).
   */
  guardedPlacements?: boolean;
  /**
   * The deadline safety net (default true). Off only to measure what it saves (`bench twin`): the
   * re-plan alone then keeps the deadline.
   */
  safetyNet?: boolean;
  /** Thresholds a learned policy tunes (src/controller/tuning.ts; default the hand-set ones). */
  tuning?: Partial<ControllerTuning>;
}

export interface ControllerSetup {
  forecast: AllocationForecast;
  fleet: ControllerFleet;
  preferences: Preferences;
  options?: ControllerOptions;
}

/** Engine overhead per sub-task measured by `spotdag bench engine` (docs/architecture.md): ~65 ms. */
export const DEFAULT_ENGINE_OVERHEAD_SECONDS = 0.065;

/** Periodic decisions: every 1/100 of the deadline, at most every 5 minutes, at least `minTick`. */
export function tickSeconds(preferences: Preferences, fleet: ControllerFleet): number {
  const base = preferences.deadline === undefined ? 300 : Math.min(300, preferences.deadline / 100);
  return Math.max(fleet.minTickSeconds, base);
}

export class Controller {
  private readonly order: RankOrder;
  private readonly tuning: ControllerTuning;

  constructor(private readonly setup: ControllerSetup) {
    this.order = setup.options?.order ?? 'pagerank';
    this.tuning = resolveTuning(setup.options?.tuning);
  }

  get forecast(): AllocationForecast {
    return this.setup.forecast;
  }

  decide(
    dag: TaskDag,
    state: ControllerState,
    event: ControllerEvent,
    memory: ControllerMemory,
    previous?: SpotdagSchedule,
  ): Decision {
    const now = state.nowSeconds;
    const mem: ControllerMemory = structuredClone(memory);
    mem.calls++;
    const notes: string[] = [];
    this.learn(event, now);
    observePace(mem, state);
    const penaltySeconds = this.tuning.penaltySeconds ?? this.setup.fleet.penaltySeconds;
    const penalised = penalise(mem, event, now, penaltySeconds, this.tick);
    let d = dagArrays(dag);
    // Cuts of running work (risk rose, idle slots) come first: the plan then places their pieces.
    const resplits = this.resplit(dag, d, state, mem, previous, notes, cutsOfRunning);
    if (resplits.length > 0) d = dagArrays(dag);
    let before = stopped(
      dag,
      state,
      resplits.filter((r) => r.running).map((r) => r.subTaskId),
      resplits,
    );
    let { guard, current, schedule } = this.plan(d, before, mem, notes, penalised, event, previous);
    // Pending work the new plan puts on risky spot: cut it, and plan the pieces.
    const pending = this.resplit(dag, d, current, mem, schedule, notes, cutsOfPending);
    // One the safety net stopped was running: it is a running cut (its driver stops it first).
    const wasRunning = new Set(state.running.map((r) => r.subTaskId));
    for (const r of pending) if (wasRunning.has(r.subTaskId)) r.running = true;
    if (pending.length > 0) {
      d = dagArrays(dag);
      before = stopped(dag, before, [], pending);
      ({ guard, current, schedule } = this.plan(d, before, mem, notes, penalised, event, previous));
      pushAll(resplits, pending);
    }
    this.remember(current, mem);
    return {
      schedule,
      resplits,
      stopRunning: [
        ...new Set([...resplits.filter((r) => r.running).map((r) => r.subTaskId), ...guard.stopRunning]),
      ],
      guard,
      memory: mem,
      nextTickAt: this.nextTick(schedule, now),
      notes,
    };
  }

  /** Observed exposure, interruptions and refusals update the interruption model. */
  private learn(event: ControllerEvent, now: number): void {
    learnFrom(this.setup.forecast, event, now);
  }

  /**
   * The safety net's reading and the remaining DAG re-planned under it, with running on-demand
   * work moved back to spot when the job is ahead (and only if the plan does put it on spot).
   */
  private plan(
    d: DagArrays,
    state: ControllerState,
    memory: ControllerMemory,
    notes: string[],
    penalised: string[],
    event: ControllerEvent,
    previous: SpotdagSchedule | undefined,
  ): { guard: GuardReading; current: ControllerState; schedule: SpotdagSchedule } {
    const now = state.nowSeconds;
    const { forecast, fleet, preferences } = this.setup;
    const priority = rankSubTasks(
      d,
      forecast,
      fleet,
      preferences,
      this.order,
      now,
      this.setup.options?.rankMix,
    );
    const guard = this.guard(d, state, priority, memory, notes);
    const toSpot = this.backToSpot(d, state, guard);
    guard.stopRunning = [...guard.stopRunning, ...toSpot];
    let current = stopped(d, state, guard.stopRunning, []);
    let schedule = this.replan(d, current, priority, penalised, guard, event, previous);
    // Work taken off on-demand that the plan would not put on spot keeps running where it is.
    const spot = new Set(schedule.instances.filter((i) => i.market === 'spot').map((i) => i.id));
    const moved = new Set(schedule.placements.filter((p) => spot.has(p.instanceId)).map((p) => p.subTaskId));
    const stay = toSpot.filter((id) => !moved.has(id));
    if (stay.length > 0) {
      guard.stopRunning = guard.stopRunning.filter((id) => !stay.includes(id));
      current = stopped(d, state, guard.stopRunning, []);
      schedule = this.replan(d, current, priority, penalised, guard, event, previous);
    }
    if (toSpot.length > stay.length)
      notes.push(`back to spot: ${toSpot.length - stay.length} sub-task(s) leave on-demand (ahead of pace)`);
    return { guard, current, schedule };
  }

  /** Cuts chosen by a granularity rule, applied to `dag` in place. */
  private resplit(
    dag: TaskDag,
    d: DagArrays,
    state: ControllerState,
    memory: ControllerMemory,
    plan: SpotdagSchedule | undefined,
    notes: string[],
    rule: (input: GranularityInput) => Resplit[],
  ): Resplit[] {
    if (this.setup.options?.resplit === false) return [];
    const instances = new Map(state.instances.map((i) => [i.id, i]));
    for (const i of plan?.instances ?? []) if (!instances.has(i.id)) instances.set(i.id, i);
    const chosen = rule({
      dag,
      d,
      forecast: this.setup.forecast,
      state,
      plan,
      memory,
      poolOf: (id) => instances.get(id)?.pool,
      marketOf: (id) => instances.get(id)?.market,
      idleSlots: idleSlots(state, plan),
      options: {
        minPieceSeconds: 100 * this.setup.fleet.engineOverheadSeconds,
        cooldownSeconds: 4 * tickSeconds(this.setup.preferences, this.setup.fleet),
      },
    });
    for (const r of chosen) {
      splitSubTask(dag, r.subTaskId, { parts: r.parts, remainder: r.remainder, updatePriorities: false });
      memory.resplitAt[r.subTaskId] = state.nowSeconds;
      notes.push(
        `re-split ${r.subTaskId}${r.running ? ' (running)' : ''} into ${r.parts} pieces` +
          `${r.remainder ? ` from ${r.remainder.start}` : ''}: ${r.reason}`,
      );
    }
    return chosen;
  }

  /** What moving work costs in time: a boot and a restart. */
  private get restartSeconds(): number {
    return this.setup.fleet.bootSeconds + this.setup.fleet.restartSeconds;
  }

  private get tick(): number {
    return tickSeconds(this.setup.preferences, this.setup.fleet);
  }

  private guard(
    d: DagArrays,
    state: ControllerState,
    priority: Float64Array,
    memory: ControllerMemory,
    notes: string[],
  ): GuardReading {
    const reading = readGuard({
      d,
      forecast: this.setup.forecast,
      fleet: this.setup.fleet,
      preferences: this.setup.preferences,
      state,
      priority,
      memory,
      tickSeconds: this.tick,
      checkpointInterval: (id) => this.checkpointIntervalOf(state, d, id),
      pace: paceFactor(memory),
      marginScale: this.tuning.guardMarginScale,
      releaseMargins: this.tuning.releaseMargins,
    });
    if (this.setup.options?.safetyNet === false)
      Object.assign(reading, { onDemandMode: false, onDemandSubTasks: [], stopRunning: [] });
    if (reading.onDemandMode !== memory.onDemandMode) {
      memory.onDemandMode = reading.onDemandMode;
      memory.modeChangedAt = state.nowSeconds;
      memory.engagedMarginSeconds = reading.onDemandMode ? reading.marginSeconds : undefined;
      const pace = reading.pace > 1 ? ` (work going ${reading.pace.toFixed(2)}× its estimate)` : '';
      notes.push(
        reading.onDemandMode
          ? `deadline safety net engaged: slack ${reading.slackSeconds.toFixed(0)} s < margin ${reading.marginSeconds.toFixed(0)} s${pace}; ${reading.onDemandSubTasks.length} sub-task(s) to on-demand`
          : `back to spot: slack ${reading.slackSeconds.toFixed(0)} s`,
      );
    }
    return reading;
  }

  /**
   * Back to spot, as Uniform Progress returns (Can't Be Late, NSDI'24): with the safety net
   * released, a job ahead of its pace by `backToSpotRestarts` restarts' worth of work (two by
   * default) stops running on-demand work that would lose next to nothing (its driver says how
   * much is unsaved) when a spot pool has capacity now at a lower price; the plan then puts it on
   * spot.
   */
  private backToSpot(d: DagArrays, state: ControllerState, guard: GuardReading): string[] {
    const { forecast, preferences } = this.setup;
    if (guard.onDemandMode || preferences.deadline === undefined) return [];
    const restart = this.restartSeconds;
    const instances = new Map(state.instances.map((i) => [i.id, i]));
    const candidates = state.running.filter(
      (r) =>
        instances.get(r.instanceId)?.market === 'on-demand' &&
        r.unsavedSeconds !== undefined &&
        r.unsavedSeconds <= restart,
    );
    if (candidates.length === 0) return [];
    if (!this.aheadOfPace(d, state, this.tuning.backToSpotRestarts * restart)) return [];
    const now = state.nowSeconds;
    const spotNow = forecast.pools.some(
      (p, i) =>
        forecast.availability(i, now) >= 0.5 &&
        forecast.spotPrice(i, now, now + 3600) < p.onDemandPricePerHour,
    );
    if (!spotNow) return [];
    return candidates.map((r) => r.subTaskId);
  }

  /** A running sub-task's checkpoint interval: as its driver says, else Young's for its pool. */
  private checkpointIntervalOf(state: ControllerState, d: DagArrays, id: string): number {
    const r = state.running.find((x) => x.subTaskId === id);
    if (r?.checkpointIntervalSeconds !== undefined) return r.checkpointIntervalSeconds;
    const inst = state.instances.find((i) => i.id === r?.instanceId);
    const pool = this.setup.forecast.pools.findIndex((p) => p.key === inst?.pool);
    const v = d.indexOf.get(id);
    if (pool < 0 || v === undefined) return 0;
    const hazard = this.setup.forecast.hazardPerHour(pool);
    const fleet = this.setup.fleet;
    return checkpointInterval(
      d.duration[v]!,
      hazard,
      fleet.checkpointSeconds,
      fleet.minCheckpointIntervalSeconds,
    );
  }

  /** The remaining DAG re-planned at the real elapsed time. */
  private replan(
    d: DagArrays,
    state: ControllerState,
    priority: Float64Array,
    penalisedPools: string[],
    guard: GuardReading,
    event: ControllerEvent,
    previous: SpotdagSchedule | undefined,
  ): SpotdagSchedule {
    const full = this.setup.options?.replan !== 'displaced' || event.kind === 'start' || !previous;
    const runtime: RuntimeState = {
      ...state,
      running: state.running.map((r) => ({
        subTaskId: r.subTaskId,
        instanceId: r.instanceId,
        expectedFinish: r.expectedFinish,
      })),
      penalisedPools,
      full,
    };
    return reallocate(d, this.setup.forecast, this.setup.fleet, this.setup.preferences, runtime, previous, {
      order: this.order,
      priority,
      arrays: d,
      onDemandSubTasks: guard.onDemandSubTasks,
      guarded: this.setup.options?.guardedPlacements ?? false,
      // The safety net's margin is the reserve: no second one inside the plan.
      deadlineReserve: 0,
      waitForSpot: {
        maxSeconds: this.aheadOfPace(d, state, this.tuning.waitAheadRestarts * this.restartSeconds)
          ? this.waitLimit(state.nowSeconds)
          : 0,
      },
    });
  }

  /**
   * Uniform Progress's pacing (Can't Be Late, NSDI'24), for DAGs: the job is ahead when its work
   * done and checkpointed is at least the share of the deadline gone times the total work. Only
   * then does it wait for spot capacity to come back; behind, it runs on what is there now.
   */
  private aheadOfPace(d: DagArrays, state: ControllerState, byWorkSeconds = 0): boolean {
    const deadline = this.setup.preferences.deadline;
    if (deadline === undefined) return true;
    let total = 0;
    for (let v = 0; v < d.ids.length; v++) total += d.duration[v]!;
    let progress = 0;
    for (const x of state.done) {
      const v = d.indexOf.get(x.subTaskId);
      if (v !== undefined) progress += d.duration[v]!;
    }
    for (const seconds of Object.values(state.progress ?? {})) progress += seconds;
    for (const r of state.running) progress += r.checkpointedSeconds ?? 0;
    return progress >= ((state.nowSeconds + byWorkSeconds) / deadline) * total;
  }

  /** How long a spot pool without capacity may be waited for: until the deadline, else a day. */
  private waitLimit(now: number): number {
    const deadline = this.setup.preferences.deadline;
    return deadline === undefined ? 86_400 : Math.max(0, deadline - now);
  }

  /** Hazard of each running sub-task's pool when first seen running (the rising-hazard rule). */
  private remember(state: ControllerState, memory: ControllerMemory): void {
    const running = new Set(state.running.map((r) => r.subTaskId));
    for (const id of Object.keys(memory.startHazard)) if (!running.has(id)) delete memory.startHazard[id];
    const pools = new Map(this.setup.forecast.pools.map((p, i) => [p.key, i]));
    const instances = new Map(state.instances.map((i) => [i.id, i]));
    for (const r of state.running) {
      if (memory.startHazard[r.subTaskId] !== undefined) continue;
      const inst = instances.get(r.instanceId);
      const i = inst?.market === 'spot' ? pools.get(inst.pool) : undefined;
      memory.startHazard[r.subTaskId] = i === undefined ? 0 : this.setup.forecast.hazardPerHour(i);
    }
  }

  /** The next periodic decision, or an earlier planned launch. */
  private nextTick(schedule: SpotdagSchedule, now: number): number | undefined {
    const spot = schedule.instances.some((i) => i.market === 'spot');
    let next =
      this.setup.preferences.deadline !== undefined || spot
        ? now + tickSeconds(this.setup.preferences, this.setup.fleet)
        : undefined;
    for (const i of schedule.instances) {
      if (i.launched || !(i.launchAt > now)) continue;
      if (next === undefined || i.launchAt < next) next = i.launchAt;
    }
    return next;
  }
}

/** Free slots on launched instances with nothing running or queued on them in the plan. */
function idleSlots(state: ControllerState, plan: SpotdagSchedule | undefined): number {
  const busy = new Map<string, number>();
  for (const r of state.running) busy.set(r.instanceId, (busy.get(r.instanceId) ?? 0) + 1);
  for (const p of plan?.placements ?? []) busy.set(p.instanceId, (busy.get(p.instanceId) ?? 0) + 1);
  let idle = 0;
  for (const i of state.instances) {
    if (!i.launched) continue;
    idle += Math.max(0, i.slots - (busy.get(i.id) ?? 0));
  }
  return idle;
}

/**
 * The state once `stop` stop at their last checkpoint (their drivers restart them where the plan
 * says, from it) and `resplits` are cut: a cut sub-task's progress is at most its new duration.
 */
function stopped(
  dag: TaskDag | DagArrays,
  state: ControllerState,
  stop: string[],
  resplits: Resplit[],
): ControllerState {
  if (stop.length === 0 && resplits.length === 0) return state;
  const ids = new Set(stop);
  const progress = { ...state.progress };
  for (const r of state.running) {
    if (ids.has(r.subTaskId) && (r.checkpointedSeconds ?? 0) > 0)
      progress[r.subTaskId] = r.checkpointedSeconds!;
  }
  for (const r of resplits) {
    const duration =
      'getNodeAttribute' in dag
        ? dag.getNodeAttribute(r.subTaskId, 'durationSeconds')
        : dag.duration[dag.indexOf.get(r.subTaskId)!]!;
    if (r.remainder) progress[r.subTaskId] = Math.min(progress[r.subTaskId] ?? 0, duration);
    else delete progress[r.subTaskId];
  }
  return {
    ...state,
    running: state.running.filter((r) => !ids.has(r.subTaskId)),
    progress,
    displaced: [...(state.displaced ?? []), ...ids],
  };
}
