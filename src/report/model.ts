/**
 * The report of one job, built from its history (see history.ts): a Gantt chart of sub-tasks over
 * instances with the interruptions, cost over time (planned vs. actual) and the price forecasts
 * the job was planned with. Pure; all times are seconds since the run phase began.
 */
import type { PoolView, SubTaskOutcome, SubTaskTransfers } from '../job/types';
import type { JobStatus, ReportInput } from './history';
import { maxOf, minOf, pushAll } from '../util/array';
import { relocationWork } from '../job/work-accounting';

/** One instance: a row of the Gantt chart. */
export interface Lane {
  id: string;
  /** The schedule's logical instance (i0, i1, …) it fulfils, also for replacements. */
  planId?: string;
  /** The instance it replaced after an interruption. */
  replaces?: string;
  pool?: string;
  /** e.g. `17rk8bo-i0 · c5.large · us-east-1a · spot` */
  label: string;
}

export interface Bar {
  lane: string;
  subTaskId: string;
  start: number;
  end: number;
}

export interface Interruption {
  lane: string;
  subTaskId: string;
  at: number;
  /** The replacement the sub-task moved to. */
  to: string;
  reason: string;
}

export interface CostPoint {
  /** Seconds since the run began. */
  t: number;
  /** Cumulative cost (USD). */
  usd: number;
}

export interface PriceSeries {
  pool: string;
  label: string;
  /** Hours since the forecast was made, and the predicted price per instance-hour from there. */
  points: Array<{ hour: number; usdPerHour: number }>;
}

export interface ReportTotals {
  subTasks: number;
  subTasksDone: number;
  subTasksUnfinished: number;
  instancesPlanned: number;
  instancesProvisioned: number;
  replacements: number;
  interruptions: number;
  attempts: number;
  plannedMakespanSeconds?: number;
  actualMakespanSeconds?: number;
  /** The allocator's estimate (Schedule.predictedCostUsd). */
  allocatorCostUsd?: number;
  /** Placements × pool price: the end of the planned cost curve. */
  plannedCostUsd: number;
  /** Outcomes' start/finish × pool price: the end of the actual cost curve. */
  actualCostUsd: number;
  /** What the job itself reported (JobResult.costUsd), when it finished. */
  reportedCostUsd?: number;
  /**
   * Work redone after lost instances, from the outcomes (src/job/work-accounting.ts), and of it
   * what was counted to a heartbeat timeout (death time unknown, an upper bound).
   */
  workLostSeconds: number;
  workLostEstimatedSeconds: number;
  /** What the job itself reported (JobResult.workLostSeconds), when it finished. */
  reportedWorkLostSeconds?: number;
  jobElapsedSeconds?: number;
  /** Bytes the schedule planned to move between instances (its transfer instructions). */
  plannedTransferBytes?: number;
  /** Input bytes sub-tasks read, of which fetched from the artifact store when they started (the rest was already on the instance, prefetched or cached). */
  inputBytes: number;
  fetchedBytes: number;
  /** Time sub-tasks spent getting their inputs in place, and uploading their outputs (summed). */
  inputSeconds: number;
  outputBytes: number;
  outputSeconds: number;
}

/** The data one sub-task moved, as its outcome recorded it (command steps). */
export type TransferRow = { subTaskId: string; instanceId: string } & Omit<
  SubTaskTransfers,
  'checkpoints' | 'checkpointBytes'
>;

/** Who a tenant's job's cost is attributed to (docs/tenants.md). */
export interface ReportTenancy {
  tenant: string;
  priority: number;
  weight: number;
  fleet: string;
}

export interface ReportModel {
  workflowId: string;
  name?: string;
  /** A tenant's job: its cost is attributed to the tenant. */
  tenancy?: ReportTenancy;
  status: JobStatus;
  failure?: string;
  startedAtMs?: number;
  closedAtMs?: number;
  /** The time all chart times count from (the run phase's start). */
  originMs: number;
  lanes: Lane[];
  gantt: {
    planned: Bar[];
    /** A sub-task's work on the instance it finished on. */
    ran: Bar[];
    /** Work on an instance that was lost, up to the move to its replacement. */
    interrupted: Bar[];
    /** Started and not finished (still running when the history was read, or failed). */
    unfinished: Bar[];
    interruptions: Interruption[];
  };
  cost: { planned: CostPoint[]; actual: CostPoint[] };
  prices: {
    /** Hours since the forecast was made at which the run began and ended. */
    runWindowHours?: [number, number];
    series: PriceSeries[];
  };
  /** Sub-tasks that moved data, most bytes first. */
  transfers: TransferRow[];
  totals: ReportTotals;
}

