import { proxyActivities } from '@temporalio/workflow';
import type { InstanceActivities } from '../activities/instance';
import type { SubTaskOutcome, SubTaskRun } from '../src/job/types';

/** Limits of the sub-task activity on its instance queue. */
export const SUBTASK_HEARTBEAT_TIMEOUT = '30 seconds';
export const SUBTASK_SCHEDULE_TO_START_TIMEOUT = '5 minutes';

/**
 * One sub-task. This workflow runs on the durable control queue and pins its work, the
 * `runSubTask` activity, to the task queue of the instance it was placed on.
 */
export async function spotdagSubTask(run: SubTaskRun): Promise<SubTaskOutcome> {
  const startedAtMs = Date.now();
  const instance = proxyActivities<InstanceActivities>({
    taskQueue: run.instance.taskQueue,
    // Generous: estimates are rough, and heartbeats catch a dead instance long before this.
    startToCloseTimeout: `${Math.max(600, Math.ceil(run.subTask.durationSeconds * 10))} seconds`,
    heartbeatTimeout: SUBTASK_HEARTBEAT_TIMEOUT,
    scheduleToStartTimeout: SUBTASK_SCHEDULE_TO_START_TIMEOUT,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
  });
  const result = await instance.runSubTask({ jobId: run.jobId, subTask: run.subTask, inputs: run.inputs });
  return {
    subTaskId: run.subTask.id,
    instanceId: result.instanceId,
    output: result.output,
    attempts: result.attempt,
    startedAtMs,
    finishedAtMs: Date.now(),
  };
}
