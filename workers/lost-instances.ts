import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Provisioner } from '../src/provision/provisioner';
import { instanceLostSignal, type InstanceLostReport } from '../workflows/messages';

/**
 * Temporal's matching service holds a worker's poll for up to a minute
 * (`matching.longPollExpirationInterval`) and records the poller's access when the poll starts
 * and when it ends; a live worker with a free slot polls again at once. So a live instance's last
 * access is at most a minute old, and a hung one's goes stale a minute after it hung at most:
 * it is found within long-poll + bound + a check interval (about 2.5 minutes by default, against
 * 5 for schedule-to-start). 15 s of margin over the minute.
 */
export const DEFAULT_POLLER_BOUND_SECONDS = 75;

export interface LivenessOptions {
  /**
   * An instance whose activity queue had no poll for longer than this is presumed dead (hung, or
   * gone without its provider noticing). It must exceed the server's long-poll interval; 0 turns
   * the check off. Default 75 s.
   */
  pollerBoundSeconds?: number;
  /** How often the queues are looked at (default: a tenth of the bound, at least 1 s). */
  pollerCheckEverySeconds?: number;
}

/**
 * Tells each job's workflow at once when one of its instances is lost, so that the work queued or
 * running there moves without waiting for a heartbeat or schedule-to-start timeout:
 * - the provider saw it die (its process exited, a spot interruption took it);
 * - its task queue had no poller for longer than the bound (a worker that hangs without exiting).
 *   The job decides: a worker whose slots are all busy does not poll, and its heartbeats watch it.
 * A job that is done (or from before the runtime controller) ignores it. Returns a stop function.
 */
export function reportLostInstances(
  provisioner: Provisioner,
  client: Client,
  options: LivenessOptions = {},
): () => void {
  const tell = (jobId: string, report: InstanceLostReport): Promise<void> =>
    client.workflow
      .getHandle(jobId)
      .signal(instanceLostSignal, report)
      .catch(() => undefined); // the job has ended, or its server is away: its timeouts still work
  provisioner.watchLost?.((event) => {
    void tell(event.jobId, { instanceId: event.instanceId, reason: event.reason, atMs: event.atMs });
  });
  const boundSeconds = options.pollerBoundSeconds ?? DEFAULT_POLLER_BOUND_SECONDS;
  if (boundSeconds <= 0) return () => undefined;
  const everyMs = (options.pollerCheckEverySeconds ?? Math.max(1, boundSeconds / 10)) * 1000;
  const watch = new PollerWatch(provisioner, client, boundSeconds * 1000, tell);
  let running = false;
  const timer = setInterval(() => {
    if (running) return; // a slow server: one check at a time
    running = true;
    watch
      .check()
      .catch(() => undefined) // the server or provider is away: the next check tries again
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Instances whose activity task queue has had no poll for longer than the bound. */
class PollerWatch {
  /** When the watch first saw each instance: one that never polled gets the bound from then. */
  private readonly firstSeenMs = new Map<string, number>();
  private readonly reported = new Set<string>();

  constructor(
    private readonly provisioner: Provisioner,
    private readonly client: Client,
    private readonly boundMs: number,
    private readonly tell: (jobId: string, report: InstanceLostReport) => Promise<void>,
  ) {}

  async check(): Promise<void> {
    const now = Date.now();
    const live = await this.provisioner.list();
    const ids = new Set(live.map((i) => i.id));
    for (const id of this.firstSeenMs.keys()) if (!ids.has(id)) this.firstSeenMs.delete(id);
    for (const id of this.reported) if (!ids.has(id)) this.reported.delete(id);
    for (const instance of live) {
      if (!instance.jobId || this.reported.has(instance.id)) continue;
      const firstSeen = this.firstSeenMs.get(instance.id) ?? now;
      this.firstSeenMs.set(instance.id, firstSeen);
      const lastPollMs = Math.max(firstSeen, await this.lastPollMs(instance.taskQueue));
      if (now - lastPollMs <= this.boundMs) continue;
      this.reported.add(instance.id);
      await this.tell(instance.jobId, { instanceId: instance.id, reason: 'no-poller', atMs: lastPollMs });
    }
  }

  /** The newest poll of the queue's activity pollers (ms), or 0 when the server knows none. */
  private async lastPollMs(taskQueue: string): Promise<number> {
    const { pollers } = await this.client.workflowService.describeTaskQueue({
      namespace: this.client.options.namespace,
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    let newest = 0;
    for (const p of pollers ?? []) {
      const t = p.lastAccessTime;
      if (t) newest = Math.max(newest, Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6));
    }
    return newest;
  }
}
