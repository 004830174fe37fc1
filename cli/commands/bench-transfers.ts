import {
  formatTransferBenchmark,
  runTransferBenchmark,
  writeTransferBenchmarkJson,
} from '../../bench/transfers';
import { startLocalStack } from '../../workers/local-stack';
import { startCliLogs, type LogFlags } from '../logs';
import { stateDir } from '../state';

export interface TransfersCli extends LogFlags {
  workflow: string;
  runtimeScale: number;
  sizeScale: number;
  instances: number;
  slots: number;
  bandwidth?: number;
  repeat: number;
  json?: string;
}

/** `spotdag bench transfers`: a local stack whose instances download at the emulated link speed. */
export async function runTransferBenchmarkCommand(opts: TransfersCli): Promise<void> {
  startCliLogs(opts);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const bandwidth = opts.bandwidth ? opts.bandwidth * 1e6 : undefined;
  // Local instances inherit this process's environment.
  if (bandwidth) process.env.SPOTDAG_TRANSFER_BANDWIDTH = String(bandwidth);
  const stack = await startLocalStack({ stateDir: stateDir(), log });
  try {
    const result = await stack.runUntil(() =>
      runTransferBenchmark({
        stack,
        workflowFile: opts.workflow,
        runtimeScale: opts.runtimeScale,
        sizeScale: opts.sizeScale,
        instances: opts.instances,
        slots: opts.slots,
        bandwidthBytesPerSecond: bandwidth,
        repeat: opts.repeat,
        log,
      }),
    );
    process.stdout.write(formatTransferBenchmark(result));
    if (opts.json) writeTransferBenchmarkJson(opts.json, result);
  } finally {
    await stack.close();
  }
}
