import type { Client } from '@temporalio/client';
import { SimplePlugin } from '@temporalio/plugin';
import { createSpotdagActivities } from '../activities';
import { reportLostInstances, type LivenessOptions } from './lost-instances';
import type { CheckpointStore } from '../src/checkpoint';
import type { InstanceMarket } from '../src/job/instance-market';
import type { Provisioner } from '../src/provision/provisioner';

export interface SpotDagPluginOptions {
  /** The client the planning activities use to watch instance task queues. */
  client: Client;
  /**
   * Where instances come from (e.g. `new LocalProvisioner({ stateDir })`). For EC2, spread
   * `ec2Provider({ settings, stateDir })` (spotdag/workers): provisioner, market and timeouts.
   */
  provisioner: Provisioner;
  /** The market of a provider other than `local` (EC2: `Ec2Market`). */
  market?: InstanceMarket;
  /** How long to wait for a new instance to poll its queue (default 60 s). */
  instanceReadyTimeoutMs?: number;
  /**
   * The instances' checkpoint store (`openCheckpointStore(url)`): plans are kept there and passed by
   * reference, which large jobs need; without one they travel inline in workflow history.
   */
  checkpointStore?: CheckpointStore;
  /** When an instance whose queue has no poller is presumed dead (default: after 75 s). */
  liveness?: LivenessOptions;
}

/**
 * Adds spotdag to an existing Temporal worker on the control task queue: it registers the planning,
 * provisioning and runtime-controller activities, and tells jobs at once when the provisioner sees
 * an instance die. The worker's workflows module re-exports `spotdag/workflows`.
 */
export class SpotDagPlugin extends SimplePlugin {
  constructor(options: SpotDagPluginOptions) {
    // Runs for the life of the process, like the worker it is added to.
    reportLostInstances(options.provisioner, options.client, options.liveness);
    super({
      name: 'spotdag',
      activities: createSpotdagActivities({
        client: options.client,
        provisioner: options.provisioner,
        market: options.market,
        instanceReadyTimeoutMs: options.instanceReadyTimeoutMs,
        store: options.checkpointStore,
      }),
    });
  }
}
