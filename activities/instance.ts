import { PREFETCH_SLOTS } from '../src/job/prefetch';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { CheckpointError, type CheckpointStore } from '../src/checkpoint';
import { ArtifactCache } from '../src/command/cache';
import { getStep, type StepContext } from '../src/steps';
import { FENCED, StoreAttempt } from './checkpointing';
import { DocumentCache, readDocument, storeOrFail } from './documents';
import type {
  DecomposedJob,
  PlannedSubTask,
  PrefetchOutcome,
  SubTaskBrief,
  SubTaskTransfers,
} from '../src/job/types';
import type { DocumentRef } from '../src/checkpoint';
import { mapLimit } from '../src/checkpoint/blob';
import { Semaphore } from '../src/util/semaphore';
import { COMMAND_FAILED, commandInputs, runCommandAttempt, type CommandRunner } from './command';

export interface RunSubTaskInput {
  jobId: string;
  /** The full definition, or its brief when `job` says where the definition is. */
  subTask: PlannedSubTask | SubTaskBrief;
  /** The decomposed job in the checkpoint store. */
  job?: DocumentRef;
  /** Dependency outputs not in the checkpoint store; the others are read from it. */
  inputs?: Record<string, unknown>;
}

/** A sub-task with its definition and its dependencies' outputs, as its step sees it. */
interface ResolvedInput {
  jobId: string;
  subTask: PlannedSubTask;
  inputs: Record<string, unknown>;
}

export interface RunSubTaskOutput {
  output: unknown;
  /** The output is in the checkpoint store (dependents read it there). */
  stored?: boolean;
  instanceId: string;
  attempt: number;
  /** Progress of the checkpoint this attempt resumed from: the share of the work checkpoints saved. */
  resumedFromProgress?: number;
  /** When that checkpoint was written: an instance lost after it lost the work done since. */
  resumedFromCheckpointAtMs?: number;
  /** A command's transfers to and from the artifact store in this attempt. */
  transfers?: SubTaskTransfers;
}

/** What `prefetchInputs` is asked: the sub-task (by reference, as `runSubTask`) whose inputs to fetch. */
export type PrefetchInputsInput = RunSubTaskInput;

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

/**
 * A step's saved state, how far along the sub-task was when it was saved, and, when the step says,
 * the unit position it reached (the next unit not done): the controller can then cut the rest.
 */
export interface SavedState {
  state: unknown;
  progress: number;
  position?: number;
}

/**
 * What heartbeats (and an interrupted attempt's failure) carry: progress, the latest checkpoint
 * and its progress, so that the work an interruption loses is known (progress − checkpointProgress).
 */
export interface AttemptProgress {
  progress: number;
  checkpoint?: CheckpointDescriptor;
  checkpointProgress: number;
}

/** Where one attempt's checkpoints go; bound to a checkpoint store per attempt. */
export interface AttemptCheckpoints {
  restore(): Promise<SavedState | undefined>;
  save(saved: SavedState): Promise<CheckpointDescriptor | undefined>;
}

/** Without a store nothing is saved, and every attempt starts from the beginning. */
const NO_CHECKPOINTS: AttemptCheckpoints = { restore: async () => undefined, save: async () => undefined };

/**
 * Runs a store operation while heartbeating: a slow or briefly unreachable store (the store
 * retries through outages) does not make a live instance look lost.
 */
async function heartbeatWhile<T>(
  activity: Context,
  details: () => unknown,
  operation: Promise<T>,
): Promise<T> {
  const timer = setInterval(() => activity.heartbeat(details()), HEARTBEAT_EVERY_MS);
  try {
    return await operation;
  } finally {
    clearInterval(timer);
  }
}

