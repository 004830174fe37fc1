import { ApplicationFailure, Context } from '@temporalio/activity';
import { getStep, type StepContext } from '../src/steps';
import type { PlannedSubTask } from '../src/job/types';

export interface RunSubTaskInput {
  jobId: string;
  subTask: PlannedSubTask;
  inputs: Record<string, unknown>;
}

export interface RunSubTaskOutput {
  output: unknown;
  instanceId: string;
  attempt: number;
}

/** Heartbeats at most this often; Temporal throttles too, but this keeps the bridge quiet. */
const HEARTBEAT_EVERY_MS = 1_000;

/** Error type of work cut short by a spot notice; the sub-task workflow moves it elsewhere. */
export const INSTANCE_INTERRUPTED = 'InstanceInterrupted';

export interface InstanceActivityOptions {
  instanceId: string;
  /** Aborted when the instance's spot interruption notice arrives. */
  interruption?: AbortSignal;
}

function stepContext(input: RunSubTaskInput, activity: Context, signal: AbortSignal): StepContext {
  const { subTask } = input;
  let lastBeat = 0;
  let fraction = 0;
  const beat = (force = false) => {
    const now = Date.now();
    if (!force && now - lastBeat < HEARTBEAT_EVERY_MS) return;
    lastBeat = now;
    activity.heartbeat({ progress: fraction });
  };
  return {
    subTask: {
      jobId: input.jobId,
      id: subTask.id,
      stage: subTask.stage,
      step: subTask.step,
      index: subTask.index,
      count: subTask.count,
      range: subTask.range,
      input: subTask.input,
    },
    inputs: input.inputs,
    signal,
    progress(value: number) {
      fraction = Math.min(1, Math.max(0, value));
      beat();
    },
    heartbeat: () => beat(),
    yield: () => new Promise((resolve) => setImmediate(resolve)),
    log: (message) => activity.log.info(message, { subTask: subTask.id }),
  };
}

/** The activity every instance worker serves on its own task queue. */
export function createInstanceActivities(options: InstanceActivityOptions) {
  return {
    async runSubTask(input: RunSubTaskInput): Promise<RunSubTaskOutput> {
      const activity = Context.current();
      const interruption = options.interruption;
      const interrupted = () =>
        ApplicationFailure.nonRetryable(
          `instance ${options.instanceId} interrupted: ${String(interruption?.reason)}`,
          INSTANCE_INTERRUPTED,
        );
      if (interruption?.aborted) throw interrupted();
      const step = getStep(input.subTask.step);
      const signal = interruption
        ? AbortSignal.any([activity.cancellationSignal, interruption])
        : activity.cancellationSignal;
      activity.heartbeat({ progress: 0 });
      try {
        const output = await step.handler(stepContext(input, activity, signal));
        return { output, instanceId: options.instanceId, attempt: activity.info.attempt };
      } catch (err) {
        // Whatever the step threw on its way out, a spot notice is the reason it stopped.
        if (interruption?.aborted) throw interrupted();
        throw err;
      }
    },
  };
}

export type InstanceActivities = ReturnType<typeof createInstanceActivities>;
