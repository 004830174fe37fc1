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
 *   the work saved by their last checkpoint (conservatively, no final checkpoint is assumed).
 * - A sub-task checkpoints every τ seconds of work (τ from its placement), each checkpoint costs
 *   `checkpointSeconds`; resuming from a checkpoint costs `restartSeconds`.
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
import { Heap } from 'heap-js';
import type { Preferences } from '../allocate/preferences';
import type { DagArrays } from '../allocate/rank';
import { bandwidth, wallSeconds } from '../allocate/scheduler';
import type { ResolvedFleet, RuntimeState, SpotdagInstancePlan, SpotdagSchedule } from '../allocate/types';
import type { SimMarket } from './market';

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
}

export interface SimPolicy {
  readonly name: string;
  /** What a refused spot request does: wait for capacity (persistent request) or re-plan. */
  readonly onNoCapacity: 'wait' | 'replan';
  /** Re-plan every so many seconds as well (Uniform Progress). */
  readonly replanEverySeconds?: number;
  plan(): SpotdagSchedule;
  replan(state: RuntimeState, event: ReplanEvent, previous: SpotdagSchedule): SpotdagSchedule;
}

export interface SimOptions {
  d: DagArrays;
  market: SimMarket;
  fleet: ResolvedFleet;
  preferences: Preferences;
  policy: SimPolicy;
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
}

type InstState = 'planned' | 'waiting' | 'booting' | 'running' | 'doomed' | 'ended' | 'failed';

interface SimInst {
  plan: SpotdagInstancePlan;
  pool: number;
  spot: boolean;
  state: InstState;
  version: number;
  launchedAt: number;
  endedAt: number;
  interruptAt: number;
  queue: number[];
  running: Set<number>;
  cpuUsed: number;
  memUsed: number;
  costUsd: number;
  interrupted: boolean;
  exposureFlushed: number;
  wakeAt: number;
}

const enum Ev {
  Launch,
  Booted,
  Notice,
  Terminate,
  Done,
  Wake,
  Replan,
  Periodic,
}

interface Event {
  t: number;
  seq: number;
  type: Ev;
  inst?: SimInst;
  task?: number;
  version: number;
}

/** Events in time order; ties in the order they were queued. */
class EventQueue {
  private readonly heap = new Heap<Event>((x, y) => x.t - y.t || x.seq - y.seq);
  private seq = 0;
  get size(): number {
    return this.heap.length;
  }
  push(t: number, type: Ev, version = 0, inst?: SimInst, task?: number): void {
    this.heap.push({ t, seq: this.seq++, type, inst, task, version });
  }
  pop(): Event {
    return this.heap.pop()!;
  }
}

const NOTICE_SECONDS = 120;
const EPS = 1e-6;

