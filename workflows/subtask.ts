import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { ControlActivities } from '../activities/control';
import type { InstanceActivities } from '../activities/instance';
import type { DocumentRef } from '../src/checkpoint/types';
import {
  DEFAULT_SUBTASK_POLICY,
  type InstanceRef,
  type PlannedSubTask,
  type Relocation,
  type SubTaskBrief,
  type SubTaskOutcome,
  type SubTaskPolicy,
  type SubTaskRun,
} from '../src/job/types';
import { subTaskLostSignal, subTaskMoveSignal, type MoveOrder } from './messages';

/** Error type an instance reports when its spot notice arrived (activities/instance.ts). */
const INSTANCE_INTERRUPTED = 'InstanceInterrupted';
/** Error type of a write refused by fencing (activities/checkpointing.ts). */
const FENCED = 'FencedWrite';
/**
 * Failures another attempt cannot fix (activities/command.ts): a program or working directory that
 * is not on the instance, inputs that cannot be placed, no artifact store. The sub-task fails at once.
 */
const FINAL_FAILURES = new Set(['ProgramNotFound', 'InvalidCommandInputs', 'NoArtifactStore']);

function isFinalFailure(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  return cause instanceof ApplicationFailure && FINAL_FAILURES.has(cause.type ?? '');
}

const control = proxyActivities<ControlActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

function onInstance(instance: InstanceRef, policy: SubTaskPolicy, subTask: PlannedSubTask | SubTaskBrief) {
  return proxyActivities<InstanceActivities>({
    taskQueue: instance.taskQueue,
    summary: `${subTask.id} on ${instance.id}`,
    // Generous: estimates are rough, and heartbeats catch a dead instance long before this.
    startToCloseTimeout: `${Math.max(600, Math.ceil(subTask.durationSeconds * 10))} seconds`,
    heartbeatTimeout: `${policy.heartbeatTimeoutSeconds} seconds`,
    scheduleToStartTimeout: `${policy.scheduleToStartTimeoutSeconds} seconds`,
    // Retries are decided here: a lost instance means moving, not retrying on the same queue.
    retry: { maximumAttempts: 1 },
  });
}

/** How far a lost attempt had got and what its last checkpoint kept, when it said (heartbeats, notice). */
function lostAttemptProgress(err: ActivityFailure): Pick<Relocation, 'progress' | 'checkpointProgress'> {
  const cause = err.cause;
  const details: unknown =
    cause instanceof TimeoutFailure
      ? cause.lastHeartbeatDetails
      : cause instanceof ApplicationFailure
        ? cause.details?.[0]
        : undefined;
  if (typeof details !== 'object' || details === null) return {};
  const { progress, checkpointProgress } = details as Record<string, unknown>;
  if (typeof progress !== 'number' || typeof checkpointProgress !== 'number') return {};
  return { progress, checkpointProgress };
}

/** Why the instance is presumed lost, or undefined for any other failure. */
function lostInstanceReason(err: unknown): Relocation['reason'] | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const cause = err.cause;
  if (cause instanceof TimeoutFailure) {
    if (cause.timeoutType === 'HEARTBEAT') return 'heartbeat-timeout';
    if (cause.timeoutType === 'SCHEDULE_TO_START') return 'schedule-to-start-timeout';
  }
  if (cause instanceof ApplicationFailure && cause.type === INSTANCE_INTERRUPTED) return 'interrupted';
  return undefined;
}

function fenced(err: unknown): boolean {
  return (
    err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === FENCED
  );
}

/**
 * One sub-task. This workflow runs on the durable control queue and pins its work, the
 * `runSubTask` activity, to the task queue of the instance it was placed on. A lost instance
 * (heartbeat or schedule-to-start timeout, spot notice) moves the work elsewhere, where it resumes
 * from the last good checkpoint; an application failure retries with backoff.
 *
 * Where the work goes: under the runtime controller (`run.moves === 'parent'`) the child reports
 * the loss to its parent and waits for the parent's order, since the controller re-plans the
 * whole job; the parent may also stop it (a cut, the deadline safety net) and send it elsewhere.
 * Children of older parents relocate themselves through the `relocateSubTask` activity.
 */
export async function spotdagSubTask(run: SubTaskRun): Promise<SubTaskOutcome> {
  return run.moves === 'parent' ? movedByParent(run) : relocatingItself(run);
}

