import path from 'node:path';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkerOptions } from '@temporalio/worker';
import { LocalProvisioner } from '../src/provision/local';
import type { TraceInterruptions } from '../src/provision/trace-interruptions';
import { temporalTargetFromEnv, type TemporalTarget } from './connection';
import { createControlWorker } from './control-worker';
import { ensureLocalServer } from './dev-server';
import { loadStepModules, stepModulesFromEnv } from './steps-loader';

export interface LocalStackOptions {
  /** Instance records and logs, and the dev server's database when spotdag starts one. */
  stateDir: string;
  /** Defaults to the environment (envconfig); with no address, a persistent local dev server. */
  target?: TemporalTarget;
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Modules that define steps, loaded here and by every instance (besides SPOTDAG_STEPS). */
  stepModules?: string[];
  /** Checkpoint store URL for the instances; default SPOTDAG_CHECKPOINT_STORE or sqlite in stateDir. */
  checkpointStore?: string;
  /** Replay spot traces against the local instances. */
  interruptions?: TraceInterruptions;
  log?: (line: string) => void;
}

export interface LocalStack {
  client: Client;
  provisioner: LocalProvisioner;
  /** Where the instances keep checkpoints. */
  checkpointStore: string;
  address: string;
  namespace: string;
  /** Temporal Web UI, when spotdag started the server (or TEMPORAL_UI_URL says where it is). */
  uiUrl?: string;
  /** A new control worker (a worker runs once; make another to run again). */
  createWorker(): Promise<Worker>;
  /** Runs a new control worker until `fn` settles. */
  runUntil<T>(fn: () => Promise<T>): Promise<T>;
  /** Closes the connections; call after every worker has stopped. */
  close(): Promise<void>;
}

/**
 * Everything a job needs on one machine: a Temporal server (configured or a local dev server),
 * the control worker in this process, and a local provisioner whose instances are processes.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const stepModules = [...stepModulesFromEnv(), ...(options.stepModules ?? [])].map((m) =>
    m.startsWith('.') ? path.resolve(m) : m,
  );
  loadStepModules(stepModules);
  let target = options.target ?? temporalTargetFromEnv();
  let uiUrl = process.env.TEMPORAL_UI_URL;
  if (!target.address) {
    const server = await ensureLocalServer(options.stateDir, { log: options.log });
    target = {
      ...target,
      address: server.address,
      connectionOptions: { ...target.connectionOptions, address: server.address },
    };
    uiUrl = server.uiUrl;
  }
  const address = target.address!;
  // Local instances share one embedded store unless the environment names another.
  const checkpointStoreUrl =
    options.checkpointStore ??
    process.env.SPOTDAG_CHECKPOINT_STORE ??
    `sqlite:${path.join(options.stateDir, 'checkpoints.db')}`;
  const clientConnection = await Connection.connect(target.connectionOptions as ConnectionOptions);
  const client = new Client({ connection: clientConnection, namespace: target.namespace });
  const connection = await NativeConnection.connect(target.connectionOptions);
  const provisioner = new LocalProvisioner({
    stateDir: options.stateDir,
    env: {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: target.namespace,
      SPOTDAG_STEPS: stepModules.join(path.delimiter),
      SPOTDAG_CHECKPOINT_STORE: checkpointStoreUrl,
    },
    interruptions: options.interruptions,
  });
  const createWorker = () =>
    createControlWorker({
      connection,
      namespace: target.namespace,
      client,
      provisioner,
      workflowBundle: options.workflowBundle,
    });
  return {
    client,
    provisioner,
    checkpointStore: checkpointStoreUrl,
    address,
    namespace: target.namespace,
    uiUrl,
    createWorker,
    runUntil: async (fn) => (await createWorker()).runUntil(fn),
    async close() {
      await provisioner.close();
      await connection.close();
      await clientConnection.close();
    },
  };
}
