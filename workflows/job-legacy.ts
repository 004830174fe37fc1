import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  log,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { ControlActivities } from '../activities/control';
import { asJobPlan, asSchedulePlan, subTaskDefinition } from '../src/job/plan';
import {
  DEFAULT_SUBTASK_POLICY,
  type InstanceRef,
  type JobPlan,
  type JobResult,
  type PoolView,
  type ProvisionedInstance,
  type SchedulePlan,
  type SubTaskOutcome,
  type SubTaskPolicy,
} from '../src/job/types';
import { subTaskSummary, type JobProgress } from '../src/job/summary';
import { relocationWork } from '../src/job/work-accounting';
import { instanceTaskQueue } from '../src/names';
import {
  finalResult,
  insertSorted,
  jobTelemetry,
  MAX_PENDING_CHILDREN,
  newProgress,
  rootCause,
  type JobPhase,
  type JobRunOptions,
} from './job-shared';
import { spotdagSubTask } from './subtask';

const planning = proxyActivities<ControlActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['InvalidJobSpec'] },
});
const provisioning = proxyActivities<ControlActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

/** Marks runs that may continue as new: runs recorded before it never did, and replay as they ran. */
const CONTINUE_AS_NEW_PATCH = 'spotdag-continue-as-new';
/** Marks runs that release what a failed or cancelled provisioning launched (earlier runs did not). */
const RELEASE_AFTER_FAILED_PROVISION_PATCH = 'spotdag-release-after-failed-provision';

/**
 * What one run of the parent hands the next when it continues as new: the plan in compact form
 * (the full decomposed job and schedule stay in the checkpoint store), which sub-tasks are done,
 * the outputs still needed, the instances and where their slots moved, and the progress so far.
 */
export interface JobContinuation {
  startedAtMs: number;
  plan: JobPlan;
  schedule: SchedulePlan;
  /** The market's pools that the schedule's instances buy from. */
  pools: PoolView[];
  instances: ProvisionedInstance[];
  /** Where each planned instance's sub-tasks go now (the replacement of a lost instance). */
  instanceOf: Record<string, InstanceRef>;
  /** One character per sub-task, indexed like `plan.ids`: '1' done, '0' not yet, 'x' failed or skipped. */
  done: string;
  /** Failed sub-tasks (`finish-rest`) with their errors, and those skipped because of them. */
  failed?: Array<{ subTaskId: string; error: string }>;
  skipped?: string[];
  /** Outputs still needed: the sinks' (the job's result) and those not in the checkpoint store. */
  outputs: Record<string, unknown>;
  progress: JobProgress;
  /** Runs before this one. */
  runs: number;
}

/**
 * A spotdag job: decompose → forecast → allocate → provision as activities, then one child
 * workflow per sub-task in dependency order, then release the instances. The plan travels by
 * reference (checkpoint store) with a compact form for scheduling; a bounded window of children
 * runs at once, and the parent continues as new (after its running children finish) when its
 * history grows, carrying a `JobContinuation` as its third argument.
 */
