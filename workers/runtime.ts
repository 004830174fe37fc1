import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

/**
 * Installs the Temporal runtime with a logger at SPOTDAG_LOG_LEVEL (default WARN), so that a CLI
 * command's own output is not buried under worker INFO lines. Call before creating any worker.
 */
export function installCliRuntime(): void {
  const level = (process.env.SPOTDAG_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel;
  Runtime.install({ logger: new DefaultLogger(level) });
}
