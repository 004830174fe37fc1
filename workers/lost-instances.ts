import type { Client } from '@temporalio/client';
import type { Provisioner } from '../src/provision/provisioner';
import { instanceLostSignal } from '../workflows/messages';

/**
 * Tells each job's workflow at once when its provider sees one of its instances die, so that the
 * work queued or running there moves without waiting for a heartbeat or schedule-to-start timeout.
 * A job that is done (or from before the runtime controller) ignores it.
 */
export function reportLostInstances(provisioner: Provisioner, client: Client): void {
  provisioner.watchLost?.((event) => {
    client.workflow
      .getHandle(event.jobId)
      .signal(instanceLostSignal, { instanceId: event.instanceId, reason: event.reason, atMs: event.atMs })
      .catch(() => undefined); // the job has ended, or its server is away: its timeouts still work
  });
}