export function simulate(options: SimOptions): SimResult {
  const { d, market, fleet, preferences, policy } = options;
  const n = d.ids.length;
  const maxSeconds = options.maxSeconds ?? 60 * 86400;
  const q = new EventQueue();
  const insts = new Map<string, SimInst>();
  const all: SimInst[] = [];

  // Sub-task state.
  const status = new Int8Array(n); // 0 pending, 1 running, 2 done
  const assigned: Array<SimInst | undefined> = new Array(n);
  const tauOf = new Float64Array(n);
  const progress = new Float64Array(n);
  const attempt = new Int32Array(n);
  const startAt = new Float64Array(n);
  const restartOf = new Float64Array(n);
  const finishAt = new Float64Array(n);
  const runOn: Array<SimInst | undefined> = new Array(n);
  const doneAt = new Float64Array(n).fill(NaN);
  const doneOn: Array<SimInst | undefined> = new Array(n);
  const completions = new Int32Array(n);
  let doneCount = 0;
  let onDemandDone = 0;

  let now = 0;
  let interruptions = 0;
  let launchFailures = 0;
  let lostWork = 0;
  let replans = 0;
  let nextId = 0;
  let current: SpotdagSchedule;
  let replanPending: ReplanReason | undefined;
  const displaced = new Set<number>();
  const eventPools = new Set<string>();
  const interruptionsByPool = new Map<string, number>();

  const fail = (message: string): never => {
    throw new SimulationInvariantError(`${policy.name}: ${message}`);
  };

  const poolOf = (inst: SimInst | undefined) => (inst ? market.pools[inst.pool]!.option : undefined);
  const transfer = (bytes: number, from: SimInst | undefined, to: SimInst) =>
    from === to ? 0 : bytes / bandwidth(fleet, poolOf(from), poolOf(to));

  const alive = (inst: SimInst) =>
    inst.state !== 'ended' && inst.state !== 'failed' && inst.state !== 'doomed';

  function billingEnd(inst: SimInst, end: number): void {
    inst.endedAt = end;
    const hours = (end - inst.launchedAt) / 3600;
    if (inst.spot) inst.costUsd = market.pools[inst.pool]!.price.integral(inst.launchedAt, end) / 3600;
    else inst.costUsd = hours * inst.plan.predictedPricePerHour;
  }

  function release(inst: SimInst): void {
    if (inst.state === 'planned' || inst.state === 'waiting') {
      inst.state = 'failed'; // never launched: no cost
      inst.version++;
      return;
    }
    if (inst.state === 'ended' || inst.state === 'failed') return;
    inst.version++;
    billingEnd(inst, now);
    inst.state = 'ended';
  }

  function readyEstimate(v: number, inst: SimInst): number {
    let t = now;
    for (let i = d.predStart[v]!; i < d.predStart[v + 1]!; i++) {
      const u = d.pred[i]!;
      let f: number;
      if (status[u] === 2) f = doneAt[u]! + transfer(d.predBytes[i]!, doneOn[u], inst);
      else if (status[u] === 1) f = finishAt[u]! + transfer(d.predBytes[i]!, runOn[u], inst);
      else return Infinity;
      if (f > t) t = f;
    }
    return t;
  }

  function tryLaunch(inst: SimInst): void {
    if (inst.state !== 'planned') return;
    let est = Infinity;
    for (let k = 0; k < inst.queue.length && k < 8; k++) {
      const v = inst.queue[k]!;
      if (status[v] !== 0 || assigned[v] !== inst) continue;
      est = Math.min(est, readyEstimate(v, inst));
    }
    const at = Math.max(inst.plan.launchAt, est - fleet.bootSeconds);
    if (at <= now + EPS) launch(inst);
    else if (Number.isFinite(at) && at !== inst.wakeAt) {
      inst.wakeAt = at;
      q.push(at, Ev.Launch, inst.version, inst);
    }
  }

  function launch(inst: SimInst): void {
    if (inst.spot) {
      // Capacity that is being reclaimed (gone within the notice period) is not offered either.
      const ok =
        market.nextUnavailable(inst.pool, now) > now + NOTICE_SECONDS &&
        market.spotPrice(inst.pool, now) <= inst.plan.maxPricePerHour;
      if (!ok) {
        if (policy.onNoCapacity === 'wait') {
          inst.state = 'waiting';
          inst.version++;
          let at = market.nextAvailable(inst.pool, now + EPS);
          if (market.spotPrice(inst.pool, now) > inst.plan.maxPricePerHour) {
            const f = market.pools[inst.pool]!.price;
            at = Math.max(at, now + f.stepSeconds); // re-check at the next price step
          }
          if (!Number.isFinite(at)) fail(`spot request in ${inst.plan.pool} can never be fulfilled`);
          q.push(Math.max(at, now + 1), Ev.Launch, inst.version, inst);
          return;
        }
        launchFailures++;
        inst.state = 'failed';
        inst.version++;
        eventPools.add(inst.plan.pool);
        for (const v of inst.queue) if (status[v] === 0 && assigned[v] === inst) displace(v);
        inst.queue = [];
        requestReplan('launch-failed');
        return;
      }
    }
    inst.state = 'booting';
    inst.version++;
    inst.launchedAt = now;
    inst.exposureFlushed = now;
    q.push(now + fleet.bootSeconds, Ev.Booted, inst.version, inst);
    if (inst.spot) {
      const gone = market.nextUnavailable(inst.pool, now + EPS);
      const pricey = market.nextPriceAbove(inst.pool, now, inst.plan.maxPricePerHour);
      inst.interruptAt = Math.min(gone, pricey);
      if (Number.isFinite(inst.interruptAt)) {
        q.push(Math.max(now, inst.interruptAt - NOTICE_SECONDS), Ev.Notice, inst.version, inst);
      }
    }
  }

  function displace(v: number): void {
    assigned[v] = undefined;
    displaced.add(v);
  }

  function requestReplan(reason: ReplanReason): void {
    if (replanPending === undefined || reason === 'interruption') replanPending = reason;
    q.push(now, Ev.Replan);
  }

  function tryDispatch(inst: SimInst): void {
    if (inst.state !== 'running') return;
    const keep: number[] = [];
    let wake = Infinity;
    // Sub-tasks ahead in the queue that cannot start yet keep their cores and memory reserved:
    // a later sub-task only starts in what is left (no overtaking that would delay the plan).
    let reservedCpu = 0;
    let reservedMem = 0;
    for (const v of inst.queue) {
      if (status[v] !== 0 || assigned[v] !== inst) continue;
      keep.push(v);
      const cpu = d.cpu[v]!;
      const mem = d.memoryMiB[v]!;
      const reserve = () => {
        reservedCpu += cpu;
        reservedMem += mem;
      };
      let ready = now;
      for (let i = d.predStart[v]!; i < d.predStart[v + 1]!; i++) {
        const u = d.pred[i]!;
        if (status[u] !== 2) {
          ready = Infinity;
          break;
        }
        ready = Math.max(ready, doneAt[u]! + transfer(d.predBytes[i]!, doneOn[u], inst));
      }
      if (!Number.isFinite(ready)) {
        reserve();
        continue;
      }
      if (ready > now + EPS) {
        wake = Math.min(wake, ready);
        reserve();
        continue;
      }
      if (
        inst.cpuUsed + reservedCpu + cpu > inst.plan.vcpu + EPS ||
        inst.memUsed + reservedMem + mem > inst.plan.memoryMiB + EPS
      ) {
        reserve();
        continue;
      }
      start(v, inst);
      keep.pop();
    }
    inst.queue = keep;
    if (Number.isFinite(wake) && wake !== inst.wakeAt) {
      inst.wakeAt = wake;
      q.push(wake, Ev.Wake, inst.version, inst);
    }
    maybeRelease(inst);
  }

  function maybeRelease(inst: SimInst): void {
    if ((inst.state === 'running' || inst.state === 'booting') && inst.running.size === 0) {
      if (!inst.queue.some((v) => status[v] === 0 && assigned[v] === inst)) release(inst);
    }
  }

  function start(v: number, inst: SimInst): void {
    for (let i = d.predStart[v]!; i < d.predStart[v + 1]!; i++) {
      const u = d.pred[i]!;
      if (status[u] !== 2 || doneAt[u]! > now + EPS)
        fail(`${d.ids[v]} started before its dependency ${d.ids[u]}`);
    }
    const cpu = d.cpu[v]!;
    const mem = d.memoryMiB[v]!;
    inst.cpuUsed += cpu;
    inst.memUsed += mem;
    if (inst.cpuUsed > inst.plan.vcpu + EPS || inst.memUsed > inst.plan.memoryMiB + EPS) {
      fail(`instance ${inst.plan.id} over capacity (${inst.cpuUsed} cores, ${inst.memUsed} MiB)`);
    }
    const work = Math.max(0, d.duration[v]! - progress[v]!);
    const restart = progress[v]! > 0 ? fleet.restartSeconds : 0;
    const tau = inst.spot ? tauOf[v]! : 0;
    status[v] = 1;
    attempt[v]!++;
    startAt[v] = now;
    restartOf[v] = restart;
    runOn[v] = inst;
    finishAt[v] = now + wallSeconds(work, tau, fleet.checkpointSeconds, restart);
    inst.running.add(v);
    q.push(finishAt[v]!, Ev.Done, attempt[v]!, inst, v);
    for (let i = d.succStart[v]!; i < d.succStart[v + 1]!; i++) {
      const s = assigned[d.succ[i]!];
      if (s && s.state === 'planned') tryLaunch(s);
    }
  }

  /** Stops a running sub-task now; keeps the work saved by its checkpoints. */
  function stop(v: number, inst: SimInst): void {
    const tau = inst.spot ? tauOf[v]! : 0;
    const elapsed = now - startAt[v]! - restartOf[v]!;
    let saved = 0;
    if (tau > 0 && elapsed > 0) saved = Math.floor(elapsed / (tau + fleet.checkpointSeconds)) * tau;
    saved = Math.min(saved, d.duration[v]! - progress[v]!);
    lostWork += Math.max(0, now - startAt[v]! - saved) / 3600;
    progress[v]! += saved;
    status[v] = 0;
    inst.running.delete(v);
    inst.cpuUsed -= d.cpu[v]!;
    inst.memUsed -= d.memoryMiB[v]!;
    runOn[v] = undefined;
    displace(v);
  }

  function apply(schedule: SpotdagSchedule): void {
    current = schedule;
    const planned = new Set<string>();
    for (const plan of schedule.instances) {
      planned.add(plan.id);
      const m = /^i(\d+)$/.exec(plan.id);
      if (m) nextId = Math.max(nextId, Number(m[1]) + 1);
      const existing = insts.get(plan.id);
      if (existing) {
        if (!alive(existing)) fail(`the plan uses instance ${plan.id}, which is ${existing.state}`);
        existing.queue = [];
        if (existing.state === 'planned') existing.plan = { ...plan };
        continue;
      }
      if (
        preferences.maxSpotPrice !== undefined &&
        plan.market === 'spot' &&
        plan.maxPricePerHour > preferences.maxSpotPrice + EPS
      ) {
        fail(
          `instance ${plan.id} has MaxPrice ${plan.maxPricePerHour} above maxSpotPrice ${preferences.maxSpotPrice}`,
        );
      }
      const inst: SimInst = {
        plan: { ...plan },
        pool: market.index(plan.pool),
        spot: plan.market === 'spot',
        state: 'planned',
        version: 0,
        launchedAt: NaN,
        endedAt: NaN,
        interruptAt: Infinity,
        queue: [],
        running: new Set(),
        cpuUsed: 0,
        memUsed: 0,
        costUsd: 0,
        interrupted: false,
        exposureFlushed: 0,
        wakeAt: NaN,
      };
      insts.set(plan.id, inst);
      all.push(inst);
    }
    for (const p of schedule.placements) {
      const v = d.indexOf.get(p.subTaskId);
      if (v === undefined) fail(`the plan places an unknown sub-task ${p.subTaskId}`);
      const w = v!;
      if (status[w] !== 0) continue;
      const inst = insts.get(p.instanceId);
      if (!inst || !alive(inst)) fail(`${p.subTaskId} is placed on a missing instance ${p.instanceId}`);
      assigned[w] = inst;
      tauOf[w] = p.checkpointIntervalSeconds;
      inst!.queue.push(w);
      displaced.delete(w);
    }
    for (let v = 0; v < n; v++) {
      if (status[v] === 0 && !assigned[v]) fail(`sub-task ${d.ids[v]} is not placed by the new plan`);
      if (status[v] === 0 && assigned[v] && !alive(assigned[v]!))
        fail(`sub-task ${d.ids[v]} is placed on a lost instance`);
    }
    for (const inst of insts.values()) {
      if (!alive(inst)) continue;
      if (!planned.has(inst.plan.id) && inst.running.size === 0) {
        release(inst);
        continue;
      }
      if (inst.state === 'planned') tryLaunch(inst);
      else tryDispatch(inst);
    }
  }

  function observations(): ReplanEvent['observations'] {
    const byPool = new Map<string, { exposureSeconds: number; interruptions: number }>();
    for (const inst of all) {
      if (!inst.spot || Number.isNaN(inst.launchedAt)) continue;
      const end = Number.isNaN(inst.endedAt) ? now : inst.endedAt;
      const exposure = end - inst.exposureFlushed;
      if (exposure <= 0) continue;
      inst.exposureFlushed = end;
      const o = byPool.get(inst.plan.pool) ?? { exposureSeconds: 0, interruptions: 0 };
      o.exposureSeconds += exposure;
      byPool.set(inst.plan.pool, o);
    }
    for (const [pool, count] of interruptionsByPool) {
      const o = byPool.get(pool) ?? { exposureSeconds: 0, interruptions: 0 };
      o.interruptions += count;
      byPool.set(pool, o);
    }
    interruptionsByPool.clear();
    return [...byPool].map(([pool, o]) => ({ pool, ...o }));
  }

  function spentSoFar(): number {
    let c = 0;
    for (const inst of all) {
      if (inst.state === 'ended') c += inst.costUsd;
      else if (!Number.isNaN(inst.launchedAt) && inst.state !== 'failed') {
        c += inst.spot
          ? market.pools[inst.pool]!.price.integral(inst.launchedAt, now) / 3600
          : ((now - inst.launchedAt) / 3600) * inst.plan.predictedPricePerHour;
      }
    }
    return c;
  }

  function runtimeState(): RuntimeState {
    const done: RuntimeState['done'] = [];
    const running: RuntimeState['running'] = [];
    const prog: Record<string, number> = {};
    for (let v = 0; v < n; v++) {
      if (status[v] === 2)
        done.push({ subTaskId: d.ids[v]!, instanceId: doneOn[v]!.plan.id, finishedAt: doneAt[v]! });
      else if (status[v] === 1)
        running.push({ subTaskId: d.ids[v]!, instanceId: runOn[v]!.plan.id, expectedFinish: finishAt[v]! });
      else if (progress[v]! > 0) prog[d.ids[v]!] = progress[v]!;
    }
    const instances: SpotdagInstancePlan[] = [];
    for (const inst of insts.values()) {
      // A spot request still waiting for capacity is not offered for re-use: a new plan that
      // wants it again asks anew (and one that does not, cancels it).
      if (!alive(inst) || inst.state === 'waiting') continue;
      const plan = { ...inst.plan };
      plan.launched = !Number.isNaN(inst.launchedAt);
      if (plan.launched) plan.launchAt = inst.launchedAt;
      else plan.launchAt = Math.max(plan.launchAt, now);
      instances.push(plan);
    }
    for (let v = 0; v < n; v++)
      if (status[v] === 0 && (!assigned[v] || !alive(assigned[v]!))) displaced.add(v);
    return {
      nowSeconds: now,
      done,
      running,
      progress: prog,
      instances,
      penalisedPools: [...eventPools],
      displaced: [...displaced].map((v) => d.ids[v]!),
      nextInstanceId: nextId,
      spentUsd: spentSoFar(),
    };
  }

  let lastReplanAt = NaN;
  let replansNow = 0;
  function doReplan(reason: ReplanReason): void {
    replansNow = now === lastReplanAt ? replansNow + 1 : 0;
    lastReplanAt = now;
    if (replansNow > 1000) fail(`re-planning in a loop at ${now.toFixed(0)} s (${reason})`);
    const state = runtimeState();
    const waitingPools = [...new Set(all.filter((i) => i.state === 'waiting').map((i) => i.plan.pool))];
    const event: ReplanEvent = { reason, pools: [...eventPools], observations: observations(), waitingPools };
    eventPools.clear();
    replans++;
    const schedule = policy.replan(state, event, current);
    displaced.clear();
    apply(schedule);
  }

  // Start.
  const first = policy.plan();
  const predictedCostUsd = first.predictedCostUsd;
  const predictedMakespanSeconds = first.predictedMakespanSeconds;
  apply(first);
  if (policy.replanEverySeconds) q.push(policy.replanEverySeconds, Ev.Periodic);

  while (doneCount < n) {
    if (q.size === 0) fail(`stalled at ${now.toFixed(0)} s with ${n - doneCount} sub-tasks left`);
    const e = q.pop();
    if (e.t > maxSeconds) fail(`still running after ${maxSeconds} s`);
    now = Math.max(now, e.t);
    const inst = e.inst;
    switch (e.type) {
      case Ev.Launch:
        if (inst && e.version === inst.version && (inst.state === 'planned' || inst.state === 'waiting')) {
          inst.wakeAt = NaN;
          if (inst.state === 'waiting') launch(inst);
          else tryLaunch(inst);
        }
        break;
      case Ev.Booted:
        if (inst && e.version === inst.version && inst.state === 'booting') {
          inst.state = 'running';
          tryDispatch(inst);
        }
        break;
      case Ev.Wake:
        if (inst && e.version === inst.version) {
          inst.wakeAt = NaN;
          tryDispatch(inst);
        }
        break;
      case Ev.Done: {
        const v = e.task!;
        if (e.version !== attempt[v] || status[v] !== 1) break;
        const on = runOn[v]!;
        status[v] = 2;
        doneAt[v] = now;
        doneOn[v] = on;
        completions[v]!++;
        doneCount++;
        if (!on.spot) onDemandDone++;
        progress[v] = d.duration[v]!;
        on.running.delete(v);
        on.cpuUsed -= d.cpu[v]!;
        on.memUsed -= d.memoryMiB[v]!;
        for (let i = d.succStart[v]!; i < d.succStart[v + 1]!; i++) {
          const s = assigned[d.succ[i]!];
          if (!s || s === on) continue;
          if (s.state === 'planned') tryLaunch(s);
          else tryDispatch(s);
        }
        if (on.state === 'doomed') {
          if (on.running.size === 0) {
            // Nothing left on it: release it now rather than at the interruption.
            on.version++;
            billingEnd(on, now);
            on.state = 'ended';
          }
        } else tryDispatch(on);
        break;
      }
      case Ev.Notice:
        if (inst && e.version === inst.version && (inst.state === 'booting' || inst.state === 'running')) {
          inst.state = 'doomed';
          inst.interrupted = true;
          interruptions++;
          interruptionsByPool.set(inst.plan.pool, (interruptionsByPool.get(inst.plan.pool) ?? 0) + 1);
          eventPools.add(inst.plan.pool);
          for (const v of [...inst.running]) if (finishAt[v]! > inst.interruptAt + EPS) stop(v, inst);
          for (const v of inst.queue) if (status[v] === 0 && assigned[v] === inst) displace(v);
          inst.queue = [];
          q.push(inst.interruptAt, Ev.Terminate, inst.version, inst);
          requestReplan('interruption');
        }
        break;
      case Ev.Terminate:
        if (inst && e.version === inst.version && inst.state === 'doomed') {
          for (const v of [...inst.running]) stop(v, inst);
          inst.version++;
          billingEnd(inst, now);
          inst.state = 'ended';
        }
        break;
      case Ev.Replan:
        if (replanPending !== undefined) {
          const reason = replanPending;
          replanPending = undefined;
          doReplan(reason);
        }
        break;
      case Ev.Periodic:
        if (doneCount < n) {
          doReplan('periodic');
          q.push(now + policy.replanEverySeconds!, Ev.Periodic);
        }
        break;
    }
  }
  const makespan = now;
  for (const inst of all) release(inst);

  // Invariants.
  for (let v = 0; v < n; v++) {
    if (completions[v] !== 1) fail(`${d.ids[v]} completed ${completions[v]} times`);
    for (let i = d.predStart[v]!; i < d.predStart[v + 1]!; i++) {
      const u = d.pred[i]!;
      if (doneAt[u]! > startAt[v]! + EPS) fail(`${d.ids[v]} ran before ${d.ids[u]} finished`);
    }
  }
  let cost = 0;
  let check = 0;
  let spotHours = 0;
  let odHours = 0;
  const records: SimInstanceRecord[] = [];
  for (const inst of all) {
    if (Number.isNaN(inst.launchedAt)) continue;
    cost += inst.costUsd;
    const hours = (inst.endedAt - inst.launchedAt) / 3600;
    if (inst.spot) {
      spotHours += hours;
      // Independent re-computation: walk the price steps one by one.
      const f = market.pools[inst.pool]!.price;
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
        check += (f.at(t) * (end - t)) / 3600;
        t = end;
      }
      const paid = market.maxPrice(inst.pool, inst.launchedAt, inst.endedAt);
      if (paid > inst.plan.maxPricePerHour + EPS)
        fail(`${inst.plan.id} paid ${paid} $/h above its MaxPrice ${inst.plan.maxPricePerHour}`);
      if (preferences.maxSpotPrice !== undefined && paid > preferences.maxSpotPrice + EPS)
        fail(`${inst.plan.id} paid above maxSpotPrice`);
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
    fail(`billed cost ${cost} ≠ Σ time × price ${check}`);
  if (preferences.budget !== undefined && cost > preferences.budget + EPS)
    fail(`cost ${cost} above the budget ${preferences.budget}`);
  const deadline = preferences.deadline;
  return {
    policy: policy.name,
    costUsd: cost,
    makespanSeconds: makespan,
    deadlineSeconds: deadline,
    deadlineMet: deadline === undefined || makespan <= deadline + EPS,
    interruptions,
    launchFailures,
    lostWorkHours: lostWork,
    replans,
    instancesLaunched: records.length,
    spotInstanceHours: spotHours,
    onDemandInstanceHours: odHours,
    onDemandTaskFraction: n > 0 ? onDemandDone / n : 0,
    predictedCostUsd,
    predictedMakespanSeconds,
    instances: records,
  };
}
