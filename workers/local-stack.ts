import path from 'node:path';
import { defaultArtifactStoreUrl } from '../src/artifacts';
import type { LocalProvisioner } from '../src/provision/local';
import type { ReplayMarket } from '../src/provision/replay-market';
import type { TraceInterruptions } from '../src/provision/trace-interruptions';
import { startControlStack, type ControlStack, type ControlStackOptions } from './control-stack';
import { localProvider } from './providers';

export interface LocalStackOptions extends ControlStackOptions {
  /** Checkpoint store URL for the instances; default SPOTDAG_CHECKPOINT_STORE or sqlite in stateDir. */
  checkpointStore?: string;
  /**
   * Artifact store URL (files of command steps, large values); default SPOTDAG_ARTIFACT_STORE, or
   * `file://` beside the sqlite checkpoint store.
   */
  artifactStore?: string;
  /** Minimum time between an instance's checkpoint writes (SPOTDAG_CHECKPOINT_INTERVAL_MS). */
  checkpointIntervalMs?: number;
  /** Replay spot traces against the local instances. */
  interruptions?: TraceInterruptions;
  /** Buy the local instances on a replayed spot market (pools, prices, traces). */
  market?: ReplayMarket;
  /** How long a launch waits for a new instance to poll its queue (default 60 s). */
  instanceReadyTimeoutMs?: number;
  /** Report suspended instance processes as lost (default true; `LocalProvisionerOptions.seeSuspended`). */
  seeSuspended?: boolean;
}

export interface LocalStack extends ControlStack<LocalProvisioner> {
  /** Where the instances keep checkpoints. */
  checkpointStore: string;
  /** Where the instances keep files and large values, if anywhere. */
  artifactStore?: string;
}

/**
 * Everything a job needs on one machine: a Temporal server (configured or a local dev server),
 * the control worker in this process, and a local provisioner whose instances are processes.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  // Local instances share one embedded store unless the environment names another.
  const checkpointStore =
    options.checkpointStore ??
    process.env.SPOTDAG_CHECKPOINT_STORE ??
    `sqlite:${path.join(options.stateDir, 'checkpoints.db')}`;
  const artifactStore = options.artifactStore ?? defaultArtifactStoreUrl(checkpointStore);
  const stack = await startControlStack({ ...options, checkpointStore, artifactStore }, (temporal) => ({
    ...localProvider({
      stateDir: options.stateDir,
      env: {
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_NAMESPACE: temporal.namespace,
        SPOTDAG_STEPS: temporal.stepModules.join(path.delimiter),
        SPOTDAG_CHECKPOINT_STORE: checkpointStore,
        ...(artifactStore ? { SPOTDAG_ARTIFACT_STORE: artifactStore } : {}),
        ...(options.checkpointIntervalMs !== undefined
          ? { SPOTDAG_CHECKPOINT_INTERVAL_MS: String(options.checkpointIntervalMs) }
          : {}),
      },
      interruptions: options.interruptions,
      market: options.market,
      seeSuspended: options.seeSuspended,
    }),
    ...(options.instanceReadyTimeoutMs !== undefined
      ? { instanceReadyTimeoutMs: options.instanceReadyTimeoutMs }
      : {}),
  }));
  return { ...stack, checkpointStore, artifactStore };
}
