import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  sleep,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { ControlActivities } from '../activities/control';
import type { InstanceActivities } from '../activities/instance';
import {
  DEFAULT_SUBTASK_POLICY,
  type InstanceRef,
  type Relocation,
  type SubTaskOutcome,
  type SubTaskPolicy,
  type SubTaskRun,
} from '../src/job/types';

/** Error type an instance reports when its spot notice arrived (activities/instance.ts). */
const INSTANCE_INTERRUPTED = 'InstanceInterrupted';
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

function onInstance(instance: InstanceRef, policy: SubTaskPolicy, run: SubTaskRun) {
  return proxyActivities<InstanceActivities>({
    taskQueue: instance.taskQueue,
    summary: `${run.subTask.id} on ${instance.id}`,
    // Generous: estimates are rough, and heartbeats catch a dead instance long before this.
    startToCloseTimeout: `${Math.max(600, Math.ceil(run.subTask.durationSeconds * 10))} seconds`,
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

/**
 * One sub-task. This workflow runs on the durable control queue and pins its work, the
 * `runSubTask` activity, to the task queue of the instance it was placed on. A lost instance
 * (heartbeat or schedule-to-start timeout, spot notice) moves the work to a replacement, which
 * resumes from the last good checkpoint; an application failure retries with backoff.
 */
export async function spotdagSubTask(run: SubTaskRun): Promise<SubTaskOutcome> {
  const policy = run.policy ?? DEFAULT_SUBTASK_POLICY;
  const startedAtMs = Date.now();
  const relocations: Relocation[] = [];
  let instance = run.instance;
  let failures = 0;
  for (;;) {
    try {
      const result = await onInstance(instance, policy, run).runSubTask({
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
