import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, type Context } from '@temporalio/activity';
import {
  ArtifactError,
  fileRef,
  type ArtifactRef,
  type ArtifactScope,
  type ArtifactStore,
} from '../src/artifacts';
import { encodeSegment } from '../src/checkpoint/keys';
import type { ArtifactCache, Transfer } from '../src/command/cache';
import { commandEnvironment, parseProgress, type CommandFolders } from '../src/command/environment';
import { archiveFolder, extractArchive, listFiles, readTail } from '../src/command/folders';
import {
  declaredFiles,
  inputFiles,
  missingOutputs,
  tail,
  type CommandOutput,
  type InputFile,
} from '../src/command/outputs';
import { ProgramNotStartedError, startProcess, type CommandProcess } from '../src/command/process-group';
import type { CommandSpec } from '../src/dag/types';
import type { PlannedSubTask, SubTaskTransfers } from '../src/job/types';
import { mapLimit } from '../src/checkpoint/blob';
import { builtCliScript } from '../src/util/package-root';
import type { AttemptProgress, CheckpointDescriptor, SavedState } from './instance';

/** Error type of a command that exited non-zero (or wrote less than it declared): retried, rolled back. */
export const COMMAND_FAILED = 'CommandFailed';
/** Error type of a program that is not there: retrying on the same instance cannot help. */
export const PROGRAM_NOT_FOUND = 'ProgramNotFound';

/** The exit code of a shell that did not find a program. */
const SHELL_NOT_FOUND = 127;
/** How much of stderr a failure's message carries. */
const STDERR_TAIL_BYTES = 4096;
/** How often the attempt looks at its program (progress, heartbeat, checkpoint due). */
const POLL_MS = 1_000;
/** Files moved to or from the artifact store at once. */
const PARALLEL_FILES = 4;

/** What a command attempt needs of its instance. */
export interface CommandRunner {
  instanceId: string;
  /** Where attempts get their folders (`runs/`) and leave process-group markers (`groups/`). */
  workDir: string;
  artifacts: ArtifactStore;
  cache: ArtifactCache;
  checkpointIntervalMs: number;
  /** Seconds between SIGTERM and SIGKILL (SPOTDAG_NOTICE_SECONDS), unless a notice leaves less time. */
  graceMs: number;
  /** Aborted by a spot notice. */
  interruption?: AbortSignal;
  /** When the instance goes, once a notice said so (ms since the epoch). */
  reclaimAtMs?: () => number | undefined;
}

/** The store attempt as a command sees it: restore, save with the archive it points to, reject. */
export interface CommandCheckpoints {
  readonly token: number;
  restore(): Promise<SavedState | undefined>;
  save(saved: SavedState, artifacts: ArtifactRef[]): Promise<CheckpointDescriptor>;
  /** The checkpoint just restored cannot be used (its archive is gone or damaged): roll back past it. */
  rejectRestored(): Promise<void>;
}

/** What a command's checkpoint state is: the archive of its checkpoint folder. */
interface CommandState {
  archive: ArtifactRef;
}

const emptyTransfers = (): SubTaskTransfers => ({
  inputFiles: 0,
  inputBytes: 0,
  fetchedBytes: 0,
  inputSeconds: 0,
  outputFiles: 0,
  outputBytes: 0,
  outputSeconds: 0,
  checkpoints: 0,
  checkpointBytes: 0,
});

/** The program and arguments to start; `spotdag` is this package's own CLI (e.g. `spotdag stand-in`). */
export function programOf(command: CommandSpec): { file: string; args: string[]; shown: string } {
  if (command.shell !== undefined) return { file: '/bin/sh', args: ['-c', command.shell], shown: '/bin/sh' };
  const [program, ...args] = command.argv!;
  if (program === 'spotdag')
    return { file: process.execPath, args: [builtCliScript(), ...args], shown: 'spotdag' };
  return { file: program!, args, shown: program! };
}