/** A stretch of time an instance slot is paid for, at its pool's price; seconds since the origin. */
export interface CostSegment {
  start: number;
  end: number;
  pool?: PoolView;
  /** The share of the instance's price (1 / slots). */
  share: number;
}

const seconds = (ms: number, originMs: number) => (ms - originMs) / 1000;

function poolLabel(pool: PoolView | undefined): string {
  return pool ? `${pool.instanceType} · ${pool.zone} · ${pool.market}` : '';
}

/**
 * The predicted price of a pool at a time (seconds on the same clock as `forecastAt`, when the
 * forecast was made); before and after the horizon, its first and last steps.
 */
export function priceAt(pool: PoolView, at: number, forecastAt: number): number {
  const prices = pool.pricePerHour;
  if (prices.length === 0) return 0;
  const step = Math.floor((at - forecastAt) / pool.stepSeconds);
  return prices[Math.min(prices.length - 1, Math.max(0, step))] ?? 0;
}

/**
 * The cumulative cost of paid segments over time: piecewise linear, with a point wherever a
 * segment starts or ends or a pool's forecast steps to its next price. Times are seconds since the
 * origin; `forecastAt` is when the forecast was made, on that clock.
 */
export function cumulativeCost(segments: CostSegment[], forecastAt: number): CostPoint[] {
  const paid = segments.filter((s) => s.end > s.start);
  if (paid.length === 0) return [];
  const times = new Set<number>();
  const deltas = new Map<number, Map<PoolView | undefined, number>>();
  const addDelta = (t: number, pool: PoolView | undefined, share: number) => {
    const byPool = deltas.get(t) ?? new Map<PoolView | undefined, number>();
    byPool.set(pool, (byPool.get(pool) ?? 0) + share);
    deltas.set(t, byPool);
  };
  let first = Infinity;
  let last = -Infinity;
  for (const s of paid) {
    times.add(s.start);
    times.add(s.end);
    addDelta(s.start, s.pool, s.share);
    addDelta(s.end, s.pool, -s.share);
    first = Math.min(first, s.start);
    last = Math.max(last, s.end);
  }
  for (const pool of new Set(paid.map((s) => s.pool))) {
    if (!pool) continue;
    const from = Math.max(1, Math.ceil((first - forecastAt) / pool.stepSeconds));
    for (let k = from; k < pool.pricePerHour.length; k++) {
      const t = forecastAt + k * pool.stepSeconds;
      if (t >= last) break;
      times.add(t);
    }
  }
  const sorted = [...times].sort((a, b) => a - b);
  const active = new Map<PoolView | undefined, number>();
  const points: CostPoint[] = [];
  let usd = 0;
  for (let i = 0; i < sorted.length; i++) {
    const t = sorted[i]!;
    if (i > 0) {
      const prev = sorted[i - 1]!;
      const mid = (prev + t) / 2;
      let ratePerHour = 0;
      for (const [pool, share] of active) if (pool) ratePerHour += share * priceAt(pool, mid, forecastAt);
      usd += (ratePerHour * (t - prev)) / 3600;
    }
    for (const [pool, delta] of deltas.get(t) ?? []) active.set(pool, (active.get(pool) ?? 0) + delta);
    points.push({ t, usd });
  }
  return points;
}

/** Where a sub-task ran: one bar per instance it ran on, ending in a move or its finish. */
function outcomeBars(
  outcome: SubTaskOutcome,
  originMs: number,
): { ran: Bar; interrupted: Bar[]; interruptions: Interruption[] } {
  const moves = [...(outcome.relocations ?? [])].sort((a, b) => a.atMs - b.atMs);
  const interrupted: Bar[] = [];
  const interruptions: Interruption[] = [];
  let from = outcome.startedAtMs;
  for (const move of moves) {
    const bar = { lane: move.from, subTaskId: outcome.subTaskId, start: seconds(from, originMs) };
    interrupted.push({ ...bar, end: seconds(move.atMs, originMs) });
    interruptions.push({
      lane: move.from,
      subTaskId: outcome.subTaskId,
      at: seconds(move.atMs, originMs),
      to: move.to,
      reason: move.reason,
    });
    from = move.atMs;
  }
  const ran = {
    lane: outcome.instanceId,
    subTaskId: outcome.subTaskId,
    start: seconds(from, originMs),
    end: seconds(outcome.finishedAtMs, originMs),
  };
  return { ran, interrupted, interruptions };
}

