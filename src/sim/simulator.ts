/**
 * Discrete-event simulator of one job on a simulated market (market.ts). It executes the schedules
 * that a policy returns (the production allocator, or a baseline built from the same list
 * scheduler) and calls the policy back to re-plan on interruptions, refused launches and, if the
 * policy asks, periodically.
 *
 * Model:
 * - An instance is requested at its plan's `launchAt`, but not before its first sub-tasks are about
 *   to be ready (just in time); it boots for `bootSeconds` (billed) and is billed per second, at the
 *   on-demand price or at the actual spot price of each second, until released or interrupted.
 * - A spot request needs capacity (the trace's tick is 0) and a price ≤ its MaxPrice. Without them
 *   it is refused (policy `onNoCapacity: 'replan'`) or waits as a persistent request ('wait').
 * - A running spot instance is interrupted at the first tick without capacity or the first price
 *   step above its MaxPrice; the notice comes 2 minutes before. At the notice the instance stops
 *   taking work; sub-tasks that would not finish before the interruption stop at once and keep only
 *   the work saved by their last checkpoint (conservatively, no final checkpoint is assumed, unless
 *   `finalCheckpointOnNotice`: then all their work done so far).
 * - Checkpoints are the simulator's, the same for every policy: a sub-task on a spot instance
 *   checkpoints every τ seconds of work, τ = Young's interval √(2·C/λ) (`checkpointInterval`, the
 *   rule spotdag's allocator plans with) for the pool's hazard λ in `checkpointForecast` and its
 *   remaining work; each checkpoint costs C = `checkpointSeconds`; resuming from a checkpoint costs
 *   `restartSeconds`. On-demand instances are not interrupted and do not checkpoint. The τ a plan
 *   places a sub-task with is not used: a policy cannot opt out of (or into better) checkpoints.
 * - A sub-task starts on its instance when all its dependencies are done and their outputs have
 *   arrived (bytes / bandwidth between the zones, 0 on the same instance), and cores and memory fit.
 *   Instances take their queue in plan order; a sub-task may overtake earlier ones that cannot start
 *   yet only in the cores and memory left after reserving theirs.
 * - An instance with nothing queued or running is released.
 *
 * Invariants (checked during and after each run; a violation throws SimulationInvariantError):
 * every sub-task completes exactly once; no sub-task starts before its dependencies finished;
 * cores and memory of an instance are never exceeded; the billed cost equals Σ instance time ×
 * price, recomputed independently; no spot instance pays more than its MaxPrice or than
 * `maxSpotPrice`; the total cost stays within `budget`.
 */
import type { Preferences } from '../allocate/preferences';
import type { DagArrays } from '../allocate/rank';
import { bandwidth, checkpointInterval, wallSeconds } from '../allocate/scheduler';
import type {
  AllocationForecast,
  ResolvedFleet,
  RuntimeState,
  SpotdagInstancePlan,
  SpotdagSchedule,
} from '../allocate/types';
import { EventKind, EventQueue, type SimEvent } from './events';
import { SimInstance } from './instance';
import type { SimMarket } from './market';
import { SubTasks, TaskStatus } from './tasks';

export class SimulationInvariantError extends Error {
  constructor(message: string) {
    super(`simulation invariant violated: ${message}`);
    this.name = 'SimulationInvariantError';
  }
}

export type ReplanReason = 'interruption' | 'launch-failed' | 'periodic';

export interface ReplanEvent {
  reason: ReplanReason;
  /** Pools that interrupted or refused an instance since the last re-plan. */
  pools: string[];
  /** Spot exposure and interruptions per pool since the last re-plan (to update hazard models). */
  observations: Array<{ pool: string; exposureSeconds: number; interruptions: number }>;
  /** Pools with spot requests still waiting for capacity (policies with `onNoCapacity: 'wait'`). */
  waitingPools: string[];
  /** Whether each pool has spot capacity now (observable, as Uniform Progress observes it). */
  capacity?: Record<string, boolean>;
}

/**
 * A plan that also changes the job (the runtime controller's cuts): `dag` is the job's arrays after
 * the cuts — the nodes it had keep their indices, new pieces come after — and `stop` the running
 * sub-tasks to stop at their last checkpoint first (the plan places them again).
 */
export interface SimPlan extends SpotdagSchedule {
  dagChange?: { d: DagArrays; stop: string[] };
}

export interface SimPolicy {
  readonly name: string;
  /** What a refused spot request does: wait for capacity (persistent request) or re-plan. */
  readonly onNoCapacity: 'wait' | 'replan';
  /** Re-plan every so many seconds as well (Uniform Progress). */
  readonly replanEverySeconds?: number;
  plan(): SpotdagSchedule;
  /**
   * A new plan from the state now. Returning `previous` itself keeps the plan in force (allowed
   * only when it still places every pending sub-task on a live instance, e.g. at a periodic
   * decision that changes nothing).
   */
  replan(state: RuntimeState, event: ReplanEvent, previous: SpotdagSchedule): SimPlan;
}

