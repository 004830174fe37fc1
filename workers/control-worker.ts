import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { ControlActivityDeps } from '../activities/control';
import { createSpotdagActivities } from '../activities';
import { CONTROL_TASK_QUEUE } from '../src/names';

/** The activities' dependencies: `client` asks the server about instance queues. */
export interface ControlWorkerOptions extends ControlActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue?: string;
  /** A prebuilt workflow bundle; otherwise spotdag's workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** The worker of the control task queue: job and sub-task workflows, planning activities. */
export async function createControlWorker(options: ControlWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? CONTROL_TASK_QUEUE,
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createSpotdagActivities({
      client: options.client,
      provisioner: options.provisioner,
      instanceReadyTimeoutMs: options.instanceReadyTimeoutMs,
      market: options.market,
      store: options.store,
    }),
  });
}
