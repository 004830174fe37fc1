import { ApplicationFailure, Context } from '@temporalio/activity';
import { CheckpointError, type CheckpointStore } from '../src/checkpoint';
import { getStep, type StepContext } from '../src/steps';
import { StoreAttempt } from './checkpointing';
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

/** The checkpoint descriptor heartbeats carry, mirroring the store. */
export interface CheckpointDescriptor {
  seq: number;
  token: number;
  digest: string;
}

/** Where one attempt's checkpoints go; bound to a checkpoint store per attempt. */
export interface AttemptCheckpoints {
  restore(): Promise<unknown>;
  save(state: unknown): Promise<CheckpointDescriptor | undefined>;
}

/** Without a store nothing is saved, and every attempt starts from the beginning. */
const NO_CHECKPOINTS: AttemptCheckpoints = { restore: async () => undefined, save: async () => undefined };

export interface InstanceActivityOptions {
  instanceId: string;
  /** Aborted when the instance's spot interruption notice arrives. */
  interruption?: AbortSignal;
  /** Minimum time between two checkpoint writes of a sub-task (final ones are always written). */
  checkpointIntervalMs?: number;
  /** Checkpoints and results; without one nothing is saved and sub-tasks restart from scratch. */
  store?: CheckpointStore;
}

function stepContext(
  input: RunSubTaskInput,
  activity: Context,
  signal: AbortSignal,
  checkpoints: AttemptCheckpoints,
  checkpointIntervalMs: number,
): StepContext {
  const { subTask } = input;
  let lastBeat = 0;
  let lastCheckpoint = Date.now();
  let fraction = 0;
  let descriptor: CheckpointDescriptor | undefined;
  const beat = (force = false) => {
    const now = Date.now();
    if (!force && now - lastBeat < HEARTBEAT_EVERY_MS) return;
    lastBeat = now;
    activity.heartbeat({ progress: fraction, checkpoint: descriptor });
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
    async checkpoint(state, options = {}) {
      if (!options.final && Date.now() - lastCheckpoint < checkpointIntervalMs) return;
      lastCheckpoint = Date.now();
      descriptor = (await checkpoints.save(state)) ?? descriptor;
      beat(true);
    },
    restore: async <T>() => (await checkpoints.restore()) as T | undefined,
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
      const { store } = options;
      const { jobId, subTask } = input;
      const done = { instanceId: options.instanceId, attempt: activity.info.attempt };
      // Exactly once: a sub-task whose result is stored is never run again.
      const finished = store && (await StoreAttempt.finishedOutput(store, jobId, subTask.id));
      if (finished) return { output: finished.output, ...done };
      const attempt = store && (await StoreAttempt.begin(store, jobId, subTask.id));
      activity.heartbeat({ progress: 0 });
      try {
        const interval = options.checkpointIntervalMs ?? 10_000;
        const ctx = stepContext(input, activity, signal, attempt ?? NO_CHECKPOINTS, interval);
        const output = await step.handler(ctx);
        await attempt?.finish(output);
        return { output, ...done };
      } catch (err) {
        // Whatever the step threw on its way out, a spot notice is the reason it stopped.
        if (interruption?.aborted) throw interrupted();
        // The step's own failure: roll back past the checkpoint it ran from. Store and fencing
        // errors say nothing about the state, and a cancelled attempt did nothing wrong.
        const stepFailed =
          !(err instanceof CheckpointError) && !(err instanceof ApplicationFailure) && !signal.aborted;
        if (stepFailed) await attempt?.failed();
        throw err;
      }
    },
  };
}

export type InstanceActivities = ReturnType<typeof createInstanceActivities>;