export interface SimOptions {
  d: DagArrays;
  market: SimMarket;
  fleet: ResolvedFleet;
  preferences: Preferences;
  policy: SimPolicy;
  /**
   * The forecast whose hazard per pool sets every sub-task's checkpoint interval, whatever the
   * policy (benchmarks: the forecast made at the job's start, which spotdag also starts from).
   */
  checkpointForecast: Pick<AllocationForecast, 'hazardPerHour'>;
  /**
   * Instead of that rule, every spot sub-task checkpoints after each this many seconds of work:
   * what instances started with a fixed interval do (`bench twin`'s local instances).
   */
  checkpointEverySeconds?: number;
  /**
   * Wall seconds one declared second of work really takes (default 1: the estimates are the
   * truth). Policies plan on the declared durations and see the running work's checkpoints, as a
   * real job's controller does.
   */
  durationFactor?: number;
  /**
   * At a spot notice, a sub-task that stops keeps all its work done so far: its step saves where
   * it is before the instance goes (`workload.spin`, `primes`: a final checkpoint when aborted), as
   * the real instances of `bench twin` do. Default false: only the last periodic checkpoint is kept.
   */
  finalCheckpointOnNotice?: boolean;
  /** Give up (throw) after this much simulated time (default 60 days). */
  maxSeconds?: number;
}

export interface SimInstanceRecord {
  id: string;
  pool: string;
  market: 'spot' | 'on-demand';
  maxPricePerHour: number;
  launchedAt: number;
  endedAt: number;
  costUsd: number;
  interrupted: boolean;
}

export interface SimResult {
  policy: string;
  costUsd: number;
  makespanSeconds: number;
  deadlineSeconds?: number;
  deadlineMet: boolean;
  interruptions: number;
  launchFailures: number;
  /** Instance time spent on work that was lost (sub-task-hours). */
  lostWorkHours: number;
  replans: number;
  instancesLaunched: number;
  spotInstanceHours: number;
  onDemandInstanceHours: number;
  /** Share of completed sub-tasks that ran on on-demand instances. */
  onDemandTaskFraction: number;
  predictedCostUsd: number;
  predictedMakespanSeconds: number;
  instances: SimInstanceRecord[];
  /** Where each sub-task finished: its instance's pool and market. */
  placements: Record<string, { pool: string; market: 'spot' | 'on-demand' }>;
}

const EPS = 1e-6;
const { Pending, Running, Done } = TaskStatus;

/**
 * One simulated run, event-driven: `start()` asks the policy for its first plan; each event goes to
 * its handler (`onLaunch`, `onBooted`, `onWake`, `onDone`, `onNotice`, `onTerminate`, `onReplan`,
 * `onPeriodic`); every plan the policy returns is carried out by `apply`. `run()` does it all and
 * checks the invariants at the end.
 */
export class Simulator {
  private d: DagArrays;
  private readonly market: SimMarket;
  private readonly fleet: ResolvedFleet;
  private readonly preferences: Preferences;
  private readonly policy: SimPolicy;
  private readonly checkpointForecast: Pick<AllocationForecast, 'hazardPerHour'>;
  private readonly checkpointEverySeconds?: number;
  private readonly durationFactor: number;
  private readonly finalCheckpointOnNotice: boolean;
  private readonly maxSeconds: number;
  private n: number;
  private readonly queue = new EventQueue();
  private tasks: SubTasks;
  /** Instances by plan id, and every instance in the order they were first planned. */
  private readonly byId = new Map<string, SimInstance>();
  private readonly all: SimInstance[] = [];

  private now = 0;
  private interruptions = 0;
  private launchFailures = 0;
  private lostWork = 0;
  private replans = 0;
  private nextId = 0;
  private current: SpotdagSchedule | undefined;
  private predictedCostUsd = NaN;
  private predictedMakespanSeconds = NaN;

  // What the next re-plan is told.
  private replanPending: ReplanReason | undefined;
  private readonly displaced = new Set<number>();
  private readonly eventPools = new Set<string>();
  private readonly interruptionsByPool = new Map<string, number>();
  private lastReplanAt = NaN;
  private replansNow = 0;

  constructor(options: SimOptions) {
    this.d = options.d;
    this.market = options.market;
    this.fleet = options.fleet;
    this.preferences = options.preferences;
    this.policy = options.policy;
    this.checkpointForecast = options.checkpointForecast;
    this.checkpointEverySeconds = options.checkpointEverySeconds;
    this.durationFactor = options.durationFactor ?? 1;
    if (!(this.durationFactor > 0))
      throw new RangeError(`durationFactor must be > 0, got ${options.durationFactor}`);
    this.finalCheckpointOnNotice = options.finalCheckpointOnNotice ?? false;
    this.maxSeconds = options.maxSeconds ?? 60 * 86400;
    this.n = options.d.ids.length;
    this.tasks = new SubTasks(this.n);
  }

  /** Runs the job to its end and returns the checked result. */
  run(): SimResult {
    this.start();
    while (this.tasks.doneCount < this.n) {
      if (this.queue.size === 0)
        this.fail(`stalled at ${this.now.toFixed(0)} s with ${this.n - this.tasks.doneCount} sub-tasks left`);
      const e = this.queue.pop();
      if (e.t > this.maxSeconds) this.fail(`still running after ${this.maxSeconds} s`);
      this.now = Math.max(this.now, e.t);
      this.dispatch(e);
    }
    return this.finish();
  }

