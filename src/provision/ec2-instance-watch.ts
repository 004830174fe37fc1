import type { EC2Client } from '@aws-sdk/client-ec2';
import { describeTaggedInstances, LIVE_STATES } from './ec2-instances';
import { TAG } from './ec2-tags';
import type { InstanceLostEvent } from './provisioner';

/** EC2's state reason when it reclaims a spot instance. */
const SPOT_TERMINATION = 'Server.SpotInstanceTermination';

/**
 * Liveness from EC2: reads the state of every instance spotdag launched (one paginated
 * DescribeInstances by tag per check, whatever the number of jobs) and reports each one that left
 * `pending`/`running` without spotdag releasing it — reclaimed by spot, terminated on launch,
 * stopped or terminated by someone else. The death time is when the check saw it (at most one
 * check interval late).
 */
export class Ec2InstanceWatch {
  /** Instances seen live, by id, with their job. */
  private readonly live = new Map<string, string>();
  /** Instances spotdag terminated on purpose: their end is no loss. */
  private readonly released = new Set<string>();

  constructor(private readonly client: EC2Client) {}

  /** Call before terminating instances on purpose. */
  releasing(instanceIds: Iterable<string>): void {
    for (const id of instanceIds) this.released.add(id);
  }

  async check(nowMs = Date.now()): Promise<InstanceLostEvent[]> {
    const lost: InstanceLostEvent[] = [];
    const instances = await describeTaggedInstances(this.client, {});
    // EC2 forgets terminated instances after a while: so does the watch.
    const described = new Set(instances.map((i) => i.instanceId));
    for (const id of this.released) if (!described.has(id)) this.released.delete(id);
    for (const i of instances) {
      const jobId = i.tags[TAG.job];
      if (!jobId) continue;
      if ((LIVE_STATES as readonly string[]).includes(i.state)) {
        if (!this.released.has(i.instanceId)) this.live.set(i.instanceId, jobId);
        continue;
      }
      if (!this.live.delete(i.instanceId) || this.released.has(i.instanceId)) continue;
      lost.push({
        jobId,
        instanceId: i.instanceId,
        reason: i.stateReason === SPOT_TERMINATION ? 'interrupted' : 'exited',
        atMs: nowMs,
      });
    }
    return lost;
  }
}
