import type { Client } from '@temporalio/client';
import { SimplePlugin } from '@temporalio/plugin';
import { createControlActivities } from '../activities/control';
import type { Provisioner } from './provision/provisioner';

export interface SpotDagPluginOptions {
  /** The client the planning activities use to watch instance task queues. */
  client: Client;
  /** Where instances come from (e.g. `new LocalProvisioner({ stateDir })`). */
  provisioner: Provisioner;
}

/**
 * Adds spotdag to an existing Temporal worker on the control task queue: it registers the planning
 * and provisioning activities. The worker's workflows module re-exports `spotdag/workflows`.
 */
export class SpotDagPlugin extends SimplePlugin {
  constructor(options: SpotDagPluginOptions) {
    super({
      name: 'spotdag',
      activities: createControlActivities({ client: options.client, provisioner: options.provisioner }),
    });
  }
}