  /** The policy's first plan, and its periodic re-plans if it wants them. */
  start(): void {
    const first = this.policy.plan();
    this.predictedCostUsd = first.predictedCostUsd;
    this.predictedMakespanSeconds = first.predictedMakespanSeconds;
    this.apply(first);
    if (this.policy.replanEverySeconds) this.queue.push(this.policy.replanEverySeconds, EventKind.Periodic);
  }

  private dispatch(e: SimEvent): void {
    const inst = e.inst;
    const current = inst !== undefined && e.version === inst.version;
    switch (e.kind) {
      case EventKind.Launch:
        if (current && (inst.state === 'planned' || inst.state === 'waiting')) this.onLaunch(inst);
        break;
      case EventKind.Booted:
        if (current && inst.state === 'booting') this.onBooted(inst);
        break;
      case EventKind.Wake:
        if (current) this.onWake(inst);
        break;
      case EventKind.Done:
        if (e.version === this.tasks.attempt[e.task!] && this.tasks.status[e.task!] === Running)
          this.onDone(e.task!);
        break;
      case EventKind.Notice:
        if (current && (inst.state === 'booting' || inst.state === 'running')) this.onNotice(inst);
        break;
      case EventKind.Terminate:
        if (current && inst.state === 'doomed') this.onTerminate(inst);
        break;
      case EventKind.Replan:
        this.onReplan();
        break;
      case EventKind.Periodic:
        this.onPeriodic();
        break;
    }
  }

  // ── Event handlers ────────────────────────────────────────────────────────────────────────────

  /** Launch time of a planned instance, or a waiting spot request's next chance. */
  private onLaunch(inst: SimInstance): void {
    inst.wakeAt = NaN;
    if (inst.state === 'waiting') this.launch(inst);
    else this.tryLaunch(inst);
  }

  private onBooted(inst: SimInstance): void {
    inst.state = 'running';
    this.tryDispatch(inst);
  }

  private onWake(inst: SimInstance): void {
    inst.wakeAt = NaN;
    this.tryDispatch(inst);
  }

  /** A sub-task finished: its successors may start; its instance takes more work or is released. */
  private onDone(v: number): void {
    const { d, tasks } = this;
    const on = tasks.runOn[v]!;
    tasks.status[v] = Done;
    tasks.doneAt[v] = this.now;
    tasks.doneOn[v] = on;
    tasks.completions[v]!++;
    tasks.doneCount++;
    if (!on.spot) tasks.onDemandDone++;
    tasks.progress[v] = d.duration[v]!;
    on.running.delete(v);
    on.cpuUsed -= d.cpu[v]!;
    on.memUsed -= d.memoryMiB[v]!;
    for (let i = d.succStart[v]!; i < d.succStart[v + 1]!; i++) {
      const s = tasks.assigned[d.succ[i]!];
      if (!s || s === on) continue;
      if (s.state === 'planned') this.tryLaunch(s);
      else this.tryDispatch(s);
    }
    if (on.state === 'doomed') {
      if (on.running.size === 0) {
        // Nothing left on it: release it now rather than at the interruption.
        on.version++;
        on.endBilling(this.now, this.market);
        on.state = 'ended';
      }
    } else this.tryDispatch(on);
  }

  /**
   * The 2-minute notice: the instance takes no more work; sub-tasks that would not finish before
   * the interruption stop now and keep their last checkpoint; its queue moves elsewhere (re-plan).
   */
  private onNotice(inst: SimInstance): void {
    const { tasks } = this;
    inst.state = 'doomed';
    inst.interrupted = true;
    this.interruptions++;
    this.interruptionsByPool.set(inst.plan.pool, (this.interruptionsByPool.get(inst.plan.pool) ?? 0) + 1);
    this.eventPools.add(inst.plan.pool);
    for (const v of [...inst.running])
      if (tasks.finishAt[v]! > inst.interruptAt + EPS) this.stop(v, inst, this.finalCheckpointOnNotice);
    for (const v of inst.queue) if (tasks.queuedOn(v, inst)) this.displace(v);
    inst.queue = [];
    this.queue.push(inst.interruptAt, EventKind.Terminate, inst.version, inst);
    this.requestReplan('interruption');
  }

  /** The interruption itself: whatever still runs stops; billing ends. */
  private onTerminate(inst: SimInstance): void {
    for (const v of [...inst.running]) this.stop(v, inst);
    inst.version++;
    inst.endBilling(this.now, this.market);
    inst.state = 'ended';
  }

  private onReplan(): void {
    if (this.replanPending === undefined) return;
    const reason = this.replanPending;
    this.replanPending = undefined;
    this.replan(reason);
  }

  /** The policy's periodic decision; a re-plan already due at this instant is folded into it. */
  private onPeriodic(): void {
    if (this.tasks.doneCount >= this.n) return;
    const reason = this.replanPending ?? 'periodic';
    this.replanPending = undefined;
    this.replan(reason);
    this.queue.push(this.now + this.policy.replanEverySeconds!, EventKind.Periodic);
  }

  // ── Carrying out plans ────────────────────────────────────────────────────────────────────────

