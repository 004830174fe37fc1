// A worker process of `spotdag bench engine`'s plain fan-outs: configured as an instance worker
// (workers/instance-worker.ts: its own task queue, `--slots` activities at once, its own
// connection) but serving a no-op activity instead of `runSubTask`.
//   node dist/bench/engine-worker.js --task-queue <queue> --slots <n>
import { NativeConnection, Worker } from '@temporalio/worker';
import { Command } from 'commander';
import { positiveInt } from '../cli/args';
import { temporalTargetFromEnv } from '../workers/connection';
import path from 'node:path';
import { installCliRuntime } from '../workers/runtime';
import { stateDir } from '../cli/state';
import type { NoopActivities } from './engine-workflows';

const activities: NoopActivities = {
  benchNoop: async (i: number) => i,
};

async function main(): Promise<void> {
  const opts = new Command('spotdag-bench-engine-worker')
    .requiredOption('--task-queue <queue>', 'the task queue this process polls')
    .option('--slots <n>', 'activities at once', positiveInt, 1)
    .parse()
    .opts<{ taskQueue: string; slots: number }>();
  // Beside its parent's: one file per process under .spotdag/logs/.
  installCliRuntime({ logDir: path.join(stateDir(), 'logs') });
  const target = temporalTargetFromEnv();
  const connection = await NativeConnection.connect(target.connectionOptions);
  const worker = await Worker.create({
    connection,
    namespace: target.namespace,
    taskQueue: opts.taskQueue,
    activities,
    maxConcurrentActivityTaskExecutions: opts.slots,
  });
  // Temporal's runtime shuts the worker down gracefully on SIGTERM/SIGINT.
  await worker.run();
  await connection.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