/** The dependencies' outputs as the files of the input folder (see `inputFiles`). */
export function commandInputs(subTask: PlannedSubTask, outputs: Record<string, unknown>): InputFile[] {
  try {
    return inputFiles(
      subTask.id,
      subTask.dependsOn.map((d) => ({ id: d.id, output: outputs[d.id] })),
      subTask.command?.inputs,
    );
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidCommandInputs');
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Runs `work` while heartbeating `details`, so a long upload or download does not look like a lost instance. */
async function heartbeating<T>(activity: Context, details: () => unknown, work: Promise<T>): Promise<T> {
  const timer = setInterval(() => activity.heartbeat(details()), POLL_MS);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/**
 * One attempt of a command sub-task (docs/commands.md): restore its checkpoint folder from the
 * last good archive, place its inputs, run the program in a process group of its own, archive
 * the checkpoint folder every checkpoint interval and after a spot notice's SIGTERM, and on exit 0
 * store its output files and logs. Returns the output to record as the sub-task's result.
 */
export async function runCommandAttempt(
  runner: CommandRunner,
  activity: Context,
  request: { jobId: string; subTask: PlannedSubTask; inputs: InputFile[] },
  checkpoints: CommandCheckpoints,
  progress: AttemptProgress,
): Promise<{ output: CommandOutput; transfers: SubTaskTransfers; resumedFromProgress: number }> {
  const { jobId, subTask } = request;
  const command = subTask.command!;
  const jobScope: ArtifactScope = { jobId };
  const ownScope: ArtifactScope = { jobId, subTaskId: subTask.id };
  const transfers = emptyTransfers();
  const root = path.join(
    runner.workDir,
    'runs',
    encodeSegment(jobId),
    encodeSegment(subTask.id),
    String(checkpoints.token),
  );
  const folders: CommandFolders = {
    input: path.join(root, 'input'),
    output: path.join(root, 'output'),
    checkpoint: path.join(root, 'checkpoint'),
    progressFile: path.join(root, 'progress'),
  };
  const logs = { stdout: path.join(root, 'stdout.log'), stderr: path.join(root, 'stderr.log') };
  const whileWorking = <T>(work: Promise<T>) => heartbeating(activity, () => progress, work);
  let child: CommandProcess | undefined;
  await rm(root, { recursive: true, force: true });
  await Promise.all(
    [folders.input, folders.output, folders.checkpoint].map((d) => mkdir(d, { recursive: true })),
  );
  try {
    const restored = await whileWorking(
      restoreFolder(runner, ownScope, checkpoints, folders.checkpoint, root),
    );
    if (restored)
      Object.assign(progress, { progress: restored.progress, checkpointProgress: restored.progress });
    activity.heartbeat(progress);
    await whileWorking(placeInputs(runner, jobScope, request.inputs, folders.input, transfers));

    const { file, args, shown } = programOf(command);
    const cwd = command.workdir ?? process.cwd();
    if (!existsSync(cwd))
      throw ApplicationFailure.nonRetryable(
        `sub-task ${subTask.id}: workdir ${cwd} does not exist on instance ${runner.instanceId}`,
        PROGRAM_NOT_FOUND,
      );
    const env = commandEnvironment(
      { ...subTask, jobId, itemSplit: subTask.kind === 'split' && !subTask.range },
      folders,
      {
        noticeSeconds: runner.graceMs / 1000,
        attempt: checkpoints.token,
        base: process.env,
        extra: command.env,
      },
    );
    try {
      child = await startProcess({
        file,
        args,
        cwd,
        env,
        stdoutFile: logs.stdout,
        stderrFile: logs.stderr,
        groupsDir: path.join(runner.workDir, 'groups'),
      });
    } catch (err) {
      if (!(err instanceof ProgramNotStartedError)) throw err;
      const reason = err.code === 'ENOENT' ? 'not found' : `cannot be started (${err.code})`;
      throw ApplicationFailure.nonRetryable(
        `sub-task ${subTask.id}: program "${shown}" ${reason} on instance ${runner.instanceId}: ${err.message}`,
        PROGRAM_NOT_FOUND,
      );
    }

    let lastArchive = restored ? (restored.state as CommandState).archive?.digest : undefined;
    let lastCheckpointAt = Date.now();
    /** Archives the checkpoint folder and records it (fenced), unless it is empty or unchanged. */
    const checkpoint = async () => {
      lastCheckpointAt = Date.now();
      // Progress as the program saw it just before the archive: the archive holds at least that much.
      await readProgress();
      const at = progress.progress;
      const tarFile = path.join(root, 'checkpoint.tar');
      // Empty: nothing to keep yet. Torn (changed while archived): the next interval tries again.
      if ((await archiveFolder(folders.checkpoint, tarFile)) !== 'archived') return;
      const { digest } = await fileRef(tarFile);
      if (digest === lastArchive) return;
      const archive = await runner.artifacts.putFile(ownScope, tarFile, digest);
      const descriptor = await checkpoints.save({ state: { archive } satisfies CommandState, progress: at }, [
        archive,
      ]);
      lastArchive = digest;
      transfers.checkpoints++;
      transfers.checkpointBytes += archive.bytes;
      Object.assign(progress, { checkpoint: descriptor, checkpointProgress: at });
    };
    const readProgress = async () => {
      const value = parseProgress(await readFile(folders.progressFile, 'utf8').catch(() => ''));
      if (value !== undefined) progress.progress = value;
    };

    // One signal per attempt for a notice or a cancellation (AbortSignal.any holds its sources weakly).
    const stopping = runner.interruption
      ? AbortSignal.any([runner.interruption, activity.cancellationSignal])
      : activity.cancellationSignal;
    const stopped = aborted(stopping);
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    while (!exit && !stopping.aborted) {
      const next = await Promise.race([child.exited, stopped, sleep(POLL_MS)]);
      if (next && typeof next === 'object') exit = next;
      await readProgress();
      activity.heartbeat(progress);
      if (!exit && !stopping.aborted && Date.now() - lastCheckpointAt >= runner.checkpointIntervalMs)
        await whileWorking(checkpoint());
    }
    const stop = !exit;
    if (stop) {
      // The interruption wins over the cancellation that the worker's shutdown brings with it.
      const noticed = runner.interruption?.aborted === true;
      const reclaimAt = runner.reclaimAtMs?.();
      // Leave half of what the notice leaves for archiving what the program saved.
      const grace =
        noticed && reclaimAt
          ? Math.min(runner.graceMs, Math.max(1_000, (reclaimAt - Date.now()) / 2))
          : runner.graceMs;
      await whileWorking(child.terminate(grace));
      if (!noticed)
        throw activity.cancellationSignal.reason instanceof Error
          ? activity.cancellationSignal.reason
          : new CancelledFailure(`sub-task ${subTask.id} cancelled`);
      await whileWorking(checkpoint());
      // The caller turns this into InstanceInterrupted, carrying how far the final checkpoint went.
      throw new Error(`sub-task ${subTask.id} stopped by a spot notice`);
    }

    const logRefs = await whileWorking(storeLogs(runner.artifacts, jobScope, logs));
    const ended = exit!;
    // A shell says 127 when it cannot find a program (POSIX): another attempt would not find it either.
    if (command.shell !== undefined && ended.code === SHELL_NOT_FOUND)
      throw await commandFailed(
        subTask.id,
        `a program of its shell line was not found on instance ${runner.instanceId} (exit 127)`,
        logs.stderr,
        logRefs,
        PROGRAM_NOT_FOUND,
      );
    if (ended.code !== 0) {
      const how = ended.signal ? `was killed by ${ended.signal}` : `exited with code ${ended.code}`;
      throw await commandFailed(subTask.id, `command ${shown} ${how}`, logs.stderr, logRefs);
    }
    await readProgress();
    progress.progress = 1;
    const output = await whileWorking(
      storeOutputs(runner.artifacts, jobScope, folders.output, command, logRefs, transfers),
    ).catch(async (err: unknown) => {
      if (err instanceof MissingOutputsError)
        throw await commandFailed(subTask.id, err.message, logs.stderr, logRefs);
      throw err;
    });
    return { output, transfers, resumedFromProgress: restored?.progress ?? 0 };
  } finally {
    // An attempt that ends with its program still running (a store error, a fenced write) stops it.
    if (child) {
      child.signal('SIGKILL');
      await child.exited;
    }
    await rm(root, { recursive: true, force: true }).catch((err: unknown) =>
      activity.log.warn('could not remove the folders of a command attempt', { root, error: String(err) }),
    );
  }
}

class MissingOutputsError extends Error {}

/**
 * A failure with the tail of stderr and where the full logs are: `CommandFailed` is retried and
 * rolled back past; `ProgramNotFound` fails the sub-task at once.
 */
async function commandFailed(
  subTaskId: string,
  what: string,
  stderrFile: string,
  logs: CommandOutput['logs'],
  type: typeof COMMAND_FAILED | typeof PROGRAM_NOT_FOUND = COMMAND_FAILED,
): Promise<ApplicationFailure> {
  const stderr = tail(await readTail(stderrFile, STDERR_TAIL_BYTES + 4), STDERR_TAIL_BYTES);
  const message =
    `sub-task ${subTaskId}: ${what}` +
    (stderr.trim() ? `; last ${STDERR_TAIL_BYTES / 1024} KB of stderr:\n${stderr}` : ' (stderr is empty)') +
    `\n(full logs in the artifact store: stderr sha256 ${logs.stderr.digest}, stdout sha256 ${logs.stdout.digest})`;
  return ApplicationFailure.create({
    message,
    type,
    nonRetryable: type !== COMMAND_FAILED,
    details: [{ logs }],
  });
}

/**
 * Unpacks the last good checkpoint's archive into the checkpoint folder. An archive that is gone
 * or damaged rolls back to the checkpoint before it.
 */
async function restoreFolder(
  runner: CommandRunner,
  scope: ArtifactScope,
  checkpoints: CommandCheckpoints,
  folder: string,
  root: string,
): Promise<SavedState | undefined> {
  for (;;) {
    const saved = await checkpoints.restore();
    if (!saved) return undefined;
    const archive = (saved.state as Partial<CommandState> | null)?.archive;
    if (!archive) return saved;
    const tarFile = path.join(root, 'restored.tar');
    try {
      await runner.cache.stage(scope, archive, tarFile);
      await extractArchive(tarFile, folder);
      await rm(tarFile, { force: true });
      return saved;
    } catch (err) {
      if (!(err instanceof ArtifactError)) throw err;
      await rm(folder, { recursive: true, force: true });
      await mkdir(folder, { recursive: true });
      await checkpoints.rejectRestored();
    }
  }
}

/** Places every input file, fetching what the instance's cache does not have. */
async function placeInputs(
  runner: CommandRunner,
  scope: ArtifactScope,
  inputs: InputFile[],
  folder: string,
  transfers: SubTaskTransfers,
): Promise<void> {
  const started = performance.now();
  const moved: Transfer[] = await mapLimit(inputs, PARALLEL_FILES, async (input) => {
    const dest = path.join(folder, input.path);
    if ('json' in input) {
      const data = JSON.stringify(input.json ?? null);
      await mkdir(path.dirname(dest), { recursive: true });
      await writeFile(dest, data);
      return { digest: '', bytes: Buffer.byteLength(data), fetchedBytes: 0, seconds: 0 };
    }
    return runner.cache.stage(scope, input.ref, dest);
  });
  transfers.inputFiles = moved.length;
  transfers.inputBytes = moved.reduce((a, t) => a + t.bytes, 0);
  transfers.fetchedBytes = moved.reduce((a, t) => a + t.fetchedBytes, 0);
  transfers.inputSeconds = (performance.now() - started) / 1000;
}

async function storeLogs(
  artifacts: ArtifactStore,
  scope: ArtifactScope,
  logs: { stdout: string; stderr: string },
): Promise<CommandOutput['logs']> {
  const put = async (file: string) =>
    (await stat(file).catch(() => undefined))
      ? artifacts.putFile(scope, file)
      : artifacts.putBytes(scope, Buffer.alloc(0));
  const [stdout, stderr] = await Promise.all([put(logs.stdout), put(logs.stderr)]);
  return { stdout, stderr };
}

/** Stores the output files (the declared ones, or all) and returns the manifest of the output. */
async function storeOutputs(
  artifacts: ArtifactStore,
  scope: ArtifactScope,
  folder: string,
  command: CommandSpec,
  logs: CommandOutput['logs'],
  transfers: SubTaskTransfers,
): Promise<CommandOutput> {
  const { files: written } = await listFiles(folder);
  const missing = missingOutputs(command.outputs ?? [], written);
  if (missing.length > 0)
    throw new MissingOutputsError(
      `declared output${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not written to SPOTDAG_OUTPUT_DIR`,
    );
  const paths = declaredFiles(command.outputs, written);
  const started = performance.now();
  const refs = await mapLimit(paths, PARALLEL_FILES, (p) => artifacts.putFile(scope, path.join(folder, p)));
  transfers.outputFiles = refs.length;
  transfers.outputBytes = refs.reduce((a, r) => a + r.bytes, 0);
  transfers.outputSeconds = (performance.now() - started) / 1000;
  return { type: 'command', files: Object.fromEntries(paths.map((p, i) => [p, refs[i]!])), logs };
}