  /** Makes `schedule` the plan in force: new instances, queues in plan order, launches, dispatch. */
  apply(schedule: SpotdagSchedule): void {
    const { d, tasks, preferences } = this;
    this.current = schedule;
    const planned = new Set<string>();
    for (const plan of schedule.instances) {
      planned.add(plan.id);
      const m = /^i(\d+)$/.exec(plan.id);
      if (m) this.nextId = Math.max(this.nextId, Number(m[1]) + 1);
      const existing = this.byId.get(plan.id);
      if (existing) {
        if (!existing.alive) this.fail(`the plan uses instance ${plan.id}, which is ${existing.state}`);
        existing.queue = [];
        if (existing.state === 'planned') existing.plan = { ...plan };
        continue;
      }
      if (
        preferences.maxSpotPrice !== undefined &&
        plan.market === 'spot' &&
        plan.maxPricePerHour > preferences.maxSpotPrice + EPS
      ) {
        this.fail(
          `instance ${plan.id} has MaxPrice ${plan.maxPricePerHour} above maxSpotPrice ${preferences.maxSpotPrice}`,
        );
      }
      const inst = new SimInstance({ ...plan }, this.market.index(plan.pool), plan.market === 'spot');
      this.byId.set(plan.id, inst);
      this.all.push(inst);
    }
    for (const p of schedule.placements) {
      const v = d.indexOf.get(p.subTaskId);
      if (v === undefined) return this.fail(`the plan places an unknown sub-task ${p.subTaskId}`);
      if (tasks.status[v] !== Pending) continue;
      const inst = this.byId.get(p.instanceId);
      if (!inst || !inst.alive)
        return this.fail(`${p.subTaskId} is placed on a missing instance ${p.instanceId}`);
      tasks.assigned[v] = inst;
      inst.queue.push(v);
      this.displaced.delete(v);
    }
    for (let v = 0; v < this.n; v++) {
      if (tasks.status[v] !== Pending) continue;
      if (!tasks.assigned[v]) this.fail(`sub-task ${d.ids[v]} is not placed by the new plan`);
      if (!tasks.assigned[v]!.alive) this.fail(`sub-task ${d.ids[v]} is placed on a lost instance`);
    }
    for (const inst of this.byId.values()) {
      if (!inst.alive) continue;
      if (!planned.has(inst.plan.id) && inst.running.size === 0) {
        this.release(inst);
        continue;
      }
      if (inst.state === 'planned') this.tryLaunch(inst);
      else this.tryDispatch(inst);
    }
  }

  /** Launches a planned instance when its launch time has come and its first work is about to be ready. */
  private tryLaunch(inst: SimInstance): void {
    if (inst.state !== 'planned') return;
    let est = Infinity;
    for (let k = 0; k < inst.queue.length && k < 8; k++) {
      const v = inst.queue[k]!;
      if (!this.tasks.queuedOn(v, inst)) continue;
      est = Math.min(est, this.readyEstimate(v, inst));
    }
    const at = Math.max(inst.plan.launchAt, est - this.fleet.bootSeconds);
    if (at <= this.now + EPS) this.launch(inst);
    else if (Number.isFinite(at) && at !== inst.wakeAt) {
      inst.wakeAt = at;
      this.queue.push(at, EventKind.Launch, inst.version, inst);
    }
  }

  /** Requests the instance now: on-demand always succeeds; spot needs capacity and a price ≤ MaxPrice. */
  private launch(inst: SimInstance): void {
    const { market } = this;
    if (inst.spot) {
      // Capacity that is being reclaimed (gone, or priced above the MaxPrice, within the notice
      // period) is not offered either.
      const notice = this.now + this.fleet.noticeSeconds;
      const ok =
        market.nextUnavailable(inst.pool, this.now) > notice &&
        market.nextPriceAbove(inst.pool, this.now, inst.plan.maxPricePerHour) > notice;
      if (!ok) return this.refuse(inst);
    }
    inst.state = 'booting';
    inst.version++;
    inst.launchedAt = this.now;
    inst.exposureFlushed = this.now;
    this.queue.push(this.now + this.fleet.bootSeconds, EventKind.Booted, inst.version, inst);
    if (inst.spot) {
      const gone = market.nextUnavailable(inst.pool, this.now + EPS);
      const pricey = market.nextPriceAbove(inst.pool, this.now, inst.plan.maxPricePerHour);
      inst.interruptAt = Math.min(gone, pricey);
      if (Number.isFinite(inst.interruptAt)) {
        this.queue.push(
          Math.max(this.now, inst.interruptAt - this.fleet.noticeSeconds),
          EventKind.Notice,
          inst.version,
          inst,
        );
      }
    }
  }

  /** A spot request without capacity: it waits (persistent request) or the policy re-plans. */
  private refuse(inst: SimInstance): void {
    const { market } = this;
    if (this.policy.onNoCapacity === 'wait') {
      inst.state = 'waiting';
      inst.version++;
      let at = market.nextAvailable(inst.pool, this.now + EPS);
      if (market.spotPrice(inst.pool, this.now) > inst.plan.maxPricePerHour) {
        const f = market.pools[inst.pool]!.price;
        at = Math.max(at, this.now + f.stepSeconds); // re-check at the next price step
      }
      if (!Number.isFinite(at)) this.fail(`spot request in ${inst.plan.pool} can never be fulfilled`);
      this.queue.push(Math.max(at, this.now + 1), EventKind.Launch, inst.version, inst);
      return;
    }
    this.launchFailures++;
    inst.state = 'failed';
    inst.version++;
    this.eventPools.add(inst.plan.pool);
    for (const v of inst.queue) if (this.tasks.queuedOn(v, inst)) this.displace(v);
    inst.queue = [];
    this.requestReplan('launch-failed');
  }

