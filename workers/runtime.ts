import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';

export interface CliRuntimeOptions {
  /** Where the SDK's log file goes (`<dir>/spotdag-<time>-<pid>.log`). */
  logDir: string;
  /** The SDK's logs on the terminal (stderr) instead of the file. */
  verbose?: boolean;
}

/** Meta keys that never reach a log: a task token lets anyone complete the task it names. */
const SECRET_META = new Set(['taskToken']);

/** One JSON line per SDK log entry, without secrets. */
export function logLine(entry: LogEntry): string {
  const meta = Object.fromEntries(Object.entries(entry.meta ?? {}).filter(([k]) => !SECRET_META.has(k)));
  const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  return `${JSON.stringify({ at, level: entry.level, message: entry.message, ...meta })}\n`;
}

/**
 * Installs the Temporal runtime for a CLI command, so that its own output (progress, one line per
 * event) is not buried under the SDK's logs: they go to a file under `logDir` at
 * SPOTDAG_LOG_LEVEL (default INFO), or with `verbose` to stderr. Call before creating any worker.
 * Returns the log file's path (undefined when verbose), for the command to print.
 */
export function installCliRuntime(options: CliRuntimeOptions): string | undefined {
  const level = (process.env.SPOTDAG_LOG_LEVEL ?? 'INFO').toUpperCase() as LogLevel;
  if (options.verbose) {
    Runtime.install({ logger: new DefaultLogger(level, (entry) => process.stderr.write(logLine(entry))) });
    return undefined;
  }
  mkdirSync(options.logDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(options.logDir, `spotdag-${stamp}-${process.pid}.log`);
  let stream: WriteStream | undefined;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      stream ??= createWriteStream(file, { flags: 'a' });
      stream.write(logLine(entry));
    }),
  });
  return file;
}
