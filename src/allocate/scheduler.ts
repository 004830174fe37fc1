/**
 * The list scheduler shared by spotdag and the baselines: takes ready sub-tasks in priority order
 * and places each on the candidate (existing instance, or a new instance of a pool on the spot or
 * on-demand market) with the lowest score. Scores:
 *
 *   spotdag   E[cost] + v_t · E[finish] + risk, subject to the deadline (latest finish per sub-task)
 *   eft       earliest finish (HEFT's processor choice), cost breaks ties
 *   cost      cheapest marginal cost, finish breaks ties (greedy baselines)
 *
 * E[cost] is the marginal bill (an existing instance is paid up to its planned release; extending it
 * costs the extension, a new one costs boot + run) plus the expected rework: with P(interrupted) =
 * p over the run, checkpoint interval τ, checkpoint cost C, restart r and boot b, an interruption
 * loses about τ/2 + C of work and r + b of setup, so E[rework] = p · (τ/2 + C + r + b).
 */
import { Heap } from 'heap-js';
import type { Preferences } from './preferences';
import type { DagArrays } from './rank';
import type {
  AllocationForecast,
  PoolOption,
  ResolvedFleet,
  SpotdagInstancePlan,
  SpotdagPlacement,
  SpotdagSchedule,
  RankOrder,
} from './types';
import type { TransferInstruction } from '../job/types';
import { NoCapacityError } from './errors';
import { minOf } from '../util/array';

export type Scoring = 'spotdag' | 'eft' | 'cost';
export type Market = 'spot' | 'on-demand';

/** A (pool, market) a new instance may be bought from. */
export interface NewInstanceOption {
  pool: number;
  market: Market;
  /** A spot pool without capacity now: the time (job seconds) it is expected back. */
  notBefore?: number;
}

/**
 * The first time in [from, from + maxSeconds] at which spot capacity in `pool` is more likely
 * there than not, or undefined. Availability forecasts relax monotonically from the last observed
 * state, so a doubling search then a bisection finds it in a few dozen evaluations.
 */