  /**
   * Starts what can start on a running instance, in queue order. Sub-tasks ahead in the queue that
   * cannot start yet keep their cores and memory reserved: a later one only starts in what is left
   * (no overtaking that would delay the plan).
   */
  private tryDispatch(inst: SimInstance): void {
    if (inst.state !== 'running') return;
    const { d, tasks } = this;
    const keep: number[] = [];
    let wake = Infinity;
    let reservedCpu = 0;
    let reservedMem = 0;
    for (const v of inst.queue) {
      if (!tasks.queuedOn(v, inst)) continue;
      keep.push(v);
      const cpu = d.cpu[v]!;
      const mem = d.memoryMiB[v]!;
      const ready = this.readyAt(v, inst);
      if (ready > this.now + EPS) {
        if (Number.isFinite(ready)) wake = Math.min(wake, ready);
        reservedCpu += cpu;
        reservedMem += mem;
        continue;
      }
      if (
        inst.cpuUsed + reservedCpu + cpu > inst.plan.vcpu + EPS ||
        inst.memUsed + reservedMem + mem > inst.plan.memoryMiB + EPS
      ) {
        reservedCpu += cpu;
        reservedMem += mem;
        continue;
      }
      this.startTask(v, inst);
      keep.pop();
    }
    inst.queue = keep;
    if (Number.isFinite(wake) && wake !== inst.wakeAt) {
      inst.wakeAt = wake;
      this.queue.push(wake, EventKind.Wake, inst.version, inst);
    }
    this.maybeRelease(inst);
  }

  /** Starts an attempt of `v` on `inst`: resumes from its checkpointed progress. */
  private startTask(v: number, inst: SimInstance): void {
    const { d, tasks, fleet } = this;
    for (let i = d.predStart[v]!; i < d.predStart[v + 1]!; i++) {
      const u = d.pred[i]!;
      if (tasks.status[u] !== Done || tasks.doneAt[u]! > this.now + EPS)
        this.fail(`${d.ids[v]} started before its dependency ${d.ids[u]}`);
    }
    inst.cpuUsed += d.cpu[v]!;
    inst.memUsed += d.memoryMiB[v]!;
    if (inst.cpuUsed > inst.plan.vcpu + EPS || inst.memUsed > inst.plan.memoryMiB + EPS) {
      this.fail(`instance ${inst.plan.id} over capacity (${inst.cpuUsed} cores, ${inst.memUsed} MiB)`);
    }
    const work = Math.max(0, d.duration[v]! - tasks.progress[v]!) * this.durationFactor;
    const restart = tasks.progress[v]! > 0 ? fleet.restartSeconds : 0;
    const tau = !inst.spot
      ? 0
      : this.checkpointEverySeconds !== undefined
        ? this.checkpointEverySeconds < work
          ? this.checkpointEverySeconds
          : 0
        : checkpointInterval(
            work,
            this.checkpointForecast.hazardPerHour(inst.pool),
            fleet.checkpointSeconds,
            fleet.minCheckpointIntervalSeconds,
          );
    tasks.tau[v] = tau;
    tasks.status[v] = Running;
    tasks.attempt[v]!++;
    tasks.startAt[v] = this.now;
    tasks.restartOf[v] = restart;
    tasks.runOn[v] = inst;
    tasks.finishAt[v] = this.now + wallSeconds(work, tau, fleet.checkpointSeconds, restart);
    inst.running.add(v);
    this.queue.push(tasks.finishAt[v]!, EventKind.Done, tasks.attempt[v]!, inst, v);
    for (let i = d.succStart[v]!; i < d.succStart[v + 1]!; i++) {
      const s = tasks.assigned[d.succ[i]!];
      if (s && s.state === 'planned') this.tryLaunch(s);
    }
  }

  /** Checkpoints a running sub-task's current attempt has made by now. */
  private checkpointsThisAttempt(v: number): number {
    const { tasks, fleet } = this;
    const tau = tasks.tau[v]!;
    const elapsed = this.now - tasks.startAt[v]! - tasks.restartOf[v]!;
    return tau > 0 && elapsed > 0 ? Math.floor(elapsed / (tau + fleet.checkpointSeconds)) : 0;
  }

  /** Work (declared seconds) a running sub-task's current attempt has saved in checkpoints by now. */
  private savedThisAttempt(v: number): number {
    const { d, tasks } = this;
    const saved = (this.checkpointsThisAttempt(v) * tasks.tau[v]!) / this.durationFactor;
    return Math.min(saved, d.duration[v]! - tasks.progress[v]!);
  }

