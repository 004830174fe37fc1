import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { JobTenancy } from '../src/tenancy/types';
import { fleetWorkflowId } from '../src/tenancy/types';
import { fleetAdmitSignal } from '../workflows/fleet-messages';

export interface FleetActivityDeps {
  client: Client;
}

/** The activity that starts a fleet's workflow when it is not running yet. */
export function createFleetActivities(deps: FleetActivityDeps) {
  return {
    /**
     * Asks the job's fleet to admit it, starting the fleet workflow (on this worker's task queue)
     * if it is not running. The fleet answers the job by signal. A job with a deadline gives the
     * latest time it can start and still meet it: the fleet puts it first in line from then on.
     */
    async joinFleet(
      jobId: string,
      tenancy: JobTenancy,
      instances: number,
      latestStartMs?: number,
    ): Promise<void> {
      await deps.client.workflow.signalWithStart('spotdagFleet', {
        workflowId: fleetWorkflowId(tenancy.fleet),
        taskQueue: Context.current().info.taskQueue,
        args: [tenancy.fleet],
        signal: fleetAdmitSignal,
        signalArgs: [
          {
            jobId,
            tenant: tenancy.tenant,
            priority: tenancy.priority,
            limits: tenancy.limits,
            instances,
            ...(latestStartMs !== undefined ? { latestStartMs } : {}),
          },
        ],
      });
    },
  };
}

export type FleetActivities = ReturnType<typeof createFleetActivities>;