export function availableFrom(
  forecast: AllocationForecast,
  pool: number,
  from: number,
  maxSeconds: number,
  resolution: number,
): number | undefined {
  const ok = (t: number) => forecast.availability(pool, t) >= 0.5;
  if (ok(from)) return from;
  const end = from + maxSeconds;
  const tolerance = Math.max(resolution, 1e-3);
  let lo = from;
  let step = tolerance;
  let hi = Math.min(end, from + step);
  while (!ok(hi)) {
    if (hi >= end) return undefined;
    lo = hi;
    step *= 2;
    hi = Math.min(end, hi + step);
  }
  for (let i = 0; i < 64 && hi - lo > tolerance; i++) {
    const mid = (lo + hi) / 2;
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

export interface SchedulerInput {
  d: DagArrays;
  forecast: AllocationForecast;
  fleet: ResolvedFleet;
  preferences: Preferences;
  /** Priority in [0, 1] per node (higher first). */
  priority: Float64Array;
  order: RankOrder;
  scoring: Scoring;
  now: number;
  /** Finished nodes: finish time and instance id (NaN / undefined when not done). */
  doneAt?: Map<number, { at: number; instance: string }>;
  running?: Map<number, { finish: number; instance: string }>;
  /** Seconds of work already checkpointed, per node. */
  progress?: Map<number, number>;
  /** Instances that may be reused. */
  existing?: SpotdagInstancePlan[];
  /** Nodes that keep their instance (local re-plan). */
  forced?: Map<number, string>;
  /** New instances may come only from these options (default: spotdag's pre-selection). */
  newOptions?: NewInstanceOption[];
  /** Pools (indices) not to start new spot instances in. */
  penalised?: Set<number>;
  /** Next numeric id for new instances (`i<n>`). */
  nextInstanceId?: number;
  /** Spot pools without capacity now stay options from when they are expected back (the controller). */
  waitForSpot?: { maxSeconds: number };
  /** Nodes that must run on on-demand capacity (the controller's deadline safety net). */
  onDemand?: ReadonlySet<number>;
  /**
   * The runtime controller's deadline safety net watches the job: a spot placement is feasible
   * when its expected finish meets its latest finish (default: its worst case must).
   */
  guarded?: boolean;
}

/** Spot pools kept per instance shape when pre-selecting new-instance options. */
const SPOT_POOLS_PER_SHAPE = 12;
const OD_POOLS_PER_SHAPE = 3;

interface Inst {
  plan: SpotdagInstancePlan;
  pool: number;
  spot: boolean;
  lanes: Float64Array;
  laneMem: Float64Array;
  availableFrom: number;
  /** Billing is sunk up to here; extending beyond costs. */
  paidUntil: number;
  price: number;
  existing: boolean;
}

const OBJECTIVE_WEIGHTS: Record<Preferences['objective'], { time: number; risk: number }> = {
  'minimize-cost': { time: 0.05, risk: 0.5 },
  balanced: { time: 1, risk: 2 },
  'minimize-time': { time: 20, risk: 4 },
};

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function bandwidth(
  fleet: ResolvedFleet,
  a: PoolOption | undefined,
  b: PoolOption | undefined,
): number {
  if (!a || !b) return fleet.bandwidth.region;
  if (a.zone === b.zone) return fleet.bandwidth.zone;
  if (a.region === b.region) return fleet.bandwidth.region;
  return fleet.bandwidth.world;
}

/**
 * Young's checkpoint interval √(2·C/λ) for a hazard λ per hour, at least `minSeconds` (default
 * 5 min); 0 = no checkpoints.
 */
export function checkpointInterval(
  workSeconds: number,
  hazardPerHour: number,
  checkpointSeconds: number,
  minSeconds = 300,
): number {
  if (!(hazardPerHour > 0)) return 0;
  const tau = Math.max(minSeconds, Math.sqrt((2 * checkpointSeconds * 3600) / hazardPerHour));
  return tau >= workSeconds ? 0 : tau;
}

/** Wall time of `work` seconds with checkpoints every τ (cost C each) and a restart of r. */
export function wallSeconds(work: number, tau: number, checkpointSeconds: number, restart: number): number {
  const checkpoints = tau > 0 ? Math.max(0, Math.ceil(work / tau) - 1) : 0;
  return restart + work + checkpoints * checkpointSeconds;
}

/**
 * Pre-selects the pools new instances may come from: per instance shape, the spot pools with the
 * lowest risk-adjusted price (excluding penalised, unavailable or over-`maxSpotPrice` pools) and the
 * cheapest on-demand pools.
 */
export function preselectOptions(
  forecast: AllocationForecast,
  fleet: ResolvedFleet,
  preferences: Preferences,
  now: number,
  penalised: Set<number> = new Set(),
  /** Keep spot pools without capacity now, from when they are expected back (within `maxSeconds`). */
  wait?: { maxSeconds: number },
): NewInstanceOption[] {
  const byShape = new Map<string, number[]>();
  forecast.pools.forEach((p, i) => {
    const shape = `${p.vcpu}/${p.memoryMiB}`;
    let list = byShape.get(shape);
    if (!list) byShape.set(shape, (list = []));
    list.push(i);
  });
  const out: NewInstanceOption[] = [];
  const horizon = 2 * 3600;
  // A launch needs capacity when it is made, now; the instance then runs from `start`.
  const start = now + fleet.bootSeconds;
  for (const pools of byShape.values()) {
    const spot = pools
      .filter((i) => !penalised.has(i))
      .map((i) => {
        const back = wait
          ? availableFrom(forecast, i, now, wait.maxSeconds, fleet.bootSeconds / 4)
          : forecast.availability(i, start) >= 0.5
            ? now
            : undefined;
        return { i, back };
      })
      .filter((x): x is { i: number; back: number } => x.back !== undefined)
      .map(({ i, back }) => {
        const price = forecast.spotPrice(i, back + fleet.bootSeconds, back + fleet.bootSeconds + horizon);
        const loss = (fleet.minCheckpointIntervalSeconds + fleet.restartSeconds + fleet.bootSeconds) / 3600;
        return { i, back, price, eff: price * (1 + forecast.hazardPerHour(i) * loss * 4) };
      })
      .filter((x) => x.price < forecast.pools[x.i]!.onDemandPricePerHour)
      .filter((x) => preferences.maxSpotPrice === undefined || x.price <= preferences.maxSpotPrice)
      .sort((a, b) => a.eff - b.eff || a.i - b.i)
      .slice(0, SPOT_POOLS_PER_SHAPE);
    for (const x of spot)
      out.push({
        pool: x.i,
        market: 'spot',
        ...(x.back > now ? { notBefore: x.back } : {}),
      });
    const od = [...pools]
      .sort(
        (a, b) => forecast.pools[a]!.onDemandPricePerHour - forecast.pools[b]!.onDemandPricePerHour || a - b,
      )
      .slice(0, OD_POOLS_PER_SHAPE);
    for (const i of od) out.push({ pool: i, market: 'on-demand' });
  }
  return out;
}

/** Runs the list scheduler; returns the schedule of every node that is neither done nor running. */
export function listSchedule(input: SchedulerInput): SpotdagSchedule {
  const { d, forecast, fleet, preferences, priority, now } = input;
  const pools = forecast.pools;
  const n = d.ids.length;
  const doneAt = input.doneAt ?? new Map();
  const running = input.running ?? new Map();
  const progress = input.progress ?? new Map();
  const forced = input.forced ?? new Map();
  const penalised = input.penalised ?? new Set<number>();
  const options =
    input.newOptions ?? preselectOptions(forecast, fleet, preferences, now, penalised, input.waitForSpot);
  const weights = OBJECTIVE_WEIGHTS[preferences.objective];
  const deadline = preferences.deadline;
  const poolIndex = new Map(pools.map((p, i) => [p.key, i]));

  // Reference on-demand price per vCPU-second: converts time into money.
  const odPerVcpuSecond = median(pools.map((p) => p.onDemandPricePerHour / p.vcpu)) / 3600 || 1e-5;

  // Where each placed node ran, when it finished.
  const finish = new Float64Array(n).fill(NaN);
  const where: Array<Inst | undefined> = new Array(n);
  const instById = new Map<string, Inst>();
  const insts: Inst[] = [];
  let nextId = input.nextInstanceId ?? 0;

  const addInst = (plan: SpotdagInstancePlan, existing: boolean, availableFrom: number): Inst => {
    const pool = poolIndex.get(plan.pool) ?? -1;
    const inst: Inst = {
      plan,
      pool,
      spot: plan.market === 'spot',
      lanes: new Float64Array(Math.max(1, plan.vcpu)).fill(availableFrom),
      laneMem: new Float64Array(Math.max(1, plan.vcpu)),
      availableFrom,
      paidUntil: existing ? now : availableFrom,
      price: plan.predictedPricePerHour,
      existing,
    };
    instById.set(plan.id, inst);
    insts.push(inst);
    return inst;
  };
  for (const plan of input.existing ?? []) {
    const copy: SpotdagInstancePlan = { ...plan, releaseAt: now };
    addInst(copy, true, Math.max(now, plan.launchAt + fleet.bootSeconds));
  }
  // Done and running nodes: fixed finish times; running ones occupy lanes.
  for (const [v, info] of doneAt) {
    finish[v] = info.at;
    where[v] = instById.get(info.instance);
  }
  for (const [v, info] of running) {
    finish[v] = info.finish;
    const inst = instById.get(info.instance);
    where[v] = inst;
    if (inst) occupy(inst, d.cpu[v]!, d.memoryMiB[v]!, now, info.finish);
  }
  for (const inst of insts) inst.paidUntil = Math.max(inst.paidUntil, inst.plan.releaseAt);

  // Latest finish per node from the deadline: LF(u) = min over successors (LF(v) − work(v) − transfer).
  const latest = new Float64Array(n).fill(Infinity);
  if (deadline !== undefined) {
    for (let k = n - 1; k >= 0; k--) {
      const v = d.topo[k]!;
      let lf = deadline;
      for (let i = d.succStart[v]!; i < d.succStart[v + 1]!; i++) {
        const s = d.succ[i]!;
        const work = Math.max(0, d.duration[s]! - (progress.get(s) ?? 0));
        lf = Math.min(lf, latest[s]! - work - d.succBytes[i]! / fleet.bandwidth.region);
      }
      latest[v] = lf;
    }
  }

  // On-demand is forced for the highest-ranked share `minOnDemandFraction` of all nodes.
  const forceOd = new Uint8Array(n);
  if (preferences.minOnDemandFraction > 0) {
    const byRank = Array.from({ length: n }, (_, v) => v).sort(
      (a, b) => priority[b]! - priority[a]! || a - b,
    );
    const k = Math.ceil(preferences.minOnDemandFraction * n);
    for (let i = 0; i < k; i++) forceOd[byRank[i]!] = 1;
  }
  for (const v of input.onDemand ?? []) forceOd[v] = 1;

  const topoPos = new Int32Array(n);
  d.topo.forEach((v, k) => (topoPos[v] = k));
  // Highest priority first; ties in topological order.
  const key = (v: number) => priority[v]! * 1e6 - topoPos[v]! / n;
  const heap = new Heap<number>((a, b) => key(b) - key(a));
  const waiting = new Int32Array(n);
  let toPlace = 0;
  for (let v = 0; v < n; v++) {
    if (!Number.isNaN(finish[v]!)) continue;
    toPlace++;
    let w = 0;
    for (let i = d.predStart[v]!; i < d.predStart[v + 1]!; i++) if (Number.isNaN(finish[d.pred[i]!]!)) w++;
    waiting[v] = w;
    if (w === 0) heap.push(v);
  }

  const placements: SpotdagPlacement[] = [];
  const transfers: TransferInstruction[] = [];
  let predictedInterruptions = 0;
  let onDemandCount = 0;

  function occupy(inst: Inst, cpu: number, mem: number, start: number, end: number): void {
    const need = Math.max(1, Math.ceil(cpu));
    for (let k = 0; k < need; k++) {
      let best = -1;
      for (let l = 0; l < inst.lanes.length; l++)
        if (inst.lanes[l]! <= start + 1e-9 && (best === -1 || inst.lanes[l]! > inst.lanes[best]!)) best = l;
      if (best === -1) best = inst.lanes.indexOf(minOf(inst.lanes));
      inst.lanes[best] = end;
      inst.laneMem[best] = mem / need;
    }
    if (end > inst.plan.releaseAt) inst.plan.releaseAt = end;
  }

  /** Earliest time ≥ ready at which `cpu` lanes are free and memory fits, or Infinity. */
  function earliestStart(inst: Inst, cpu: number, mem: number, ready: number): number {
    const need = Math.max(1, Math.ceil(cpu));
    if (need > inst.lanes.length || mem > inst.plan.memoryMiB) return Infinity;
    const t0 = Math.max(ready, inst.availableFrom);
    const times = [t0];
    for (const t of inst.lanes) if (t > t0) times.push(t);
    times.sort((a, b) => a - b);
    for (const t of times) {
      let free = 0;
      let busyMem = 0;
      for (let l = 0; l < inst.lanes.length; l++) {
        if (inst.lanes[l]! <= t + 1e-9) free++;
        else busyMem += inst.laneMem[l]!;
      }
      if (free >= need && busyMem + mem <= inst.plan.memoryMiB) return t;
    }
    return Infinity;
  }

  function readyOn(v: number, pool: PoolOption | undefined, instId: string | undefined): number {
    let ready = now;
    for (let i = d.predStart[v]!; i < d.predStart[v + 1]!; i++) {
      const u = d.pred[i]!;
      const from = where[u];
      let t = finish[u]!;
      if (!from || from.plan.id !== instId) {
        t += d.predBytes[i]! / bandwidth(fleet, from ? pools[from.pool] : undefined, pool);
      }
      if (t > ready) ready = t;
    }
    return ready;
  }

  interface Choice {
    score: number;
    start: number;
    finish: number;
    tau: number;
    p: number;
    cost: number;
    feasible: boolean;
    inst?: Inst;
    option?: NewInstanceOption;
  }

  while (heap.length > 0) {
    const v = heap.pop()!;
    const work = Math.max(0, d.duration[v]! - (progress.get(v) ?? 0));
    const restart = (progress.get(v) ?? 0) > 0 ? fleet.restartSeconds : 0;
    const cpu = d.cpu[v]!;
    const mem = d.memoryMiB[v]!;
    const timeValue = weights.time * odPerVcpuSecond * Math.max(1, cpu) * (1 + 4 * priority[v]!);
    const riskValue = weights.risk * odPerVcpuSecond * Math.max(1, cpu) * priority[v]!;
    let best: Choice | undefined;

    const consider = (
      inst: Inst | undefined,
      option: NewInstanceOption | undefined,
      pool: PoolOption,
      poolIdx: number,
      spot: boolean,
      start: number,
      price: number,
      paidUntil: number,
      launch: number,
    ) => {
      const hazard = spot ? forecast.hazardPerHour(poolIdx) : 0;
      const tau = spot
        ? checkpointInterval(work, hazard, fleet.checkpointSeconds, fleet.minCheckpointIntervalSeconds)
        : 0;
      const wall = wallSeconds(work, tau, fleet.checkpointSeconds, restart);
      const end = start + wall;
      const p = spot ? forecast.interruptionProbability(poolIdx, Math.max(start, launch), end) : 0;
      const lost =
        (tau > 0 ? tau / 2 + fleet.checkpointSeconds : wall / 2) + fleet.restartSeconds + fleet.bootSeconds;
      const bill = (price * Math.max(0, end - Math.max(paidUntil, launch))) / 3600;
      const cost = bill + (p * lost * price) / 3600;
      const expFinish = end + p * lost;
      const worst = spot
        ? end +
          (tau > 0 ? tau + fleet.checkpointSeconds : wall) +
          fleet.restartSeconds +
          fleet.bootSeconds +
          fleet.noticeSeconds
        : end;
      // Under the runtime controller its deadline safety net covers an interruption; otherwise the
      // placement must survive one at the worst moment.
      const feasible = (input.guarded ? expFinish : worst) <= latest[v]! && !(spot && forceOd[v]);
      let score: number;
      if (input.scoring === 'eft') score = end + cost * 1e-6;
      else if (input.scoring === 'cost') score = bill + end * 1e-9;
      else score = cost + timeValue * expFinish + riskValue * p * lost;
      // Infeasible (late) choices only win when nothing is feasible: then the earliest finish.
      if (
        !best ||
        (feasible && !best.feasible) ||
        (feasible === best.feasible && (feasible ? score < best.score : end < best.finish))
      ) {
        best = { score, start, finish: end, tau, p, cost, feasible, inst, option };
      }
      void pool;
    };

    const forcedId = forced.get(v);
    const forcedInst = forcedId !== undefined ? instById.get(forcedId) : undefined;
    let alive = 0;
    const horizonStart = now + fleet.bootSeconds;
    for (const inst of forcedInst ? [forcedInst] : insts) {
      if (inst.plan.releaseAt > horizonStart) alive++;
      if (inst.pool < 0) continue;
      if (inst.spot && forceOd[v] && !forcedInst) continue;
      const pool = pools[inst.pool]!;
      const ready = readyOn(v, pool, inst.plan.id);
      const start = earliestStart(inst, cpu, mem, ready);
      if (!Number.isFinite(start)) continue;
      consider(
        inst,
        undefined,
        pool,
        inst.pool,
        inst.spot,
        start,
        inst.price,
        inst.paidUntil,
        inst.plan.launchAt,
      );
    }
    if (forcedInst && !best) throw new NoCapacityError(d.ids[v]!, `does not fit its instance ${forcedId}`);
    if (!forcedInst) {
      const canOpen = alive < fleet.maxInstances || !best;
      if (canOpen) {
        for (const option of options) {
          const pool = pools[option.pool]!;
          if (Math.ceil(cpu) > pool.vcpu || mem > pool.memoryMiB) continue;
          const spot = option.market === 'spot';
          if (spot && forceOd[v]) continue;
          const start = Math.max(
            readyOn(v, pool, undefined),
            Math.max(now, option.notBefore ?? now) + fleet.bootSeconds,
          );
          const launch = start - fleet.bootSeconds;
          const price = spot
            ? forecast.spotPrice(option.pool, launch, start + work)
            : pool.onDemandPricePerHour;
          if (spot && preferences.maxSpotPrice !== undefined && price > preferences.maxSpotPrice) continue;
          consider(undefined, option, pool, option.pool, spot, start, price, launch, launch);
        }
      }
    }
    const choice = best as Choice | undefined;
    if (!choice)
      throw new NoCapacityError(d.ids[v]!, `needs ${cpu} cores and ${mem} MiB; no pool offered fits`);

    let inst = choice.inst;
    if (!inst) {
      const option = choice.option!;
      const pool = pools[option.pool]!;
      const launch = choice.start - fleet.bootSeconds;
      const spot = option.market === 'spot';
      const price = spot ? forecast.spotPrice(option.pool, launch, choice.finish) : pool.onDemandPricePerHour;
      const plan: SpotdagInstancePlan = {
        id: `i${nextId++}`,
        pool: pool.key,
        slots: pool.vcpu,
        market: option.market,
        maxPricePerHour: pool.onDemandPricePerHour,
        instanceType: pool.instanceType,
        zone: pool.zone,
        region: pool.region,
        vcpu: pool.vcpu,
        memoryMiB: pool.memoryMiB,
        launchAt: launch,
        releaseAt: choice.start,
        predictedPricePerHour: price,
        predictedCostUsd: 0,
      };
      inst = addInst(plan, false, choice.start);
      inst.paidUntil = launch;
    }
    occupy(inst, cpu, mem, choice.start, choice.finish);
    inst.paidUntil = Math.max(inst.paidUntil, choice.finish);
    finish[v] = choice.finish;
    where[v] = inst;
    if (inst.spot) predictedInterruptions += choice.p;
    else onDemandCount++;
    placements.push({
      subTaskId: d.ids[v]!,
      instanceId: inst.plan.id,
      start: choice.start,
      finish: choice.finish,
      checkpointIntervalSeconds: choice.tau,
      interruptionProbability: choice.p,
      rank: priority[v]!,
    });
    for (let i = d.predStart[v]!; i < d.predStart[v + 1]!; i++) {
      const u = d.pred[i]!;
      const from = where[u];
      if (from?.plan.id === inst.plan.id) continue;
      transfers.push({
        from: d.ids[u]!,
        to: d.ids[v]!,
        fromInstance: from?.plan.id ?? 'store',
        toInstance: inst.plan.id,
        bytes: d.predBytes[i]!,
        seconds: d.predBytes[i]! / bandwidth(fleet, from ? pools[from.pool] : undefined, pools[inst.pool]),
      });
    }
    for (let i = d.succStart[v]!; i < d.succStart[v + 1]!; i++) {
      const s = d.succ[i]!;
      if (Number.isNaN(finish[s]!) && --waiting[s]! === 0) heap.push(s);
    }
  }
  if (placements.length !== toPlace) throw new Error('list scheduler: some sub-tasks were never ready');

  // Instances used by this plan (existing ones only if something still runs or is placed on them).
  const used = new Set(placements.map((p) => p.instanceId));
  for (const info of running.values()) used.add(info.instance);
  const instances: SpotdagInstancePlan[] = [];
  let cost = 0;
  for (const inst of insts) {
    if (!used.has(inst.plan.id)) continue;
    const plan = inst.plan;
    const from = inst.existing ? now : plan.launchAt;
    const hours = Math.max(0, plan.releaseAt - from) / 3600;
    if (inst.spot && inst.pool >= 0) {
      if (!inst.existing) {
        const upper = forecast.spotPriceUpper(inst.pool, plan.launchAt, plan.releaseAt);
        const cap = Math.min(
          pools[inst.pool]!.onDemandPricePerHour,
          preferences.maxSpotPrice ?? Infinity,
          Math.max(upper, plan.predictedPricePerHour),
        );
        plan.maxPricePerHour = cap;
      }
    }
    plan.predictedCostUsd = hours * plan.predictedPricePerHour;
    cost += plan.predictedCostUsd;
    instances.push(plan);
  }
  placements.sort((a, b) => a.start - b.start || a.finish - b.finish);
  let makespan = now;
  for (let v = 0; v < n; v++) if (finish[v]! > makespan) makespan = finish[v]!;
  return {
    instances,
    placements,
    transfers,
    predictedMakespanSeconds: makespan,
    predictedCostUsd: cost,
    order: input.order,
    objective: preferences.objective,
    deadlineSeconds: deadline,
    predictedInterruptions,
    onDemandFraction: placements.length > 0 ? onDemandCount / placements.length : 0,
    plannedAtSeconds: now,
  };
}