  /** Work (declared seconds) a running sub-task's current attempt has done by now (its checkpoints' time excluded). */
  private doneThisAttempt(v: number): number {
    const { d, tasks, fleet } = this;
    const tau = tasks.tau[v]!;
    const elapsed = this.now - tasks.startAt[v]! - tasks.restartOf[v]!;
    if (!(elapsed > 0)) return 0;
    let done = elapsed;
    if (tau > 0) {
      const periods = Math.floor(elapsed / (tau + fleet.checkpointSeconds));
      done = periods * tau + Math.min(tau, elapsed - periods * (tau + fleet.checkpointSeconds));
    }
    return Math.min(done / this.durationFactor, d.duration[v]! - tasks.progress[v]!);
  }

  /**
   * Stops a running sub-task now; keeps the work saved by its checkpoints, or all its work done so
   * far when its step saves where it is on the way out (`final`).
   */
  stop(v: number, inst: SimInstance, final = false): void {
    const { d, tasks } = this;
    const saved = final ? this.doneThisAttempt(v) : this.savedThisAttempt(v);
    this.lostWork += Math.max(0, this.now - tasks.startAt[v]! - saved * this.durationFactor) / 3600;
    tasks.progress[v]! += saved;
    tasks.status[v] = Pending;
    inst.running.delete(v);
    inst.cpuUsed -= d.cpu[v]!;
    inst.memUsed -= d.memoryMiB[v]!;
    tasks.runOn[v] = undefined;
    this.displace(v);
  }

  /** Ends an instance: never launched ones cost nothing; launched ones are billed up to now. */
  private release(inst: SimInstance): void {
    if (inst.state === 'planned' || inst.state === 'waiting') {
      inst.state = 'failed'; // never launched: no cost
      inst.version++;
      return;
    }
    if (inst.state === 'ended' || inst.state === 'failed') return;
    inst.version++;
    inst.endBilling(this.now, this.market);
    inst.state = 'ended';
  }

  private maybeRelease(inst: SimInstance): void {
    if ((inst.state === 'running' || inst.state === 'booting') && inst.running.size === 0) {
      if (!inst.queue.some((v) => this.tasks.queuedOn(v, inst))) this.release(inst);
    }
  }

  private displace(v: number): void {
    this.tasks.assigned[v] = undefined;
    this.displaced.add(v);
  }

  // ── Re-planning ───────────────────────────────────────────────────────────────────────────────

  private requestReplan(reason: ReplanReason): void {
    if (this.replanPending === undefined || reason === 'interruption') this.replanPending = reason;
    this.queue.push(this.now, EventKind.Replan);
  }

  /** Asks the policy for a new plan from the state now, and applies it. */
  private replan(reason: ReplanReason): void {
    this.replansNow = this.now === this.lastReplanAt ? this.replansNow + 1 : 0;
    this.lastReplanAt = this.now;
    if (this.replansNow > 1000) this.fail(`re-planning in a loop at ${this.now.toFixed(0)} s (${reason})`);
    const state = this.runtimeState();
    const waitingPools = [...new Set(this.all.filter((i) => i.state === 'waiting').map((i) => i.plan.pool))];
    // Launchable capacity: there now and not being reclaimed within the notice (as `launch` checks).
    const capacity: Record<string, boolean> = {};
    this.market.pools.forEach(
      (p, i) =>
        (capacity[p.option.key] =
          this.market.nextUnavailable(i, this.now) > this.now + this.fleet.noticeSeconds),
    );
    const event: ReplanEvent = {
      reason,
      pools: [...this.eventPools],
      observations: this.observations(),
      waitingPools,
      capacity,
    };
    this.eventPools.clear();
    this.replans++;
    const schedule = this.policy.replan(state, event, this.current!);
    this.displaced.clear();
    if (schedule.dagChange) this.changeDag(schedule.dagChange);
    if (schedule !== this.current) return this.apply(schedule);
    for (let v = 0; v < this.n; v++)
      if (this.tasks.status[v] === Pending && !this.tasks.assigned[v]?.alive)
        this.fail(`the plan kept in force leaves ${this.d.ids[v]} without a live instance`);
  }

  /**
   * The policy cut sub-tasks: stops the running ones it names at their last checkpoint, then takes
   * the new arrays (old nodes keep their indices; a cut node's duration shrinks to the part its
   * checkpoint covers, and its progress with it).
   */
  private changeDag(change: { d: DagArrays; stop: string[] }): void {
    const { tasks } = this;
    for (const id of change.stop) {
      const v = this.d.indexOf.get(id);
      if (v === undefined) this.fail(`the policy stops an unknown sub-task ${id}`);
      if (tasks.status[v!] === Running) this.stop(v!, tasks.runOn[v!]!);
    }
    const d = change.d;
    for (let v = 0; v < this.n; v++)
      if (d.ids[v] !== this.d.ids[v])
        this.fail(`the new DAG moved sub-task ${this.d.ids[v]} to another index`);
    for (let v = 0; v < this.n; v++) {
      if (tasks.status[v] === Running && d.duration[v]! < this.d.duration[v]! - EPS)
        this.fail(`the policy cut ${d.ids[v]} while it runs (stop it first)`);
      if (tasks.status[v] !== Done && tasks.progress[v]! > d.duration[v]!) {
        // Work past the cut is redone by the piece that now covers it.
        this.lostWork += ((tasks.progress[v]! - d.duration[v]!) * this.durationFactor) / 3600;
        tasks.progress[v] = d.duration[v]!;
      }
    }
    this.tasks = tasks.grown(d.ids.length);
    this.d = d;
    this.n = d.ids.length;
  }

