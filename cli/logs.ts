import path from 'node:path';
import { installCliRuntime } from '../workers/runtime';
import { stateDir } from './state';

export interface LogFlags {
  verbose?: boolean;
}

/** `--verbose`: the Temporal SDK's logs on the terminal instead of their file. */
export const VERBOSE_HELP = "the Temporal SDK's logs on stderr instead of a file under .spotdag/logs/";

/**
 * Sends the SDK's logs to `.spotdag/logs/` (or stderr with --verbose) and says where on stderr, so
 * that stdout keeps the command's own story (and its JSON). Call before any worker starts.
 */
export function startCliLogs(flags: LogFlags): void {
  const file = installCliRuntime({ logDir: path.join(stateDir(), 'logs'), verbose: flags.verbose });
  if (file)
    process.stderr.write(
      `Temporal SDK logs: ${path.relative(process.cwd(), file) || file} (--verbose shows them here)\n`,
    );
}