export async function legacySpotdagJob(
  spec: unknown,
  options: JobRunOptions = {},
  continued?: JobContinuation,
): Promise<JobResult> {
  const { workflowId: jobId } = workflowInfo();
  const startedAtMs = continued?.startedAtMs ?? Date.now();
  const progress: JobProgress = continued?.progress ?? newProgress();
  const { publish, setPhase } = jobTelemetry(jobId, options, startedAtMs, progress);

  const state = continued ?? (await planJob(jobId, spec, startedAtMs, progress, setPhase));
  const { plan, schedule } = state;
  let next: 'done' | 'continue' | undefined;
  try {
    setPhase('run');
    const policy = { ...DEFAULT_SUBTASK_POLICY, ...options.subTaskPolicy };
    const maxInFlight = Math.min(options.maxChildrenInFlight ?? 500, MAX_PENDING_CHILDREN);
    next = await runSubTasks(
      state,
      policy,
      maxInFlight,
      options.maxChildrenPerRun ?? 2_000,
      options.onSubTaskFailure === 'finish-rest',
      publish,
    );
  } finally {
    if (next !== 'continue') {
      setPhase('release');
      await CancellationScope.nonCancellable(() => provisioning.releaseInstances(jobId, state.instances));
    }
  }
  if (next === 'continue') {
    log.info('continuing as new', { run: state.runs + 1, done: progress.done, total: progress.total });
    // The spec is not needed again (its plan is in the state), and may be large.
    return continueAsNew<typeof legacySpotdagJob>(null, options, { ...state, runs: state.runs + 1 });
  }
  setPhase('done');
  return {
    jobId,
    name: plan.name,
    result: finalResult(plan, state.outputs),
    subTasks: plan.ids.length,
    instances: state.instances.length,
    predictedMakespanSeconds: schedule.predictedMakespanSeconds,
    predictedCostUsd: schedule.predictedCostUsd,
    costUsd: progress.costSoFarUsd,
    interruptions: progress.interruptions,
    workLostSeconds: progress.workLostSeconds,
    workLostEstimatedSeconds: progress.workLostEstimatedSeconds ?? 0,
    workSavedSeconds: progress.workSavedSeconds,
    elapsedSeconds: (Date.now() - startedAtMs) / 1000,
    ...(state.failed?.length ? { failedSubTasks: state.failed, skippedSubTasks: state.skipped ?? [] } : {}),
  };
}

/** The first run's planning: decompose, forecast, allocate, provision. */
async function planJob(
  jobId: string,
  spec: unknown,
  startedAtMs: number,
  progress: JobProgress,
  setPhase: (phase: JobPhase) => void,
): Promise<JobContinuation> {
  setPhase('decompose');
  const plan = asJobPlan(await planning.decomposeJob(jobId, spec));
  progress.total = plan.ids.length;
  progress.stages = plan.stages.map((s) => ({ stage: s.stage, done: 0, total: s.count }));
  setPhase('forecast');
  const market = await planning.forecastMarket(plan.fleet);
  setPhase('allocate');
  const scheduled = await planning.allocateSubTasks(
    { jobId: plan.jobId, job: plan.job },
    market,
    plan.fleet,
    plan.preferences,
  );
  const schedule = asSchedulePlan(scheduled, plan);
  progress.plannedCostUsd = schedule.predictedCostUsd;
  progress.plannedMakespanSeconds = schedule.predictedMakespanSeconds;
  setPhase('provision');
  let instances: ProvisionedInstance[];
  try {
    instances = await provisioning.provisionInstances(jobId, { instances: schedule.instances });
  } catch (err) {
    // Failed or cancelled while instances boot: release whatever was launched (the provider
    // finds the job's instances itself), so nothing is left running and billing.
    if (patched(RELEASE_AFTER_FAILED_PROVISION_PATCH)) {
      setPhase('release');
      await CancellationScope.nonCancellable(() => provisioning.releaseInstances(jobId, []));
    }
    throw err;
  }
  const usedPools = new Set(schedule.instances.map((i) => i.pool));
  return {
    startedAtMs,
    plan,
    schedule,
    pools: market.pools.filter((p) => usedPools.has(p.key)),
    instances,
    instanceOf: Object.fromEntries(instances.map((i) => [i.planId, { id: i.id, taskQueue: i.taskQueue }])),
    done: '0'.repeat(plan.ids.length),
    outputs: {},
    progress,
    runs: 0,
  };
}

type Finished = { k: number; outcome: SubTaskOutcome } | { k: number; error: unknown };

/**
 * Starts each sub-task's child once its dependencies are done and its instance has a free slot,
 * in schedule order, with at most `maxInFlight` children running. Returns 'continue' when this
 * run should continue as new: after `maxPerRun` children or when Temporal suggests it, it starts
 * no more children and returns once the running ones have finished (none is left behind, none
 * runs twice). `state` is updated for the next run.
 */
