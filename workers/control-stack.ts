import path from 'node:path';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkerOptions } from '@temporalio/worker';
import { openCheckpointStore } from '../src/checkpoint';
import type { SubTaskPolicy } from '../src/job/types';
import type { Provisioner } from '../src/provision/provisioner';
import { temporalTargetFromEnv, type TemporalTarget } from './connection';
import { createControlWorker } from './control-worker';
import { ensureLocalServer } from './dev-server';
import type { FleetBackend } from './providers';
import { reportLostInstances, type LivenessOptions } from './lost-instances';
import { loadStepModules, stepModulesFromEnv } from './steps-loader';

export interface ControlStackOptions {
  /** Provider state (instance records, spend ledger), and the dev server's database when spotdag starts one. */
  stateDir: string;
  /** Defaults to the environment (envconfig); with no address, a persistent local dev server. */
  target?: TemporalTarget;
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Modules that define steps, loaded here (besides SPOTDAG_STEPS); local instances load them too. */
  stepModules?: string[];
  /**
   * The instances' checkpoint store URL; the control worker keeps each job's plan there and
   * passes references (without one, plans travel inline and jobs stay small).
   */
  checkpointStore?: string;
  /** The instances' artifact store URL (default: the checkpoint store's, see openCheckpointStore). */
  artifactStore?: string;
  log?: (line: string) => void;
  /** When an instance whose queue has no poller is presumed dead (default: after 75 s). */
  liveness?: LivenessOptions;
}

/** The Temporal server a stack connects to, as its provider is told when it is made. */
export interface StackTemporal {
  address: string;
  namespace: string;
  /** Step modules, resolved (SPOTDAG_STEPS first). */
  stepModules: string[];
}

export interface ControlStack<P extends Provisioner = Provisioner> {
  client: Client;
  provisioner: P;
  /** Sub-task policy defaults of the provider, for the jobs this stack starts. */
  subTaskPolicy: Partial<SubTaskPolicy>;
  address: string;
  namespace: string;
  /** Temporal Web UI, when spotdag started the server (or TEMPORAL_UI_URL says where it is). */
  uiUrl?: string;
  /** The instances' artifact store URL, when there is one (command steps' files, large values). */
  artifactStore?: string;
  /** A new control worker (a worker runs once; make another to run again). */
  createWorker(): Promise<Worker>;
  /** Runs a new control worker until `fn` settles. */
  runUntil<T>(fn: () => Promise<T>): Promise<T>;
  /** Closes the connections and the provider; call after every worker has stopped. */
  close(): Promise<void>;
}

/**
 * A Temporal server (configured, or a local dev server), connections, and control workers in this
 * process with the provider `makeProvider` builds once the server is known.
 */
export async function startControlStack<P extends Provisioner>(
  options: ControlStackOptions,
  makeProvider: (temporal: StackTemporal) => FleetBackend<P>,
): Promise<ControlStack<P>> {
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
  const clientConnection = await Connection.connect(target.connectionOptions as ConnectionOptions);
  const client = new Client({ connection: clientConnection, namespace: target.namespace });
  const connection = await NativeConnection.connect(target.connectionOptions);
  const provider = makeProvider({ address, namespace: target.namespace, stepModules });
  const stopLiveness = reportLostInstances(provider.provisioner, client, options.liveness);
  const store = options.checkpointStore
    ? await openCheckpointStore(
        options.checkpointStore,
        options.artifactStore ? { artifactStore: options.artifactStore } : {},
      )
    : undefined;
  const createWorker = () =>
    createControlWorker({
      connection,
      namespace: target.namespace,
      client,
      provisioner: provider.provisioner,
      market: provider.market,
      instanceReadyTimeoutMs: provider.instanceReadyTimeoutMs,
      store,
      workflowBundle: options.workflowBundle,
    });
  return {
    client,
    provisioner: provider.provisioner,
    subTaskPolicy: provider.subTaskPolicy,
    address,
    namespace: target.namespace,
    uiUrl,
    ...(store?.artifacts ? { artifactStore: store.artifacts.url } : {}),
    createWorker,
    runUntil: async (fn) => (await createWorker()).runUntil(fn),
    async close() {
      stopLiveness();
      await provider.close();
      await store?.close();
      await connection.close();
      await clientConnection.close();
    },
  };
}
