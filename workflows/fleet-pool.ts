/**
 * A shared fleet's own instances (`fleet.shared`): the fleet launches them, places the leases of
 * several jobs on them (src/tenancy/slot-pool: the fullest instance with room, a job's leases on
 * separate instances), keeps an instance with nothing leased warm for the next lease and releases
 * it after `fleet.warmSeconds`. A lost instance is terminated before the leases on it go back,
 * and every job on it is told. Provisioning runs as activities, one at a time, so that a release
 * the fleet decided before a launch is done before the launch starts. Workflow code.
 */
import { getExternalWorkflowHandle, log, proxyActivities } from '@temporalio/workflow';
import type { ControlActivities } from '../activities/control';
import type { FleetLedger, FleetMessage } from '../src/tenancy/ledger';
import { pushAll } from '../src/util/array';
import { SlotPool, takenSlots, type PooledInstance, type SlotPoolState } from '../src/tenancy/slot-pool';
import { DEFAULT_SHARED_SLOTS_PER_INSTANCE, DEFAULT_WARM_SECONDS } from '../src/tenancy/types';
import type { SharedInstanceGrant, SharedLeaseWant } from './fleet-messages';
import { instanceLostSignal, type InstanceLostReport } from './messages';

const provisioning = proxyActivities<ControlActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

interface Want extends SharedLeaseWant {
  maxPricePerHour: number;
}

interface LaunchedInstance {
  id: string;
  taskQueue: string;
  launchedAtMs: number;
}

/** What the fleet carries when it continues as new (it does so only with no provisioning under way). */
export interface SharedPoolState {
  pool: SlotPoolState;
  /** Leases placed: job → plan id → the pooled instance and the slots taken there. */
  placed: Record<string, Record<string, { instance: string; slots: number }>>;
  /** Lease requests not granted yet: job → plan id → what it asks for. */
  wants: Record<string, Record<string, Want>>;
  /** Pooled instance → the provider's instance, once launched. */
  launched: Record<string, LaunchedInstance>;
  /** What each pooled instance was launched as (its pool, market and price cap). */
  launchedAs: Record<string, Want>;
  /** The replayed market's clock starts here for the fleet's instances. */
  marketStartMs: number;
}

type LeaseRef = { jobId: string; planId: string };

export class SharedFleetPool {
  private readonly state: SharedPoolState;
  private pool: SlotPool;
  private poolSettings: string;
  private chain: Promise<void> = Promise.resolve();
  private inFlight = 0;
  /** Leases waiting for their instance to boot, by pooled instance. */
  private readonly waiting = new Map<string, LeaseRef[]>();
  /** Instances being terminated (lost), with the leases that go back once they are gone. */
  private readonly terminating = new Map<string, LeaseRef[]>();
  /** Instances being released (expired or over the quota): still running until they are gone. */
  private releasing = 0;
  /** Jobs that left while a lease of theirs waited for a lost instance to be gone. */
  private readonly leaving = new Set<string>();

  constructor(
    private readonly fleetWorkflowId: string,
    private readonly ledger: FleetLedger,
    private readonly send: (messages: FleetMessage[]) => void,
    carried?: SharedPoolState,
  ) {
    this.state = carried ?? {
      pool: { instances: [], launches: 0 },
      placed: {},
      wants: {},
      launched: {},
      launchedAs: {},
      marketStartMs: Date.now(),
    };
    this.poolSettings = '';
    this.pool = this.currentPool();
  }

  /** Whether provisioning is under way (the fleet does not continue as new meanwhile). */
  get busy(): boolean {
    return this.inFlight > 0;
  }

  /** Whether the fleet has shared instances or leases (a fleet that never shared carries nothing). */
  get inUse(): boolean {
    return this.currentPool().list().length > 0 || Object.keys(this.state.placed).length > 0;
  }

  get carried(): SharedPoolState {
    return { ...this.state, pool: this.currentPool().state };
  }

  /** The pooled instances, for the fleet's usage query. */
  instances(): Array<PooledInstance & { instanceId?: string }> {
    return this.currentPool()
      .list()
      .map((i) => ({ ...i, instanceId: this.state.launched[i.id]?.id }));
  }

  /** When the next warm instance is due to go. */
  nextWakeMs(): number | undefined {
    return this.currentPool().nextExpiryMs();
  }