  /** What the runtime knows now, as the allocator's RuntimeState. */
  runtimeState(): RuntimeState {
    const { d, tasks } = this;
    const done: RuntimeState['done'] = [];
    const running: RuntimeState['running'] = [];
    const progress: Record<string, number> = {};
    for (let v = 0; v < this.n; v++) {
      if (tasks.status[v] === Done)
        done.push({
          subTaskId: d.ids[v]!,
          instanceId: tasks.doneOn[v]!.plan.id,
          finishedAt: tasks.doneAt[v]!,
        });
      else {
        if (tasks.status[v] === Running) running.push(this.runningView(v));
        // Checkpointed work, running sub-tasks included (what they would keep if stopped now).
        const saved = tasks.progress[v]! + (tasks.status[v] === Running ? this.savedThisAttempt(v) : 0);
        if (saved > 0) progress[d.ids[v]!] = saved;
      }
    }
    const instances: SpotdagInstancePlan[] = [];
    for (const inst of this.byId.values()) {
      // A spot request still waiting for capacity is not offered for re-use: a new plan that
      // wants it again asks anew (and one that does not, cancels it).
      if (!inst.alive || inst.state === 'waiting') continue;
      const plan = { ...inst.plan };
      plan.launched = inst.launched;
      if (plan.launched) plan.launchAt = inst.launchedAt;
      else plan.launchAt = Math.max(plan.launchAt, this.now);
      instances.push(plan);
    }
    for (let v = 0; v < this.n; v++)
      if (tasks.status[v] === Pending && (!tasks.assigned[v] || !tasks.assigned[v]!.alive))
        this.displaced.add(v);
    return {
      nowSeconds: this.now,
      done,
      running,
      progress,
      instances,
      penalisedPools: [...this.eventPools],
      displaced: [...this.displaced].map((v) => d.ids[v]!),
      nextInstanceId: this.nextId,
      spentUsd: this.spentSoFar(),
    };
  }

  /**
   * A running sub-task as its driver sees it: expected to finish when its declared work would
   * (the true finish when durations are as declared), with its start and last checkpoint.
   */
  private runningView(v: number): RuntimeState['running'][number] {
    const { d, tasks, fleet } = this;
    const declared = Math.max(0, d.duration[v]! - tasks.progress[v]!);
    const tau = tasks.tau[v]!;
    const restart = tasks.restartOf[v]!;
    const checkpoints = this.checkpointsThisAttempt(v);
    return {
      subTaskId: d.ids[v]!,
      instanceId: tasks.runOn[v]!.plan.id,
      expectedFinish: Math.max(
        this.now,
        tasks.startAt[v]! + wallSeconds(declared, tau, fleet.checkpointSeconds, restart),
      ),
      startedAt: tasks.startAt[v]!,
      checkpointedAt:
        checkpoints > 0
          ? tasks.startAt[v]! + restart + checkpoints * (tau + fleet.checkpointSeconds)
          : undefined,
    };
  }

  /** Spot exposure and interruptions per pool since the last call. */
  private observations(): ReplanEvent['observations'] {
    const byPool = new Map<string, { exposureSeconds: number; interruptions: number }>();
    for (const inst of this.all) {
      if (!inst.spot || !inst.launched) continue;
      const end = Number.isNaN(inst.endedAt) ? this.now : inst.endedAt;
      const exposure = end - inst.exposureFlushed;
      if (exposure <= 0) continue;
      inst.exposureFlushed = end;
      const o = byPool.get(inst.plan.pool) ?? { exposureSeconds: 0, interruptions: 0 };
      o.exposureSeconds += exposure;
      byPool.set(inst.plan.pool, o);
    }
    for (const [pool, count] of this.interruptionsByPool) {
      const o = byPool.get(pool) ?? { exposureSeconds: 0, interruptions: 0 };
      o.interruptions += count;
      byPool.set(pool, o);
    }
    this.interruptionsByPool.clear();
    return [...byPool].map(([pool, o]) => ({ pool, ...o }));
  }

  private spentSoFar(): number {
    let c = 0;
    for (const inst of this.all) {
      if (inst.state === 'ended') c += inst.costUsd;
      else if (inst.launched && inst.state !== 'failed') c += inst.costUntil(this.now, this.market);
    }
    return c;
  }

  // ── Readiness ─────────────────────────────────────────────────────────────────────────────────

  private transfer(bytes: number, from: SimInstance | undefined, to: SimInstance): number {
    if (from === to) return 0;
    const pool = (inst: SimInstance | undefined) => (inst ? this.market.pools[inst.pool]!.option : undefined);
    return bytes / bandwidth(this.fleet, pool(from), pool(to));
  }

  /** When `v`'s inputs will be on `inst`, counting running dependencies' expected finish (Infinity: not yet known). */
  private readyEstimate(v: number, inst: SimInstance): number {
    const { d, tasks } = this;
    let t = this.now;
    for (let i = d.predStart[v]!; i < d.predStart[v + 1]!; i++) {
      const u = d.pred[i]!;
      let f: number;
      if (tasks.status[u] === Done)
        f = tasks.doneAt[u]! + this.transfer(d.predBytes[i]!, tasks.doneOn[u], inst);
      else if (tasks.status[u] === Running)
        f = tasks.finishAt[u]! + this.transfer(d.predBytes[i]!, tasks.runOn[u], inst);
      else return Infinity;
      if (f > t) t = f;
    }
    return t;
  }

