import {
  ApplicationFailure,
  CancellationScope,
  condition,
  executeChild,
  log,
  defineQuery,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { ControlActivities } from '../activities/control';
import {
  DEFAULT_SUBTASK_POLICY,
  type DecomposedJob,
  type InstanceRef,
  type MarketView,
  type JobResult,
  type ProvisionedInstance,
  type Schedule,
  type SubTaskOutcome,
  type SubTaskPolicy,
} from '../src/job/types';
import { jobDetailsMarkdown, subTaskSummary, type JobProgress } from '../src/job/summary';
import { relocationWork } from '../src/job/work-accounting';
import { instanceTaskQueue } from '../src/names';
import { spotdagSubTask } from './subtask';

export interface JobRunOptions {
  /** Sub-task children running at once (also bounded by instance slots). Default 500. */
  maxChildrenInFlight?: number;
  /** Set spotdag's search attributes (they must be registered on the namespace). Default true. */
  searchAttributes?: boolean;
  /** Lost-instance detection and retry limits of every sub-task (defaults: DEFAULT_SUBTASK_POLICY). */
  subTaskPolicy?: Partial<SubTaskPolicy>;
}

export type JobPhase = 'decompose' | 'forecast' | 'allocate' | 'provision' | 'run' | 'release' | 'done';

/** The job's progress, for clients (`spotdag run` draws its progress bars from it). */
export const progressQuery = defineQuery<JobProgress>('spotdagProgress');

const PHASE = defineSearchAttributeKey('SpotdagPhase', SearchAttributeType.KEYWORD);
const JOB_ID = defineSearchAttributeKey('SpotdagJobId', SearchAttributeType.KEYWORD);
const COST = defineSearchAttributeKey('SpotdagCostUsd', SearchAttributeType.DOUBLE);

const planning = proxyActivities<ControlActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['InvalidJobSpec'] },
});
const provisioning = proxyActivities<ControlActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

/**
 * A spotdag job: decompose → forecast → allocate → provision as activities, then one child
 * workflow per sub-task in dependency order, then release the instances.
 */
export async function spotdagJob(spec: unknown, options: JobRunOptions = {}): Promise<JobResult> {
  const { workflowId: jobId } = workflowInfo();
  const startedAtMs = Date.now();
  const progress: JobProgress = {
    phase: 'decompose',
    total: 0,
    done: 0,
    stages: [],
    running: 0,
    interruptions: 0,
    workLostSeconds: 0,
    workSavedSeconds: 0,
    costSoFarUsd: 0,
    plannedCostUsd: 0,
    plannedMakespanSeconds: 0,
    elapsedSeconds: 0,
  };
  setHandler(progressQuery, () => ({ ...progress, elapsedSeconds: (Date.now() - startedAtMs) / 1000 }));
  const publish = () => {
    progress.elapsedSeconds = (Date.now() - startedAtMs) / 1000;
    setCurrentDetails(jobDetailsMarkdown(progress));
  };
  // One upsert per phase change, carrying the cost so far too: the command sequence stays the same
  // as in histories recorded before the cost attribute existed (replay compares commands, not values).
  const setPhase = (phase: JobPhase) => {
    progress.phase = phase;
    publish();
    if (options.searchAttributes === false) return;
    upsertSearchAttributes([
      { key: PHASE, value: phase },
      { key: COST, value: progress.costSoFarUsd },
    ]);
  };
  if (options.searchAttributes !== false) upsertSearchAttributes([{ key: JOB_ID, value: jobId }]);

  setPhase('decompose');
  const job = await planning.decomposeJob(jobId, spec);
  progress.total = job.subTasks.length;
  progress.stages = stageTotals(job);
  setPhase('forecast');
  const market = await planning.forecastMarket(job.fleet);
  setPhase('allocate');
  const schedule = await planning.allocateSubTasks(job, market, job.fleet, job.preferences);
  progress.plannedCostUsd = schedule.predictedCostUsd;
  progress.plannedMakespanSeconds = schedule.predictedMakespanSeconds;
  setPhase('provision');
  const instances = await provisioning.provisionInstances(jobId, schedule);
  let outcomes: Map<string, SubTaskOutcome>;
  try {
    setPhase('run');
    const policy = { ...DEFAULT_SUBTASK_POLICY, ...options.subTaskPolicy };
    outcomes = await runSubTasks(
      job,
      schedule,
      market,
      instances,
      policy,
      options.maxChildrenInFlight ?? 500,
      {
        progress,
        publish,
      },
    );
  } finally {
    setPhase('release');
    await CancellationScope.nonCancellable(() => provisioning.releaseInstances(jobId, instances));
  }
  setPhase('done');
  return {
    jobId,
    name: job.name,
    result: finalResult(job, outcomes),
    subTasks: job.subTasks.length,
    instances: instances.length,
    predictedMakespanSeconds: schedule.predictedMakespanSeconds,
    predictedCostUsd: schedule.predictedCostUsd,
    costUsd: progress.costSoFarUsd,
    interruptions: progress.interruptions,
    workLostSeconds: progress.workLostSeconds,
    workSavedSeconds: progress.workSavedSeconds,
    elapsedSeconds: (Date.now() - startedAtMs) / 1000,
  };
}