  /** A lease request: remembers what each shared lease asks for until it is granted. */
  want(jobId: string, instances: Array<{ planId: string; pricePerHour: number; shared?: SharedLeaseWant }>) {
    for (const i of instances) {
      if (!i.shared) continue;
      (this.state.wants[jobId] ??= {})[i.planId] = { ...i.shared, maxPricePerHour: i.pricePerHour };
    }
  }

  /**
   * The ledger's messages, with its grants of shared leases placed on instances: a grant goes to
   * the job once its instance polls (at once on a running one); a new instance is launched.
   */
  route(messages: FleetMessage[]): FleetMessage[] {
    const out: FleetMessage[] = [];
    const fresh: PooledInstance[] = [];
    for (const m of messages) {
      if (m.kind !== 'grant') {
        out.push(m);
        continue;
      }
      const plain: string[] = [];
      const ready: Record<string, SharedInstanceGrant> = {};
      for (const planId of m.planIds) {
        const placed = this.state.placed[m.to]?.[planId] ?? this.place(m.to, planId, fresh);
        if (!placed) {
          plain.push(planId);
          continue;
        }
        const up = this.grantOf(placed.instance);
        if (up) ready[planId] = up;
        else this.waitFor(placed.instance, { jobId: m.to, planId });
      }
      const planIds = [...plain, ...Object.keys(ready)];
      if (planIds.length > 0 || m.refused)
        out.push({ ...m, planIds, ...(Object.keys(ready).length > 0 ? { instances: ready } : {}) });
    }
    if (fresh.length > 0) this.launch(fresh);
    return out;
  }

  /**
   * Leases a job gives back: their slots are free again. Returns those whose ledger lease goes
   * back now; one on an instance being terminated goes back once it is gone.
   */
  giveBack(jobId: string, planIds: string[]): string[] {
    const now: string[] = [];
    for (const planId of planIds) {
      delete this.state.wants[jobId]?.[planId];
      const placed = this.unplace(jobId, planId);
      const deferred = placed ? this.terminating.get(placed.instance) : undefined;
      if (deferred) deferred.push({ jobId, planId });
      else now.push(planId);
    }
    return now;
  }

  /** The job left: its slots are free (the ledger returns its leases). */
  /**
   * The job left: its slots are free. Returns the leases whose ledger lease goes back now, and
   * whether some wait for a lost instance to be gone (the fleet lets the job leave the ledger
   * once they have gone back).
   */
  leave(jobId: string): { now: string[]; waits: boolean } {
    const now: string[] = [];
    for (const planId of Object.keys(this.state.placed[jobId] ?? {})) {
      const placed = this.unplace(jobId, planId)!;
      const deferred = this.terminating.get(placed.instance);
      if (deferred) deferred.push({ jobId, planId });
      else now.push(planId);
    }
    delete this.state.placed[jobId];
    delete this.state.wants[jobId];
    const waits = [...this.terminating.values()].some((leases) => leases.some((l) => l.jobId === jobId));
    if (waits) this.leaving.add(jobId);
    return { now, waits };
  }

  /**
   * A job saw its shared instance lost (a heartbeat timed out, a notice came): the instance is
   * terminated, the other jobs on it are told, and the lease goes back once it is gone.
   */
  jobSawLost(jobId: string, planId: string, instanceId: string, reason: string): string[] {
    const pooled = this.pooledIdOf(instanceId);
    if (pooled !== undefined && !this.terminating.has(pooled) && this.currentPool().get(pooled))
      this.terminate(pooled, { instanceId, reason: 'impaired', atMs: Date.now() }, jobId, reason);
    return this.giveBack(jobId, [planId]);
  }

  /** The provider saw one of the fleet's instances die: it is terminated, and its jobs told. */
  providerSawLost(report: InstanceLostReport): void {
    const pooled = this.pooledIdOf(report.instanceId);
    const inst = pooled === undefined ? undefined : this.currentPool().get(pooled);
    if (!inst || this.terminating.has(inst.id)) return;
    // A worker whose slots are all taken may be too busy to poll: its jobs' heartbeats watch it.
    // With a slot free it polls unless it is dead.
    if (report.reason === 'no-poller' && takenSlots(inst) >= inst.slots) return;
    // The fleet has judged it dead: its jobs are told so (they would weigh a missing poller again).
    const told = report.reason === 'no-poller' ? { ...report, reason: 'impaired' as const } : report;
    this.terminate(inst.id, told, undefined, report.reason);
  }