  /** When `v`'s inputs are on `inst`, from finished dependencies only (Infinity: some not done). */
  private readyAt(v: number, inst: SimInstance): number {
    const { d, tasks } = this;
    let ready = this.now;
    for (let i = d.predStart[v]!; i < d.predStart[v + 1]!; i++) {
      const u = d.pred[i]!;
      if (tasks.status[u] !== Done) return Infinity;
      ready = Math.max(ready, tasks.doneAt[u]! + this.transfer(d.predBytes[i]!, tasks.doneOn[u], inst));
    }
    return ready;
  }

  // ── The end ───────────────────────────────────────────────────────────────────────────────────

  /** Releases everything, checks the invariants and recomputes the bill independently. */
  private finish(): SimResult {
    const { d, tasks, market, preferences } = this;
    const makespan = this.now;
    for (const inst of this.all) this.release(inst);

    for (let v = 0; v < this.n; v++) {
      if (tasks.completions[v] !== 1) this.fail(`${d.ids[v]} completed ${tasks.completions[v]} times`);
      for (let i = d.predStart[v]!; i < d.predStart[v + 1]!; i++) {
        const u = d.pred[i]!;
        if (tasks.doneAt[u]! > tasks.startAt[v]! + EPS)
          this.fail(`${d.ids[v]} ran before ${d.ids[u]} finished`);
      }
    }
    let cost = 0;
    let check = 0;
    let spotHours = 0;
    let odHours = 0;
    const records: SimInstanceRecord[] = [];
    for (const inst of this.all) {
      if (!inst.launched) continue;
      cost += inst.costUsd;
      const hours = (inst.endedAt - inst.launchedAt) / 3600;
      if (inst.spot) {
        spotHours += hours;
        check += this.spotBillByStep(inst);
        const paid = market.maxPrice(inst.pool, inst.launchedAt, inst.endedAt);
        if (paid > inst.plan.maxPricePerHour + EPS)
          this.fail(`${inst.plan.id} paid ${paid} $/h above its MaxPrice ${inst.plan.maxPricePerHour}`);
        if (preferences.maxSpotPrice !== undefined && paid > preferences.maxSpotPrice + EPS)
          this.fail(`${inst.plan.id} paid above maxSpotPrice`);
      } else {
        odHours += hours;
        check += hours * inst.plan.predictedPricePerHour;
      }
      records.push({
        id: inst.plan.id,
        pool: inst.plan.pool,
        market: inst.plan.market,
        maxPricePerHour: inst.plan.maxPricePerHour,
        launchedAt: inst.launchedAt,
        endedAt: inst.endedAt,
        costUsd: inst.costUsd,
        interrupted: inst.interrupted,
      });
    }
    if (Math.abs(cost - check) > 1e-9 * Math.max(1, cost))
      this.fail(`billed cost ${cost} ≠ Σ time × price ${check}`);
    if (preferences.budget !== undefined && cost > preferences.budget + EPS)
      this.fail(`cost ${cost} above the budget ${preferences.budget}`);
    const deadline = preferences.deadline;
    return {
      policy: this.policy.name,
      costUsd: cost,
      makespanSeconds: makespan,
      deadlineSeconds: deadline,
      deadlineMet: deadline === undefined || makespan <= deadline + EPS,
      interruptions: this.interruptions,
      launchFailures: this.launchFailures,
      lostWorkHours: this.lostWork,
      replans: this.replans,
      instancesLaunched: records.length,
      spotInstanceHours: spotHours,
      onDemandInstanceHours: odHours,
      onDemandTaskFraction: this.n > 0 ? tasks.onDemandDone / this.n : 0,
      predictedCostUsd: this.predictedCostUsd,
      predictedMakespanSeconds: this.predictedMakespanSeconds,
      instances: records,
      placements: Object.fromEntries(
        d.ids.map((id, v) => [
          id,
          { pool: tasks.doneOn[v]!.plan.pool, market: tasks.doneOn[v]!.plan.market },
        ]),
      ),
    };
  }

  /** A spot instance's bill recomputed by walking the price steps one by one. */
  private spotBillByStep(inst: SimInstance): number {
    const f = this.market.pools[inst.pool]!.price;
    let bill = 0;
    let t = inst.launchedAt;
    while (t < inst.endedAt - EPS) {
      const i = Math.floor((t - f.originSeconds) / f.stepSeconds);
      const stepEnd =
        i < 0
          ? f.originSeconds
          : i >= f.values.length - 1
            ? Infinity
            : f.originSeconds + (i + 1) * f.stepSeconds;
      const end = Math.min(inst.endedAt, stepEnd);
      bill += (f.at(t) * (end - t)) / 3600;
      t = end;
    }
    return bill;
  }

  private fail(message: string): never {
    throw new SimulationInvariantError(`${this.policy.name}: ${message}`);
  }
}

/** Simulates one job under one policy (see `Simulator`). */
export function simulate(options: SimOptions): SimResult {
  return new Simulator(options).run();
}