/** The child of the runtime controller's job workflow: it runs where its parent says. */
async function movedByParent(run: SubTaskRun): Promise<SubTaskOutcome> {
  const policy = run.policy ?? DEFAULT_SUBTASK_POLICY;
  const startedAtMs = Date.now();
  const relocations: Relocation[] = [];
  let instance: InstanceRef | undefined = run.instance;
  let subTask = run.subTask;
  let job: DocumentRef | undefined = run.job;
  let generation = 0;
  let order: MoveOrder | undefined;
  let failures = 0;
  let losses = 0;
  /** Why the work left the instance it was on, until the parent says where it goes. */
  let away:
    | {
        from: string;
        reason: Relocation['reason'];
        lost?: Pick<Relocation, 'progress' | 'checkpointProgress' | 'diedAtMs'>;
      }
    | undefined;
  setHandler(subTaskMoveSignal, (next) => {
    if (next.generation > generation) order = next;
  });
  /** Follows the parent's latest order: go to its instance, or (none) wait for the next order. */
  const take = () => {
    const next = order!;
    order = undefined;
    generation = next.generation;
    if (next.subTask) {
      subTask = next.subTask;
      job = next.job;
    }
    if (next.instance && away) {
      relocations.push({
        from: away.from,
        to: next.instance.id,
        reason: away.reason,
        atMs: Date.now(),
        ...away.lost,
      });
      away = undefined;
    }
    instance = next.instance;
  };
  const parent = workflowInfo().parent;
  for (;;) {
    if (!instance) {
      await condition(() => order !== undefined);
      take();
      continue;
    }
    const here: InstanceRef = instance;
    const scope = new CancellationScope();
    const attempt = scope.run(() =>
      onInstance(here, policy, subTask).runSubTask({ jobId: run.jobId, subTask, job, inputs: run.inputs }),
    );
    type Outcome = { ok: Awaited<typeof attempt> } | { err: unknown } | { moved: true };
    const outcome: Outcome = await Promise.race([
      attempt.then(
        (ok) => ({ ok }),
        (err: unknown) => ({ err }),
      ),
      condition(() => order !== undefined).then(() => ({ moved: true as const })),
    ]);
    if ('moved' in outcome) {
      scope.cancel();
      const diedAtMs = order!.diedAtMs;
      away = {
        from: here.id,
        reason: order!.reason,
        ...(diedAtMs !== undefined ? { lost: { diedAtMs } } : {}),
      };
      take();
      continue;
    }
    if ('ok' in outcome) {
      const result = outcome.ok;
      return {
        subTaskId: subTask.id,
        instanceId: result.instanceId,
        output: result.output,
        stored: result.stored ?? false,
        attempts: failures + relocations.length + 1,
        relocations,
        resumedFromProgress: result.resumedFromProgress,
        ...(result.resumedFromCheckpointAtMs !== undefined
          ? { resumedFromCheckpointAtMs: result.resumedFromCheckpointAtMs }
          : {}),
        ...(result.transfers ? { transfers: result.transfers } : {}),
        startedAtMs,
        finishedAtMs: Date.now(),
      };
    }
    const err = outcome.err;
    const reason = lostInstanceReason(err);
    if (reason) {
      if (++losses > policy.maxRelocations) throw err;
      const lost = lostAttemptProgress(err as ActivityFailure);
      away = { from: here.id, reason, lost };
      instance = undefined;
      if (parent)
        await getExternalWorkflowHandle(parent.workflowId).signal(subTaskLostSignal, {
          subTaskId: subTask.id,
          instanceId: here.id,
          reason,
          ...lost,
          atMs: Date.now(),
        });
      continue;
    }
    if (fenced(err)) {
      // The controller fenced this attempt to cut or move the work: its order follows.
      away = { from: here.id, reason: 'stopped' };
      instance = undefined;
      continue;
    }
    if (isCancellation(err)) throw err; // the job was cancelled
    failures++;
    if (failures >= policy.maxAttempts || isFinalFailure(err)) throw err;
    await sleep(`${2 ** (failures - 1)} seconds`);
  }
}

/** The child of a job workflow from before the runtime controller: it relocates itself. */
async function relocatingItself(run: SubTaskRun): Promise<SubTaskOutcome> {
  const policy = run.policy ?? DEFAULT_SUBTASK_POLICY;
  const startedAtMs = Date.now();
  const relocations: Relocation[] = [];
  let instance = run.instance;
  let failures = 0;
  for (;;) {
    try {
      const result = await onInstance(instance, policy, run.subTask).runSubTask({
        jobId: run.jobId,
        subTask: run.subTask,
        job: run.job,
        inputs: run.inputs,
      });
      return {
        subTaskId: run.subTask.id,
        instanceId: result.instanceId,
        output: result.output,
        stored: result.stored ?? false,
        attempts: failures + relocations.length + 1,
        relocations,
        resumedFromProgress: result.resumedFromProgress,
        ...(result.transfers ? { transfers: result.transfers } : {}),
        startedAtMs,
        finishedAtMs: Date.now(),
      };
    } catch (err) {
      const reason = lostInstanceReason(err);
      if (reason) {
        if (relocations.length >= policy.maxRelocations) throw err;
        const lost = lostAttemptProgress(err as ActivityFailure);
        const replacement = await control.relocateSubTask(run.jobId, run.subTask.id, instance.id, reason, {
          job: run.job,
          savedFraction: lost.checkpointProgress,
        });
        relocations.push({ from: instance.id, to: replacement.id, reason, atMs: Date.now(), ...lost });
        instance = replacement;
        continue;
      }
      failures++;
      if (failures >= policy.maxAttempts || isFinalFailure(err)) throw err;
      await sleep(`${2 ** (failures - 1)} seconds`);
    }
  }
}
