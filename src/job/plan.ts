/**
 * The compact forms of a job's plan that travel in the parent workflow's history, built from the
 * full decomposed job and schedule (which stay in the checkpoint store). Pure functions: the
 * control activities build them, and the workflow builds them from the full forms that histories
 * of older versions carry.
 */
import type { DocumentRef } from '../checkpoint/types';
import type {
  DecomposedJob,
  JobPlan,
  PlanDocument,
  PlannedSubTask,
  Schedule,
  SchedulePlan,
  SubTaskBrief,
} from './types';

export function jobPlanOf(job: DecomposedJob, document: PlanDocument<DecomposedJob>): JobPlan {
  const indexOf = new Map(job.subTasks.map((s, i) => [s.id, i]));
  const stages: JobPlan['stages'] = [];
  const stageIndex = new Map<string, number>();
  const stageOf: number[] = [];
  for (const s of job.subTasks) {
    let at = stageIndex.get(s.stage);
    if (at === undefined) {
      at = stages.length;
      stageIndex.set(s.stage, at);
      stages.push({ stage: s.stage, count: 0, step: s.step });
    }
    stages[at]!.count++;
    stageOf.push(at);
  }
  return {
    jobId: job.jobId,
    name: job.name,
    fleet: job.fleet,
    preferences: job.preferences,
    job: document,
    ids: job.subTasks.map((s) => s.id),
    deps: job.subTasks.map((s) => s.dependsOn.map((d) => indexOf.get(d.id)!)),
    stages,
    stageOf,
    indexInStage: job.subTasks.map((s) => s.index),
    durationSeconds: job.subTasks.map((s) => s.durationSeconds),
    criticalPathSeconds: job.criticalPathSeconds,
    totalWorkSeconds: job.totalWorkSeconds,
    maxParallelism: job.maxParallelism,
  };
}

export function schedulePlanOf(
  schedule: Schedule,
  plan: Pick<JobPlan, 'ids'>,
  document: PlanDocument<Schedule>,
): SchedulePlan {
  const indexOf = new Map(plan.ids.map((id, i) => [id, i]));
  const instanceIndex = new Map(schedule.instances.map((p, i) => [p.id, i]));
  const placedOn = new Array<number>(plan.ids.length).fill(-1);
  for (const p of schedule.placements) placedOn[indexOf.get(p.subTaskId)!] = instanceIndex.get(p.instanceId)!;
  return {
    schedule: document,
    instances: schedule.instances,
    order: schedule.placements.map((p) => indexOf.get(p.subTaskId)!),
    placedOn,
    predictedMakespanSeconds: schedule.predictedMakespanSeconds,
    predictedCostUsd: schedule.predictedCostUsd,
  };
}

/** `decomposeJob`'s result: a plan, or (histories of older versions) the whole decomposed job. */
export function asJobPlan(result: JobPlan | DecomposedJob): JobPlan {
  return 'subTasks' in result ? jobPlanOf(result, { inline: result }) : result;
}

/** `allocateSubTasks`'s result: a plan, or (histories of older versions) the whole schedule. */
export function asSchedulePlan(result: SchedulePlan | Schedule, plan: JobPlan): SchedulePlan {
  return 'placements' in result ? schedulePlanOf(result, plan, { inline: result }) : result;
}

/** What a child gets of its sub-task: its definition inline, or a brief and where the definition is. */
export function subTaskDefinition(
  plan: JobPlan,
  index: number,
): { subTask: PlannedSubTask | SubTaskBrief; job?: DocumentRef } {
  if ('inline' in plan.job) return { subTask: plan.job.inline.subTasks[index]! };
  return {
    subTask: {
      id: plan.ids[index]!,
      stage: plan.stages[plan.stageOf[index]!]!.stage,
      durationSeconds: plan.durationSeconds[index]!,
    },
    job: plan.job.stored,
  };
}