  /** Instances warm for their time with nothing leased: released. */
  expire(nowMs: number): void {
    const gone = this.currentPool().expire(nowMs);
    if (gone.length > 0) this.release(gone.map((i) => i.id));
  }

  // ---- placing and provisioning ------------------------------------------------------------------

  private place(jobId: string, planId: string, fresh: PooledInstance[]) {
    const want = this.state.wants[jobId]?.[planId];
    if (!want) return undefined;
    const { instance, launched } = this.currentPool().place(jobId, poolKey(want), Date.now(), {
      count: want.slots,
      // A job's leases go on separate instances: a job knows an instance by one lease.
      excludes: (i) => (i.taken[jobId] ?? 0) > 0 || this.terminating.has(i.id),
    });
    if (launched) {
      fresh.push(instance);
      this.state.launchedAs[instance.id] = want;
    }
    delete this.state.wants[jobId]![planId];
    const placed = { instance: instance.id, slots: want.slots };
    (this.state.placed[jobId] ??= {})[planId] = placed;
    return placed;
  }

  private unplace(jobId: string, planId: string) {
    const placed = this.state.placed[jobId]?.[planId];
    if (!placed) return undefined;
    delete this.state.placed[jobId]![planId];
    const waiting = this.waiting.get(placed.instance);
    if (waiting)
      this.waiting.set(
        placed.instance,
        waiting.filter((w) => w.jobId !== jobId || w.planId !== planId),
      );
    const pool = this.currentPool();
    if (pool.get(placed.instance) && !this.terminating.has(placed.instance))
      pool.free(jobId, placed.instance, Date.now(), placed.slots);
    return placed;
  }

  private grantOf(pooled: string): SharedInstanceGrant | undefined {
    const up = this.state.launched[pooled];
    const inst = this.currentPool().get(pooled);
    return up && inst ? { ...up, slots: inst.slots } : undefined;
  }

  private waitFor(pooled: string, lease: LeaseRef): void {
    const list = this.waiting.get(pooled) ?? [];
    list.push(lease);
    this.waiting.set(pooled, list);
  }

  /** Launches new instances, releasing warm ones first when the fleet's instance limit needs it. */
  private launch(fresh: PooledInstance[]): void {
    const max = this.ledger.state.limits.maxInstances ?? Infinity;
    const pool = this.currentPool();
    let over = pool.list().length + this.releasing - max;
    const idle: string[] = [];
    for (const i of pool.list()) {
      if (over <= 0) break;
      if (i.idleSinceMs === undefined || !this.state.launched[i.id]) continue;
      pool.remove(i.id);
      idle.push(i.id);
      over--;
    }
    if (idle.length > 0) this.release(idle);
    const plans = fresh.map((i) => {
      const as = this.state.launchedAs[i.id]!;
      return {
        id: i.id,
        pool: as.pool,
        market: as.market,
        slots: i.slots,
        maxPricePerHour: as.maxPricePerHour,
      };
    });
    this.enqueue(async () => {
      let result: Awaited<ReturnType<ControlActivities['launchInstances']>>;
      try {
        result = await provisioning.launchInstances(this.fleetWorkflowId, plans, this.state.marketStartMs);
      } catch (err) {
        const reason = `launching the fleet's instances failed: ${String(err)}`;
        result = { launched: [], refused: plans.map((p) => ({ planId: p.id, pool: p.pool, reason })) };
      }
      for (const l of result.launched) {
        this.state.launched[l.planId] = { id: l.id, taskQueue: l.taskQueue, launchedAtMs: l.launchedAtMs };
        // Given up while it booted (its leases went back, and it expired): it goes at once.
        if (!this.currentPool().get(l.planId)) this.release([l.planId]);
      }
      for (const r of result.refused) this.refused(r.planId, r.reason);
      const byJob = new Map<string, Record<string, SharedInstanceGrant>>();
      for (const l of result.launched) {
        const grant = this.grantOf(l.planId);
        for (const w of this.waiting.get(l.planId) ?? []) {
          if (!grant) continue;
          const grants = byJob.get(w.jobId) ?? {};
          grants[w.planId] = grant;
          byJob.set(w.jobId, grants);
        }
        this.waiting.delete(l.planId);
      }
      this.send(
        [...byJob].map(([to, instances]) => ({
          to,
          kind: 'grant',
          planIds: Object.keys(instances),
          instances,
        })),
      );
    });
  }

