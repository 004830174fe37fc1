import {
  formatRecoveryBenchmark,
  runRecoveryBenchmark,
  writeRecoveryBenchmarkJson,
} from '../../bench/recovery';
import { startLocalStack } from '../../workers/local-stack';
import { startCliLogs, type LogFlags } from '../logs';
import { EXIT } from '../errors';
import { stateDir } from '../state';

export interface RecoveryCli extends LogFlags {
  trials: number;
  heartbeatTimeout: number;
  checkpointInterval: number;
  notice: number;
  work: number;
  unitMs: number;
  seed: number;
  json?: string;
}

/** `spotdag bench recovery`: a local stack whose instances checkpoint at the given interval. */
export async function runRecoveryBenchmarkCommand(opts: RecoveryCli): Promise<void> {
  startCliLogs(opts);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const stack = await startLocalStack({
    stateDir: stateDir(),
    checkpointIntervalMs: opts.checkpointInterval * 1000,
    log,
  });
  try {
    const result = await stack.runUntil(() =>
      runRecoveryBenchmark({
        stack,
        trials: opts.trials,
        heartbeatTimeoutSeconds: opts.heartbeatTimeout,
        checkpointIntervalSeconds: opts.checkpointInterval,
        noticeSeconds: opts.notice,
        workSeconds: opts.work,
        unitMs: opts.unitMs,
        seed: opts.seed,
        log,
      }),
    );
    process.stdout.write(formatRecoveryBenchmark(result));
    if (opts.json) writeRecoveryBenchmarkJson(opts.json, result);
    if (!result.goals.allResultsCorrect) process.exitCode = EXIT.failed;
  } finally {
    await stack.close();
  }
}
