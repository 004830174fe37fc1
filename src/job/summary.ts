/**
 * Text the Temporal UI shows for a job: static summaries of children and activities, and the
 * parent's current details (a markdown table). Pure functions, used by workflow code.
 */
import type { PlannedSubTask, PoolView } from './types';

/** e.g. `count 3/12 · c5.large · us-east-1a · spot` */
export function subTaskSummary(
  subTask: Pick<PlannedSubTask, 'stage' | 'index' | 'count'>,
  pool?: Pick<PoolView, 'instanceType' | 'zone' | 'market'>,
): string {
  const parts = [`${subTask.stage} ${subTask.index + 1}/${subTask.count}`];
  if (pool) parts.push(pool.instanceType, pool.zone, pool.market);
  return parts.join(' · ');
}

export interface StageProgress {
  stage: string;
  done: number;
  total: number;
}

export interface JobProgress {
  phase: string;
  total: number;
  done: number;
  /** Per stage, in the order stages first appear in the plan. */
  stages: StageProgress[];
  running: number;
  /** Lost instances the job's sub-tasks moved away from. */
  interruptions: number;
  /** Estimated work lost to them, and kept by checkpoints (see JobResult). */
  workLostSeconds: number;
  /** Of workLostSeconds, what was counted to a heartbeat timeout (the death time unknown): an upper bound. */
  workLostEstimatedSeconds?: number;
  workSavedSeconds: number;
  costSoFarUsd: number;
  plannedCostUsd: number;
  plannedMakespanSeconds: number;
  elapsedSeconds: number;
  /** The job's tenant and priority key, when it runs on a fleet with tenants. */
  tenant?: string;
  priority?: number;
  /** While phase is `queued`: the job's place in its fleet's queue (1 next) and what it waits for. */
  queuePosition?: number;
  queueReason?: string;
}

function seconds(value: number): string {
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} s`;
}

function usd(value: number): string {
  return `$${value.toFixed(value < 1 ? 4 : 2)}`;
}

/** Work lost, with the part counted to a heartbeat timeout (death time unknown) said as such. */
function lostWork(p: JobProgress): string {
  const estimated = p.workLostEstimatedSeconds ?? 0;
  return estimated > 0
    ? `${seconds(p.workLostSeconds)} (≤ ${seconds(estimated)} of it to a heartbeat timeout)`
    : seconds(p.workLostSeconds);
}

/** The parent's current details: one markdown table, refreshed as the job moves. */
export function jobDetailsMarkdown(p: JobProgress): string {
  const waiting = p.total - p.done - p.running;
  const queued =
    p.phase === 'queued' && p.queuePosition !== undefined
      ? [`**Queued**: position ${p.queuePosition} in the fleet's queue (${p.queueReason ?? 'waiting'}).`, '']
      : [];
  const tenant = p.tenant !== undefined ? [`Tenant **${p.tenant}**, priority ${p.priority ?? 3}.`, ''] : [];
  return [
    ...queued,
    ...tenant,
    '| phase | done | running | waiting | interruptions | work lost / saved | cost so far | planned cost | elapsed | planned makespan |',
    '|---|---|---|---|---|---|---|---|---|---|',
    `| ${p.phase} | ${p.done}/${p.total} | ${p.running} | ${waiting} | ${p.interruptions} | ${lostWork(p)} / ${seconds(p.workSavedSeconds)} | ${usd(p.costSoFarUsd)} | ${usd(
      p.plannedCostUsd,
    )} | ${Math.round(p.elapsedSeconds)} s | ${Math.round(p.plannedMakespanSeconds)} s |`,
  ].join('\n');
}