export interface InstanceActivityOptions {
  instanceId: string;
  /** Aborted when the instance's spot interruption notice arrives. */
  interruption?: AbortSignal;
  /** Minimum time between two checkpoint writes of a sub-task (final ones are always written). */
  checkpointIntervalMs?: number;
  /** Checkpoints and results; without one nothing is saved and sub-tasks restart from scratch. */
  store?: CheckpointStore;
  /** Sub-tasks run at once (`runSubTask`); prefetches run beside them. Default: unbounded. */
  slots?: number;
  /**
   * Where command sub-tasks get their folders, the instance keeps its cache of fetched inputs
   * (`cache/`), and live process groups leave markers (`groups/`). Default: a folder in the
   * system's temp folder named after the instance.
   */
  workDir?: string;
  /** Seconds a command gets between SIGTERM and SIGKILL (default 20 s), less if a notice leaves less. */
  commandGraceMs?: number;
  /** When the instance goes, once a spot notice said so (ms since the epoch). */
  reclaimAtMs?: () => number | undefined;
  /** Largest size of the instance's input cache (default 20 GiB). */
  cacheBytes?: number;
  /** Benchmarks on one machine: downloads from the artifact store take at least bytes / this seconds. */
  transferBytesPerSecond?: number;
}

/** Prefetches an instance runs at once beside its sub-tasks (its worker takes slots + this many activities). */
export const DEFAULT_COMMAND_GRACE_MS = 20_000;

function stepContext(
  input: ResolvedInput,
  activity: Context,
  signal: AbortSignal,
  checkpoints: AttemptCheckpoints,
  checkpointIntervalMs: number,
  attemptProgress: AttemptProgress,
  restored: SavedState | undefined,
): StepContext {
  const { subTask } = input;
  let lastBeat = 0;
  let lastCheckpoint = Date.now();
  const beat = (force = false) => {
    const now = Date.now();
    if (!force && now - lastBeat < HEARTBEAT_EVERY_MS) return;
    lastBeat = now;
    activity.heartbeat(attemptProgress);
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
      attemptProgress.progress = Math.min(1, Math.max(0, value));
      beat();
    },
    heartbeat: () => beat(),
    yield: () => new Promise((resolve) => setImmediate(resolve)),
    async checkpoint(state, options = {}) {
      if (!options.final && Date.now() - lastCheckpoint < checkpointIntervalMs) return;
      lastCheckpoint = Date.now();
      const progress = attemptProgress.progress;
      const saved = checkpoints.save({
        state,
        progress,
        ...(options.position !== undefined ? { position: options.position } : {}),
      });
      const descriptor = await heartbeatWhile(activity, () => attemptProgress, saved);
      if (descriptor)
        Object.assign(attemptProgress, { checkpoint: descriptor, checkpointProgress: progress });
      beat(true);
    },
    restore: async <T>() => restored?.state as T | undefined,
    log: (message) => activity.log.info(message, { subTask: subTask.id }),
  };
}

/** Sub-task definitions by id, per decomposed job (by its digest). */
type Definitions = Map<string, PlannedSubTask>;

