import type { Client } from '@temporalio/client';
import { SimplePlugin } from '@temporalio/plugin';
import { createSpotdagActivities } from '../activities';
import type { CheckpointStore } from './checkpoint';
import type { ProviderMarket } from './job/provider-market';
import type { Provisioner } from './provision/provisioner';

export interface SpotDagPluginOptions {
  /** The client the planning activities use to watch instance task queues. */
  client: Client;
  /**
   * Where instances come from (e.g. `new LocalProvisioner({ stateDir })`). For EC2, spread
   * `ec2Provider({ settings, stateDir })` (spotdag/workers): provisioner, market and timeouts.
   */
  provisioner: Provisioner;
  /** The market of a provider other than `local` (EC2: `Ec2Market`). */
  market?: ProviderMarket;
  /** How long to wait for a new instance to poll its queue (default 60 s). */
  instanceReadyTimeoutMs?: number;
  /**
   * The instances' checkpoint store (`openCheckpointStore(url)`): plans are kept there and passed by
   * reference, which large jobs need; without one they travel inline in workflow history.
   */
  checkpointStore?: CheckpointStore;
}

/**
 * Adds spotdag to an existing Temporal worker on the control task queue: it registers the planning
 * and provisioning activities. The worker's workflows module re-exports `spotdag/workflows`.
 */
export class SpotDagPlugin extends SimplePlugin {
  constructor(options: SpotDagPluginOptions) {
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
