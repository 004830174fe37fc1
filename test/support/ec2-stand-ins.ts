import type { EC2Client } from '@aws-sdk/client-ec2';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { instanceTaskQueue } from '../../src/names';
import { describeTaggedInstances, LIVE_STATES } from '../../src/provision/ec2-instances';
import { TAG } from '../../src/provision/ec2-tags';
import { createInstanceWorker } from '../../workers/instance-worker';

/**
 * moto launches EC2 instances but runs nothing on them: no user data, so no instance worker. This
 * stands in for the boot script (tested on its own in ec2-watcher.test.ts): for every live instance
 * of the job in moto, an instance worker in this process polls `spotdag-i-<EC2 id>` with the slots
 * of its `spotdag:slots` tag; a terminated instance's worker is shut down.
 */
export class Ec2StandIns {
  private readonly workers = new Map<string, { worker: Worker; done: Promise<void> }>();
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;

  constructor(
    private readonly ec2: EC2Client,
    private readonly connection: NativeConnection,
    private readonly namespace: string,
    private readonly jobId: string,
  ) {}

  /** EC2 ids of the instances that got a worker. */
  get started(): string[] {
    return [...this.workers.keys()];
  }

  start(): this {
    this.timer = setInterval(() => {
      this.polling ??= this.sync().finally(() => (this.polling = undefined));
    }, 250);
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
    for (const { worker } of this.workers.values()) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.all([...this.workers.values()].map((w) => w.done));
  }

  private async sync(): Promise<void> {
    const live = await describeTaggedInstances(this.ec2, { jobId: this.jobId, states: LIVE_STATES });
    const liveIds = new Set(live.map((i) => i.instanceId));
    for (const [id, { worker }] of this.workers)
      if (!liveIds.has(id) && worker.getState() === 'RUNNING') worker.shutdown();
    for (const instance of live) {
      if (this.workers.has(instance.instanceId)) continue;
      const worker = await createInstanceWorker({
        connection: this.connection,
        namespace: this.namespace,
        instanceId: instance.instanceId,
        taskQueue: instanceTaskQueue(instance.instanceId),
        slots: Number(instance.tags[TAG.slots] ?? 1),
      });
      this.workers.set(instance.instanceId, { worker, done: worker.run() });
    }
  }
}