/** The activities every instance worker serves on its own task queue. */
export function createInstanceActivities(options: InstanceActivityOptions) {
  const definitions = new DocumentCache<Definitions>();
  const slots = new Semaphore(options.slots ?? Number.POSITIVE_INFINITY);
  const prefetchSlots = new Semaphore(PREFETCH_SLOTS);
  let runner: CommandRunner | undefined;
  /** What command sub-tasks need of this instance: an artifact store, folders, a cache. */
  const commandRunner = (subTaskId: string): CommandRunner => {
    const artifacts = options.store?.artifacts;
    if (!artifacts)
      throw ApplicationFailure.nonRetryable(
        `sub-task ${subTaskId} is a command, and instance ${options.instanceId} has no artifact store for its files ` +
          '(set SPOTDAG_ARTIFACT_STORE, or use a sqlite checkpoint store, which keeps one beside it)',
        'NoArtifactStore',
      );
    if (runner) return runner;
    const workDir = options.workDir ?? path.join(tmpdir(), `spotdag-${options.instanceId}`);
    runner = {
      instanceId: options.instanceId,
      workDir,
      artifacts,
      cache: new ArtifactCache(
        path.join(workDir, 'cache'),
        artifacts,
        options.cacheBytes,
        options.transferBytesPerSecond,
      ),
      checkpointIntervalMs: options.checkpointIntervalMs ?? 10_000,
      graceMs: options.commandGraceMs ?? DEFAULT_COMMAND_GRACE_MS,
      interruption: options.interruption,
      reclaimAtMs: options.reclaimAtMs,
    };
    return runner;
  };
  /** The sub-task's definition and its dependencies' outputs, read by reference where given so. */
  const resolve = async (input: RunSubTaskInput): Promise<ResolvedInput> => {
    const { store } = options;
    const { jobId, job } = input;
    const subTask = job
      ? (
          await definitions.get(`${jobId} ${job.digest}`, async () => {
            const decomposed = await readDocument<DecomposedJob>(store, jobId, job);
            return new Map(decomposed.subTasks.map((s) => [s.id, s]));
          })
        ).get(input.subTask.id)
      : (input.subTask as PlannedSubTask);
    if (!subTask)
      throw ApplicationFailure.nonRetryable(`sub-task ${input.subTask.id} is not in job ${jobId}'s plan`);
    const given = input.inputs ?? {};
    const outputs = await mapLimit(subTask.dependsOn, 16, async ({ id }) => {
      if (id in given) return given[id];
      const stored = await StoreAttempt.finishedOutput(storeOrFail(store, `the output of ${id}`), jobId, id);
      if (!stored)
        throw ApplicationFailure.nonRetryable(
          `the output of ${id} (an input of ${subTask.id}) is not stored`,
        );
      return stored.output;
    });
    const inputs = Object.fromEntries(subTask.dependsOn.map((d, i) => [d.id, outputs[i]]));
    return { jobId, subTask, inputs };
  };
  return {
    async runSubTask(request: RunSubTaskInput): Promise<RunSubTaskOutput> {
      const activity = Context.current();
      const release = await heartbeatWhile(
        activity,
        () => ({ progress: 0, checkpointProgress: 0 }),
        slots.acquire(),
      );
      try {
        return await runSubTaskInSlot(request, activity);
      } finally {
        release();
      }
    },

    /**
     * Puts a command sub-task's inputs into this instance's cache ahead of its run, so that the
     * transfer overlaps the sub-task running before it (docs/commands.md, "Transfers"). Sub-tasks
     * that are registered steps, or whose inputs are cached already, move nothing.
     */
    async prefetchInputs(request: PrefetchInputsInput): Promise<PrefetchOutcome> {
      const activity = Context.current();
      const release = await prefetchSlots.acquire();
      const started = performance.now();
      try {
        const beat = { prefetching: request.subTask.id };
        const input = await heartbeatWhile(activity, () => beat, resolve(request));
        const outcome: PrefetchOutcome = {
          subTaskId: input.subTask.id,
          instanceId: options.instanceId,
          files: 0,
          bytes: 0,
          fetchedBytes: 0,
          seconds: 0,
        };
        if (!input.subTask.command) return outcome;
        const cache = commandRunner(input.subTask.id).cache;
        const files = commandInputs(input.subTask, input.inputs).filter((f) => 'ref' in f);
        const moved = await heartbeatWhile(
          activity,
          () => beat,
          mapLimit(files, 4, (f) => cache.fetch({ jobId: input.jobId }, f.ref)),
        );
        outcome.files = moved.length;
        outcome.bytes = moved.reduce((a, t) => a + t.bytes, 0);
        outcome.fetchedBytes = moved.reduce((a, t) => a + t.fetchedBytes, 0);
        outcome.seconds = (performance.now() - started) / 1000;
        return outcome;
      } finally {
        release();
      }
    },
  };

  async function runSubTaskInSlot(request: RunSubTaskInput, activity: Context): Promise<RunSubTaskOutput> {
    const interruption = options.interruption;
    const progress: AttemptProgress = { progress: 0, checkpointProgress: 0 };
    // Fast and final: the sub-task workflow moves the work elsewhere. The details say how much
    // work the notice cost (nothing past the final checkpoint, when the step took one).
    const interrupted = () =>
      ApplicationFailure.create({
        message: `instance ${options.instanceId} interrupted: ${String(interruption?.reason)}`,
        type: INSTANCE_INTERRUPTED,
        nonRetryable: true,
        details: [progress],
      });
    if (interruption?.aborted) throw interrupted();
    const input = await heartbeatWhile(activity, () => progress, resolve(request));
    const command = input.subTask.command;
    const step = command ? undefined : getStep(input.subTask.step);
    // Before claiming a token: inputs that cannot be placed fail the sub-task at once.
    const files = command ? commandInputs(input.subTask, input.inputs) : undefined;
    const signal = interruption
      ? AbortSignal.any([activity.cancellationSignal, interruption])
      : activity.cancellationSignal;
    const { store } = options;
    const { jobId, subTask } = input;
    const done = { instanceId: options.instanceId, attempt: activity.info.attempt, stored: !!store };
    const whileStoring = <T>(operation: Promise<T>) => heartbeatWhile(activity, () => progress, operation);
    // Exactly once: a sub-task whose result is stored is never run again.
    const finished = store && (await whileStoring(StoreAttempt.finishedOutput(store, jobId, subTask.id)));
    if (finished) return { output: finished.output, ...done };
    const runner = command ? commandRunner(subTask.id) : undefined;
    const attempt = store && (await whileStoring(StoreAttempt.begin(store, jobId, subTask.id)));
    try {
      if (runner) {
        const ran = await runCommandAttempt(
          runner,
          activity,
          { jobId, subTask, inputs: files! },
          attempt!,
          progress,
        );
        await whileStoring(attempt!.finish(ran.output));
        return {
          output: ran.output,
          ...done,
          resumedFromProgress: ran.resumedFromProgress,
          resumedFromCheckpointAtMs: attempt!.restoredAtMs,
          transfers: ran.transfers,
        };
      }
      const restored = attempt && (await whileStoring(attempt.restore()));
      if (restored)
        Object.assign(progress, { progress: restored.progress, checkpointProgress: restored.progress });
      activity.heartbeat(progress);
      const interval = options.checkpointIntervalMs ?? 10_000;
      const checkpoints = attempt ?? NO_CHECKPOINTS;
      const ctx = stepContext(input, activity, signal, checkpoints, interval, progress, restored);
      const output = await step!.handler(ctx);
      if (attempt) await whileStoring(attempt.finish(output));
      return {
        output,
        ...done,
        resumedFromProgress: restored?.progress ?? 0,
        resumedFromCheckpointAtMs: attempt?.restoredAtMs,
      };
    } catch (err) {
      // Whatever the step threw on its way out, a spot notice is the reason it stopped.
      if (interruption?.aborted) throw interrupted();
      if (err instanceof ApplicationFailure && err.type === FENCED) {
        activity.log.warn('write rejected by fencing: a newer attempt owns this sub-task', {
          subTask: subTask.id,
          token: attempt?.token,
        });
      }
      // The step's (or the command's) own failure: roll back past the checkpoint it ran from.
      // Store and fencing errors say nothing about the state, and a cancelled attempt did nothing wrong.
      const ownFailure = !(err instanceof ApplicationFailure) || err.type === COMMAND_FAILED;
      const stepFailed = !(err instanceof CheckpointError) && ownFailure && !signal.aborted;
      if (stepFailed) await attempt?.failed();
      throw err;
    }
  }
}

export type InstanceActivities = ReturnType<typeof createInstanceActivities>;