  /** An instance that could not be launched: the leases on it go back, and their jobs are told. */
  private refused(pooled: string, reason: string): void {
    log.warn('a fleet instance was refused', { instance: pooled, reason });
    const messages: FleetMessage[] = [];
    for (const w of this.waiting.get(pooled) ?? []) {
      delete this.state.placed[w.jobId]?.[w.planId];
      messages.push({ to: w.jobId, kind: 'grant', planIds: [], refused: { [w.planId]: reason } });
      pushAll(messages, this.ledger.returnLeases(w.jobId, [w.planId], Date.now()));
    }
    this.waiting.delete(pooled);
    this.currentPool().remove(pooled);
    delete this.state.launchedAs[pooled];
    this.send(this.route(messages));
  }

  /** Terminates a lost instance; tells every job on it (but the one that saw it); then its leases go back. */
  private terminate(
    pooled: string,
    report: InstanceLostReport,
    sawIt: string | undefined,
    why: string,
  ): void {
    const inst = this.currentPool().get(pooled)!;
    const provider = this.state.launched[pooled];
    log.warn('a fleet instance is lost; it is terminated', { instance: provider?.id ?? pooled, reason: why });
    this.terminating.set(pooled, []);
    for (const jobId of Object.keys(inst.taken)) {
      if (jobId === sawIt || !provider) continue;
      getExternalWorkflowHandle(jobId)
        .signal(instanceLostSignal, report)
        .catch(() => undefined); // a job that ended holds nothing
    }
    this.enqueue(async () => {
      if (provider) await this.releaseNow([provider.id]);
      const deferred = this.terminating.get(pooled) ?? [];
      this.terminating.delete(pooled);
      this.currentPool().remove(pooled);
      delete this.state.launched[pooled];
      delete this.state.launchedAs[pooled];
      // Jobs that have not said yet hold nothing there any more: their leases go back when they do.
      for (const leases of Object.values(this.state.placed))
        for (const [planId, p] of Object.entries(leases)) if (p.instance === pooled) delete leases[planId];
      const messages: FleetMessage[] = [];
      for (const d of deferred) pushAll(messages, this.ledger.returnLeases(d.jobId, [d.planId], Date.now()));
      // Jobs that left while a lease of theirs waited for this instance leave the ledger now.
      const waiting = new Set([...this.terminating.values()].flatMap((leases) => leases.map((l) => l.jobId)));
      for (const jobId of this.leaving)
        if (!waiting.has(jobId)) {
          this.leaving.delete(jobId);
          pushAll(messages, this.ledger.leave(jobId, Date.now()));
        }
      this.send(this.route(messages));
    });
  }

  private release(pooled: string[]): void {
    const ids = pooled.flatMap((p) => {
      const up = this.state.launched[p];
      delete this.state.launched[p];
      delete this.state.launchedAs[p];
      return up ? [up.id] : [];
    });
    if (ids.length === 0) return;
    this.releasing += ids.length;
    this.enqueue(async () => {
      await this.releaseNow(ids);
      this.releasing -= ids.length;
    });
  }

  private async releaseNow(ids: string[]): Promise<void> {
    try {
      await provisioning.releaseInstanceIds(this.fleetWorkflowId, ids);
    } catch (err) {
      log.warn('releasing fleet instances failed', { instances: ids, error: String(err) });
    }
  }

  /** One provisioning call at a time, in the order the fleet decided them. */
  private enqueue(op: () => Promise<void>): void {
    this.inFlight++;
    this.chain = this.chain.then(op).finally(() => this.inFlight--);
  }

  private pooledIdOf(instanceId: string): string | undefined {
    for (const [pooled, up] of Object.entries(this.state.launched)) if (up.id === instanceId) return pooled;
    return undefined;
  }

  /** The slot pool under the fleet's current settings (they may change while it runs). */
  private currentPool(): SlotPool {
    const limits = this.ledger.state.limits;
    const settings = {
      slotsPerInstance: limits.slotsPerInstance ?? DEFAULT_SHARED_SLOTS_PER_INSTANCE,
      warmSeconds: limits.warmSeconds ?? DEFAULT_WARM_SECONDS,
      bootSeconds: 0,
    };
    const key = JSON.stringify(settings);
    if (key !== this.poolSettings) {
      this.pool = new SlotPool(settings, this.pool?.state ?? this.state.pool);
      this.poolSettings = key;
    }
    return this.pool;
  }
}

function poolKey(want: SharedLeaseWant): string {
  return `${want.pool}|${want.market}`;
}
