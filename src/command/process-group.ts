import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A command's process tree: its own process group (and session), so that everything it starts
 * can be signalled at once, and nothing outlives a cancelled or interrupted sub-task.
 */
export interface CommandProcess {
  readonly pid: number;
  /** Settles when the program exits: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Signals the whole group (no-op once it has exited). */
  signal(signal: NodeJS.Signals): void;
  /**
   * SIGTERM to the group, then SIGKILL to whatever is left after `graceMs`; resolves once the
   * program has exited.
   */
  terminate(graceMs: number): Promise<void>;
}

/** A program that could not be started: missing, not executable, or its working directory. */
export class ProgramNotStartedError extends Error {
  constructor(
    readonly program: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ProgramNotStartedError';
  }
}

export interface StartProcessOptions {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdoutFile: string;
  stderrFile: string;
  /**
   * A folder of marker files, one per live process group (`<pgid>`): whoever manages the machine
   * (the local provisioner) can kill them if this worker dies without doing so.
   */
  groupsDir?: string;
}

/** Live process groups of this process, killed if it exits without cleaning up. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
  });
}

/** Starts `file` in a new process group with its output going to files; waits until it runs. */
export async function startProcess(options: StartProcessOptions): Promise<CommandProcess> {
  const stdout = openSync(options.stdoutFile, 'a');
  const stderr = openSync(options.stderrFile, 'a');
  const child = spawn(options.file, options.args, {
    cwd: options.cwd,
    env: options.env,
    detached: true, // setsid: a group of its own
    stdio: ['ignore', stdout, stderr],
  });
  closeSync(stdout);
  closeSync(stderr);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ProgramNotStartedError(options.file, err.code ?? 'unknown', err.message)),
    );
  });
  const pid = child.pid!;
  installExitHook();
  liveGroups.add(pid);
  const marker = options.groupsDir ? path.join(options.groupsDir, String(pid)) : undefined;
  if (marker) {
    mkdirSync(options.groupsDir!, { recursive: true });
    writeFileSync(marker, `${process.pid}\n`);
  }
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      // The leader is gone; anything it left in its group goes with it.
      killGroup(pid, 'SIGKILL');
      liveGroups.delete(pid);
      if (marker) rmSync(marker, { force: true });
      resolve({ code, signal });
    });
  });
  return {
    pid,
    exited,
    signal: (signal) => {
      if (!done) killGroup(pid, signal);
    },
    async terminate(graceMs) {
      if (done) return;
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Signals the process groups recorded in `groupsDir` (by a worker that may be dead): what the
 * local provisioner does when it kills an instance, as the end of a machine would.
 */
export function signalRecordedGroups(groupsDir: string, signal: NodeJS.Signals): number[] {
  let names: string[];
  try {
    names = readdirSync(groupsDir);
  } catch {
    return [];
  }
  const pids = names.map(Number).filter((n) => Number.isInteger(n) && n > 1);
  for (const pid of pids) killGroup(pid, signal);
  return pids;
}
