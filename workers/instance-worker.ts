import { NativeConnection, Worker } from '@temporalio/worker';
import { Command, InvalidArgumentError } from 'commander';
import { createInstanceActivities } from '../activities/instance';
import { temporalTargetFromEnv } from './connection';
import { loadStepModules, stepModulesFromEnv } from './steps-loader';

export interface InstanceWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  instanceId: string;
  taskQueue: string;
  /** Sub-tasks run at once. */
  slots: number;
}

/** An instance's worker: polls only the instance's own task queue and runs sub-task steps. */
export async function createInstanceWorker(options: InstanceWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: createInstanceActivities({ instanceId: options.instanceId }),
    maxConcurrentActivityTaskExecutions: options.slots,
  });
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

async function main(): Promise<void> {
  const program = new Command('spotdag-instance-worker')
    .requiredOption('--instance-id <id>', 'this instance')
    .requiredOption('--task-queue <queue>', 'the task queue only this instance polls')
    .option('--slots <n>', 'sub-tasks run at once', positiveInt, 1)
    .option('--steps <module...>', 'modules that define steps (also SPOTDAG_STEPS)', [])
    .parse();
  const opts = program.opts<{ instanceId: string; taskQueue: string; slots: number; steps: string[] }>();
  loadStepModules([...stepModulesFromEnv(), ...opts.steps]);
  const target = temporalTargetFromEnv();
  const connection = await NativeConnection.connect(target.connectionOptions);
  const worker = await createInstanceWorker({ connection, namespace: target.namespace, ...opts });
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