async function runSubTasks(
  state: JobContinuation,
  policy: SubTaskPolicy,
  maxInFlight: number,
  maxPerRun: number,
  finishRest: boolean,
  publish: () => void,
): Promise<'done' | 'continue'> {
  const { plan, schedule, progress } = state;
  const n = plan.ids.length;
  const pools = new Map(state.pools.map((p) => [p.key, p]));
  const instancePlans = schedule.instances;
  const poolOf = (p: number) => pools.get(instancePlans[p]!.pool);
  const freeSlots = instancePlans.map((i) => i.slots);
  const done = Array.from(state.done, (c) => c === '1');
  // Failed, or skipped because a dependency failed (finish-rest): settled without an output.
  const dropped = Array.from(state.done, (c) => c === 'x');
  let doneCount = done.filter(Boolean).length;
  let droppedCount = dropped.filter(Boolean).length;
  const failed = state.failed ?? [];
  const skipped = state.skipped ?? [];
  const outputs = new Map(Object.entries(state.outputs));
  const rank = new Array<number>(n);
  schedule.order.forEach((k, r) => (rank[k] = r));
  const byRank = (a: number, b: number) => rank[a]! - rank[b]!;
  const dependents: number[][] = Array.from({ length: n }, () => []);
  const waitingOn = new Array<number>(n).fill(0);
  plan.deps.forEach((deps, k) => {
    for (const d of deps) {
      dependents[d]!.push(k);
      if (!done[d]) waitingOn[k]!++;
    }
  });
  // Ready sub-tasks per instance, in schedule order. Taking the lowest-ranked head among instances
  // with a free slot starts children in the same order as one scan of a global ready list.
  const readyOn: number[][] = instancePlans.map(() => []);
  for (const k of schedule.order)
    if (!done[k] && !dropped[k] && waitingOn[k] === 0) readyOn[schedule.placedOn[k]!]!.push(k);

  const finished: Finished[] = [];
  let running = 0;
  let startedThisRun = 0;
  let draining = false;
  const publishCounts = () => {
    progress.running = running;
    progress.done = doneCount;
    publish();
  };
  const saveState = () => {
    state.done = done.map((d, k) => (d ? '1' : dropped[k] ? 'x' : '0')).join('');
    state.outputs = Object.fromEntries(outputs);
    if (failed.length > 0) Object.assign(state, { failed, skipped });
  };
  /** Drops a failed sub-task and everything downstream of it; the rest goes on. */
  const drop = (k: number, error: string) => {
    failed.push({ subTaskId: plan.ids[k]!, error });
    const stack = [k];
    dropped[k] = true;
    droppedCount++;
    while (stack.length > 0) {
      for (const next of dependents[stack.pop()!]!) {
        if (dropped[next]) continue;
        dropped[next] = true;
        droppedCount++;
        skipped.push(plan.ids[next]!);
        stack.push(next);
      }
    }
  };
  while (doneCount + droppedCount < n) {
    const wantsNewRun = startedThisRun >= maxPerRun || workflowInfo().continueAsNewSuggested;
    if (!draining && wantsNewRun && patched(CONTINUE_AS_NEW_PATCH)) draining = true;
    while (!draining && running < maxInFlight) {
      let p = -1;
      for (let q = 0; q < readyOn.length; q++) {
        const head = readyOn[q]![0];
        if (head === undefined || freeSlots[q] === 0) continue;
        if (p < 0 || byRank(head, readyOn[p]![0]!) < 0) p = q;
      }
      if (p < 0) break;
      const k = readyOn[p]!.shift()!;
      freeSlots[p]!--;
      running++;
      startedThisRun++;
      startChild(state, outputs, k, p, policy, poolOf(p)).then(
        (outcome) => finished.push({ k, outcome }),
        (error: unknown) => finished.push({ k, error }),
      );
    }
    publishCounts();
    if (running === 0) {
      if (draining) {
        saveState();
        return 'continue';
      }
      throw ApplicationFailure.nonRetryable('no sub-task can start: the DAG is inconsistent');
    }
    await condition(() => finished.length > 0);
    for (const f of finished.splice(0)) {
      running--;
      const k = f.k;
      const id = plan.ids[k]!;
      const p = schedule.placedOn[k]!;
      freeSlots[p]!++;
      if ('error' in f) {
        if (!finishRest)
          throw ApplicationFailure.nonRetryable(
            `sub-task ${id} failed: ${rootCause(f.error)}`,
            'SubTaskFailed',
          );
        log.warn('sub-task failed; the rest of the job goes on', { subTask: id, error: rootCause(f.error) });
        drop(k, rootCause(f.error));
        continue;
      }
      const { outcome } = f;
      done[k] = true;
      doneCount++;
      // Dependents read stored outputs from the checkpoint store; others travel inline.
      if (!outcome.stored || dependents[k]!.length === 0) outputs.set(id, outcome.output);
      const stage = progress.stages[plan.stageOf[k]!];
      if (stage) stage.done++;
      // Later sub-tasks of this slot go straight to the replacement of a lost instance.
      const relocations = outcome.relocations ?? []; // absent in outcomes of older versions
      const moved = relocations.at(-1);
      const planId = instancePlans[p]!.id;
      if (moved) state.instanceOf[planId] = { id: moved.to, taskQueue: instanceTaskQueue(moved.to) };
      // This sub-task's share of its instance's price, while it ran.
      const hours = (outcome.finishedAtMs - outcome.startedAtMs) / 3_600_000;
      const price = poolOf(p)?.pricePerHour[0] ?? 0;
      progress.costSoFarUsd += (hours * price) / instancePlans[p]!.slots;
      progress.interruptions += relocations.length;
      const work = relocationWork(outcome, plan.durationSeconds[k]!);
      progress.workLostSeconds += work.lostSeconds;
      progress.workLostEstimatedSeconds =
        (progress.workLostEstimatedSeconds ?? 0) + work.estimatedLostSeconds;
      progress.workSavedSeconds += work.savedSeconds;
      log.debug('sub-task done', { subTask: id, instance: outcome.instanceId });
      for (const next of dependents[k]!) {
        if (--waitingOn[next]! === 0) insertSorted(readyOn[schedule.placedOn[next]!]!, next, byRank);
      }
    }
  }
  publishCounts();
  saveState();
  return 'done';
}

/** Starts sub-task `k`'s child on planned instance `p`; its definition and inputs go by reference where stored. */
function startChild(
  state: JobContinuation,
  outputs: Map<string, unknown>,
  k: number,
  p: number,
  policy: SubTaskPolicy,
  pool: PoolView | undefined,
): Promise<SubTaskOutcome> {
  const { plan } = state;
  const id = plan.ids[k]!;
  const stage = plan.stages[plan.stageOf[k]!]!;
  const instance = state.instanceOf[state.schedule.instances[p]!.id]!;
  const inputs: Record<string, unknown> = {};
  for (const d of plan.deps[k]!) {
    const depId = plan.ids[d]!;
    if (outputs.has(depId)) inputs[depId] = outputs.get(depId);
  }
  return executeChild(spotdagSubTask, {
    workflowId: `${plan.jobId}/${id}`,
    staticSummary: subTaskSummary(
      { stage: stage.stage, index: plan.indexInStage[k]!, count: stage.count },
      pool,
    ),
    args: [
      {
        jobId: plan.jobId,
        ...subTaskDefinition(plan, k),
        instance,
        ...(Object.keys(inputs).length > 0 ? { inputs } : {}),
        policy,
      },
    ],
  });
}