function stageTotals(job: DecomposedJob): JobProgress['stages'] {
  const stages = new Map<string, { stage: string; done: number; total: number }>();
  for (const s of job.subTasks) {
    const entry = stages.get(s.stage) ?? { stage: s.stage, done: 0, total: 0 };
    entry.total++;
    stages.set(s.stage, entry);
  }
  return [...stages.values()];
}

/** The output of the single sink, or outputs by id when the DAG has several sinks. */
function finalResult(job: DecomposedJob, outcomes: Map<string, SubTaskOutcome>): unknown {
  const hasDependents = new Set(job.subTasks.flatMap((s) => s.dependsOn.map((d) => d.id)));
  const sinks = job.subTasks.filter((s) => !hasDependents.has(s.id));
  if (sinks.length === 1) return outcomes.get(sinks[0]!.id)?.output;
  return Object.fromEntries(sinks.map((s) => [s.id, outcomes.get(s.id)?.output]));
}

type Finished = { id: string; outcome: SubTaskOutcome } | { id: string; error: unknown };

/**
 * Starts each sub-task's child once its dependencies are done and its instance has a free slot,
 * in schedule order, with at most `maxInFlight` children running.
 */
async function runSubTasks(
  job: DecomposedJob,
  schedule: Schedule,
  market: MarketView,
  instances: ProvisionedInstance[],
  policy: SubTaskPolicy,
  maxInFlight: number,
  report: { progress: JobProgress; publish: () => void },
): Promise<Map<string, SubTaskOutcome>> {
  const pools = new Map(market.pools.map((p) => [p.key, p]));
  const poolOf = new Map(schedule.instances.map((i) => [i.id, pools.get(i.pool)]));
  const slotsOf = new Map(schedule.instances.map((i) => [i.id, i.slots]));
  const subTasks = new Map(job.subTasks.map((s) => [s.id, s]));
  const order = new Map(schedule.placements.map((p, i) => [p.subTaskId, i]));
  const planOf = new Map(schedule.placements.map((p) => [p.subTaskId, p.instanceId]));
  const instanceOf = new Map<string, InstanceRef>(
    instances.map((i) => [i.planId, { id: i.id, taskQueue: i.taskQueue }]),
  );
  const freeSlots = new Map(schedule.instances.map((i) => [i.id, i.slots]));
  const dependents = new Map<string, string[]>();
  const waitingOn = new Map<string, number>();
  for (const s of job.subTasks) {
    waitingOn.set(s.id, s.dependsOn.length);
    for (const dep of s.dependsOn) {
      const list = dependents.get(dep.id);
      if (list) list.push(s.id);
      else dependents.set(dep.id, [s.id]);
    }
  }
  const ready = job.subTasks.filter((s) => s.dependsOn.length === 0).map((s) => s.id);
  const byOrder = (a: string, b: string) => order.get(a)! - order.get(b)!;
  ready.sort(byOrder);

  const outcomes = new Map<string, SubTaskOutcome>();
  const finished: Finished[] = [];
  let running = 0;
  const publishCounts = () => {
    report.progress.running = running;
    report.progress.done = outcomes.size;
    report.publish();
  };
  while (outcomes.size < subTasks.size) {
    for (let i = 0; i < ready.length && running < maxInFlight;) {
      const id = ready[i]!;
      const planId = planOf.get(id)!;
      if (freeSlots.get(planId)! === 0) {
        i++;
        continue;
      }
      ready.splice(i, 1);
      freeSlots.set(planId, freeSlots.get(planId)! - 1);
      running++;
      const subTask = subTasks.get(id)!;
      const instance = instanceOf.get(planId)!;
      const inputs = Object.fromEntries(subTask.dependsOn.map((d) => [d.id, outcomes.get(d.id)!.output]));
      executeChild(spotdagSubTask, {
        workflowId: `${job.jobId}/${id}`,
        staticSummary: subTaskSummary(subTask, poolOf.get(planId)),
        args: [{ jobId: job.jobId, subTask, instance, inputs, policy }],
      }).then(
        (outcome) => finished.push({ id, outcome }),
        (error: unknown) => finished.push({ id, error }),
      );
    }
    publishCounts();
    if (running === 0)
      throw ApplicationFailure.nonRetryable('no sub-task can start: the DAG is inconsistent');
    await condition(() => finished.length > 0);
    for (const done of finished.splice(0)) {
      running--;
      const planId = planOf.get(done.id)!;
      freeSlots.set(planId, freeSlots.get(planId)! + 1);
      if ('error' in done) {
        throw ApplicationFailure.nonRetryable(
          `sub-task ${done.id} failed: ${rootCause(done.error)}`,
          'SubTaskFailed',
        );
      }
      outcomes.set(done.id, done.outcome);
      const stage = report.progress.stages.find((p) => p.stage === subTasks.get(done.id)!.stage);
      if (stage) stage.done++;
      // Later sub-tasks of this slot go straight to the replacement of a lost instance.
      const relocations = done.outcome.relocations ?? []; // absent in outcomes of older versions
      const moved = relocations.at(-1);
      if (moved) instanceOf.set(planId, { id: moved.to, taskQueue: instanceTaskQueue(moved.to) });
      // This sub-task's share of its instance's price, while it ran.
      const hours = (done.outcome.finishedAtMs - done.outcome.startedAtMs) / 3_600_000;
      const price = poolOf.get(planId)?.pricePerHour[0] ?? 0;
      report.progress.costSoFarUsd += (hours * price) / slotsOf.get(planId)!;
      report.progress.interruptions += relocations.length;
      const work = relocationWork(done.outcome, subTasks.get(done.id)!.durationSeconds);
      report.progress.workLostSeconds += work.lostSeconds;
      report.progress.workSavedSeconds += work.savedSeconds;
      log.info('sub-task done', { subTask: done.id, instance: done.outcome.instanceId });
      for (const next of dependents.get(done.id) ?? []) {
        const left = waitingOn.get(next)! - 1;
        waitingOn.set(next, left);
        if (left === 0) insertSorted(ready, next, byOrder);
      }
    }
  }
  publishCounts();
  return outcomes;
}

/** The innermost message of a failure chain (child → activity → the step's own error). */
function rootCause(error: unknown): string {
  let current = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

function insertSorted(list: string[], item: string, compare: (a: string, b: string) => number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(list[mid]!, item) < 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, item);
}
