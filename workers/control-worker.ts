import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createControlActivities } from '../activities/control';
import { CONTROL_TASK_QUEUE } from '../src/names';
import type { Provisioner } from '../src/provision/provisioner';

export interface ControlWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  /** Used by activities that ask the server about instance queues. */
  client: Client;
  provisioner: Provisioner;
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
    activities: createControlActivities({ client: options.client, provisioner: options.provisioner }),
  });
}