/** Builds the report of a job from what its history holds (see reportInputFromHistory). */
export function buildReportModel(input: ReportInput): ReportModel {
  const { job, market, schedule, instances = [], outcomes } = input;
  const starts = [...outcomes.map((o) => o.startedAtMs), ...(input.startedAtMs ? [input.startedAtMs] : [])];
  const originMs = input.runStartedAtMs ?? (starts.length ? minOf(starts) : 0);
  const forecastAtMs = market?.generatedAtMs ?? originMs;
  const forecastAt = seconds(forecastAtMs, originMs);
  const pools = new Map((market?.pools ?? []).map((p) => [p.key, p]));
  const plans = new Map((schedule?.instances ?? []).map((i) => [i.id, i]));
  const provisionedOf = new Map(instances.map((i) => [i.planId, i]));
  const placementOf = new Map((schedule?.placements ?? []).map((p) => [p.subTaskId, p]));

  // Lanes: the provisioned instances in plan order (the plan's own before provisioning), each
  // followed by its replacements.
  const found = new Map<string, Omit<Lane, 'label'>>();
  const addLane = (lane: Omit<Lane, 'label'>) => {
    if (!found.has(lane.id)) found.set(lane.id, lane);
  };
  for (const plan of schedule?.instances ?? []) {
    const provisioned = provisionedOf.get(plan.id);
    addLane({ id: provisioned?.id ?? plan.id, planId: plan.id, pool: provisioned?.pool ?? plan.pool });
  }
  for (const i of instances) addLane({ id: i.id, planId: i.planId, pool: i.pool });
  const moves = outcomes.flatMap((o) => o.relocations ?? []).sort((a, b) => a.atMs - b.atMs);
  for (const move of moves) {
    addLane({ id: move.from });
    const from = found.get(move.from)!;
    addLane({ id: move.to, planId: from.planId, pool: from.pool, replaces: move.from });
  }
  for (const outcome of outcomes) addLane({ id: outcome.instanceId });
  const laneOfPlan = (planId: string) => provisionedOf.get(planId)?.id ?? planId;
  for (const u of input.unfinished) {
    const planId = placementOf.get(u.subTaskId)?.instanceId;
    if (u.startedAtMs !== undefined) addLane({ id: planId !== undefined ? laneOfPlan(planId) : '?' });
  }
  const lanes: Lane[] = [];
  const visit = (lane: Omit<Lane, 'label'>) => {
    const pool = lane.pool ? pools.get(lane.pool) : undefined;
    lanes.push({ ...lane, label: [lane.id, poolLabel(pool)].filter(Boolean).join(' · ') });
    for (const next of found.values()) if (next.replaces === lane.id) visit(next);
  };
  for (const lane of found.values())
    if (lane.replaces === undefined || !found.has(lane.replaces)) visit(lane);

  // Gantt bars.
  const planned: Bar[] = (schedule?.placements ?? []).map((p) => ({
    lane: laneOfPlan(p.instanceId),
    subTaskId: p.subTaskId,
    start: p.start,
    end: p.finish,
  }));
  const ran: Bar[] = [];
  const interrupted: Bar[] = [];
  const interruptions: Interruption[] = [];
  for (const outcome of outcomes) {
    const bars = outcomeBars(outcome, originMs);
    ran.push(bars.ran);
    pushAll(interrupted, bars.interrupted);
    pushAll(interruptions, bars.interruptions);
  }
  const endMs = input.closedAtMs ?? Math.max(originMs, maxOf(outcomes.map((o) => o.finishedAtMs)));
  const unfinished: Bar[] = [];
  for (const u of input.unfinished) {
    if (u.startedAtMs === undefined) continue;
    const planId = placementOf.get(u.subTaskId)?.instanceId;
    unfinished.push({
      lane: planId !== undefined ? laneOfPlan(planId) : '?',
      subTaskId: u.subTaskId,
      start: seconds(u.startedAtMs, originMs),
      end: seconds(u.endedAtMs ?? endMs, originMs),
    });
  }

  // Cost: the sub-task's share of its planned instance's price (as the job itself counts it).
  const costOf = (subTaskId: string): { pool?: PoolView; share: number } => {
    const plan = plans.get(placementOf.get(subTaskId)?.instanceId ?? '');
    return { pool: plan ? pools.get(plan.pool) : undefined, share: 1 / Math.max(1, plan?.slots ?? 1) };
  };
  const plannedCost = cumulativeCost(
    (schedule?.placements ?? []).map((p) => ({ start: p.start, end: p.finish, ...costOf(p.subTaskId) })),
    forecastAt,
  );
  const actualCost = cumulativeCost(
    outcomes.map((o) => ({
      start: seconds(o.startedAtMs, originMs),
      end: seconds(o.finishedAtMs, originMs),
      ...costOf(o.subTaskId),
    })),
    forecastAt,
  );

  // Price forecasts: each pool's steps, ending at the horizon.
  const series: PriceSeries[] = (market?.pools ?? []).map((pool) => {
    const points = pool.pricePerHour.map((usdPerHour, i) => ({
      hour: (i * pool.stepSeconds) / 3600,
      usdPerHour,
    }));
    const lastPrice = pool.pricePerHour.at(-1);
    if (lastPrice !== undefined)
      points.push({ hour: (pool.pricePerHour.length * pool.stepSeconds) / 3600, usdPerHour: lastPrice });
    return { pool: pool.key, label: `${pool.key} (${poolLabel(pool)})`, points };
  });
  const lastFinishMs = outcomes.length ? maxOf(outcomes.map((o) => o.finishedAtMs)) : undefined;
  const runWindowHours: [number, number] | undefined =
    market && input.runStartedAtMs !== undefined
      ? [
          (input.runStartedAtMs - forecastAtMs) / 3_600_000,
          ((lastFinishMs ?? input.closedAtMs ?? input.runStartedAtMs) - forecastAtMs) / 3_600_000,
        ]
      : undefined;

  const replacements = lanes.filter((l) => l.replaces !== undefined).length;
  const transfers: TransferRow[] = outcomes
    .filter((o) => o.transfers && o.transfers.inputBytes + o.transfers.outputBytes > 0)
    .map((o) => {
      const { checkpoints: _checkpoints, checkpointBytes: _checkpointBytes, ...moved } = o.transfers!;
      return { subTaskId: o.subTaskId, instanceId: o.instanceId, ...moved };
    })
    .sort((a, b) => b.inputBytes + b.outputBytes - (a.inputBytes + a.outputBytes));
  const estimateOf = new Map(job?.subTasks.map((s) => [s.id, s.durationSeconds]));
  const lostWork = outcomes.map((o) => relocationWork(o, estimateOf.get(o.subTaskId) ?? 0));
  const sum = (key: keyof Omit<TransferRow, 'subTaskId' | 'instanceId'>) =>
    transfers.reduce((total, row) => total + row[key], 0);
  return {
    workflowId: input.workflowId,
    name: job?.name ?? input.result?.name,
    ...(input.tenancy
      ? {
          tenancy: {
            tenant: input.tenancy.tenant.name,
            priority: input.tenancy.priority,
            weight: input.tenancy.tenant.weight,
            fleet: input.tenancy.fleet,
          },
        }
      : {}),
    status: input.status,
    failure: input.failure,
    startedAtMs: input.startedAtMs,
    closedAtMs: input.closedAtMs,
    originMs,
    lanes,
    gantt: { planned, ran, interrupted, unfinished, interruptions },
    cost: { planned: plannedCost, actual: actualCost },
    prices: { runWindowHours, series },
    transfers,
    totals: {
      subTasks: job?.subTasks.length ?? outcomes.length + input.unfinished.length,
      subTasksDone: outcomes.length,
      subTasksUnfinished: input.unfinished.length,
      instancesPlanned: schedule?.instances.length ?? 0,
      instancesProvisioned: instances.length,
      replacements,
      interruptions: interruptions.length,
      attempts: outcomes.reduce((sum, o) => sum + o.attempts, 0),
      plannedMakespanSeconds: schedule?.predictedMakespanSeconds,
      actualMakespanSeconds: lastFinishMs !== undefined ? seconds(lastFinishMs, originMs) : undefined,
      allocatorCostUsd: schedule?.predictedCostUsd,
      plannedCostUsd: plannedCost.at(-1)?.usd ?? 0,
      actualCostUsd: actualCost.at(-1)?.usd ?? 0,
      reportedCostUsd: input.result?.costUsd,
      workLostSeconds: lostWork.reduce((total, w) => total + w.lostSeconds, 0),
      workLostEstimatedSeconds: lostWork.reduce((total, w) => total + w.estimatedLostSeconds, 0),
      reportedWorkLostSeconds: input.result?.workLostSeconds,
      jobElapsedSeconds:
        input.closedAtMs !== undefined && input.startedAtMs !== undefined
          ? (input.closedAtMs - input.startedAtMs) / 1000
          : undefined,
      plannedTransferBytes: schedule?.transfers.reduce((total, t) => total + t.bytes, 0),
      inputBytes: sum('inputBytes'),
      fetchedBytes: sum('fetchedBytes'),
      inputSeconds: sum('inputSeconds'),
      outputBytes: sum('outputBytes'),
      outputSeconds: sum('outputSeconds'),
    },
  };
}
