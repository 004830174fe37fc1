import { DescribeInstanceStatusCommand, type EC2Client, type InstanceStatus } from '@aws-sdk/client-ec2';
import { describeTaggedInstances, LIVE_STATES } from './ec2-instances';
import { pushAll } from '../util/array';
import { TAG } from './ec2-tags';
import type { InstanceLostEvent } from './provisioner';

/** EC2's state reason when it reclaims a spot instance. */
const SPOT_TERMINATION = 'Server.SpotInstanceTermination';

/** DescribeInstanceStatus takes this many instance ids per call. */
const STATUS_BATCH = 100;

/**
 * Instances whose EC2 status checks fail (`impaired`): the machine (system check) or its OS
 * (instance check: reachability) does not answer — EC2's counterpart of a worker that hangs.
 */
export function impairedInstances(statuses: readonly InstanceStatus[]): string[] {
  return statuses
    .filter((s) => s.InstanceStatus?.Status === 'impaired' || s.SystemStatus?.Status === 'impaired')
    .flatMap((s) => (s.InstanceId ? [s.InstanceId] : []));
}

/**
 * Liveness from EC2: reads the state of every instance spotdag launched (one paginated
 * DescribeInstances by tag per check, whatever the number of jobs) and reports each one that left
 * `pending`/`running` without spotdag releasing it — reclaimed by spot, terminated on launch,
 * stopped or terminated by someone else; then the status checks of the running ones
 * (DescribeInstanceStatus, one call per 100) and reports each one EC2 finds impaired. The death
 * time is when the check saw it (at most one check interval late; EC2 itself takes a few minutes
 * of failed checks to call a machine impaired).
 */
export class Ec2InstanceWatch {
  /** Instances seen live, by id, with their job. */
  private readonly live = new Map<string, string>();
  /** Instances spotdag terminated on purpose: their end is no loss. */
  private readonly released = new Set<string>();

  constructor(
    private readonly client: EC2Client,
    private readonly log?: (line: string) => void,
  ) {}

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
    const running: string[] = [];
    for (const i of instances) {
      const jobId = i.tags[TAG.job];
      if (!jobId) continue;
      if ((LIVE_STATES as readonly string[]).includes(i.state)) {
        if (this.released.has(i.instanceId)) continue;
        this.live.set(i.instanceId, jobId);
        if (i.state === 'running') running.push(i.instanceId);
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
    for (const instanceId of await this.impaired(running)) {
      const jobId = this.live.get(instanceId);
      if (jobId === undefined || this.released.has(instanceId)) continue;
      this.live.delete(instanceId); // reported once; released with the job's instances at its end
      lost.push({ jobId, instanceId, reason: 'impaired', atMs: nowMs });
    }
    return lost;
  }

  /** The running instances among `ids` that EC2's status checks find impaired. */
  private async impaired(ids: string[]): Promise<string[]> {
    const out: string[] = [];
    for (let k = 0; k < ids.length; k += STATUS_BATCH) {
      try {
        const page = await this.client.send(
          new DescribeInstanceStatusCommand({ InstanceIds: ids.slice(k, k + STATUS_BATCH) }),
        );
        pushAll(out, impairedInstances(page.InstanceStatuses ?? []));
      } catch (err) {
        // States were read: report what they say; the status checks are tried again next time.
        this.log?.(`instance status checks: ${(err as Error).message}`);
      }
    }
    return out;
  }
}
