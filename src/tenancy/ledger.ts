/**
 * The fleet's books: which jobs are admitted, which wait and in what order, how many instances
 * each tenant holds, and what they have spent. Pure and deterministic (the fleet workflow runs it
 * and carries its state across continue-as-new); every operation returns the messages to send.
 *
 * Admission reserves a job's instances (its plan's most at once, already capped to the quotas),
 * as Kueue reserves quota: a job is admitted only when its reservation fits its tenant's and the
 * fleet's instance quotas, so an admitted job never waits for instances held by another job (no
 * job can hold some and wait for the rest). Each instance still takes a lease, granted within
 * the reservation, from before its launch until the job returns it after the instance is gone:
 * the leases are what the quotas are checked against, so they are never exceeded.
 *
 * A queued job short only of the fleet's instances takes them from admitted jobs of a lower
 * priority: they are asked to yield them (their running sub-tasks checkpoint and wait), and get
 * them back, in order, when there is room again.
 *
 * Order: deadlines first, then priority, then fair share. Jobs with a deadline go first, the one
 * with the least laxity (the earliest latest start: its deadline less its critical path) first.
 * Then a lower priority key first; within a priority, the tenant with the smallest share of what
 * it holds (reserved instances for admission, leased ones for leases) per unit of weight; then
 * arrival. Only a higher priority takes instances from admitted jobs: a deadline puts a job ahead
 * in line, it does not preempt. Tenants' quotas bound what deadlines can claim.
 *
 * The fleet workflow's commands follow from what the ledger decides: a change to its decisions is
 * a workflow change (version it with `patched`, and keep the replay fixtures).
 */
import { minOf } from '../util/array';
import { DEFAULT_TENANT, type FleetLimits, type Tenant } from './types';

export interface Lease {
  pricePerHour: number;
  sinceMs: number;
}

export interface WantedLease {
  planId: string;
  pricePerHour: number;
  seq: number;
}

export interface LedgerJob {
  jobId: string;
  tenant: string;
  priority: number;
  /** Instances it asked to have reserved at admission. */
  requested: number;
  /** Instances reserved for it now: fewer than requested while it has yielded some to a higher priority. */
  reserved: number;
  seq: number;
  arrivedAtMs: number;
  admittedAtMs?: number;
  position?: number;
  leases: Record<string, Lease>;
  wanted: WantedLease[];
  /** Spend of this job's returned leases, USD. */
  closedSpendUsd: number;
  /** Told to stop: it reached its spend quota. */
  stopped?: boolean;
  /** The yield count it was last told (not repeated while it stands). */
  told?: number;
  /** AdmitRequest.latestStartMs. */
  latestStartMs?: number;
}

export interface LedgerState {
  tenants: Record<string, Tenant>;
  limits: FleetLimits;
  jobs: Record<string, LedgerJob>;
  /** Per tenant, per UTC day (YYYY-MM-DD): spend of returned leases, USD (the last days only). */
  closedByDay: Record<string, Record<string, number>>;
  /** Per tenant: spend of returned leases and of jobs that left, USD, since the fleet began. */
  closedTotal: Record<string, number>;
  seq: number;
}

export type FleetMessage =
  | { to: string; kind: 'admission'; status: 'admitted' }
  | { to: string; kind: 'admission'; status: 'queued'; position: number; reason: string }
  | { to: string; kind: 'admission'; status: 'rejected'; reason: string }
  | {
      to: string;
      kind: 'grant';
      planIds: string[];
      /** On a shared fleet (workflows/fleet-pool.ts): the instances the leases were placed on. */
      instances?: Record<string, { id: string; taskQueue: string; launchedAtMs: number; slots: number }>;
      /** On a shared fleet: leases whose instance could not be launched, and why (returned already). */
      refused?: Record<string, string>;
    }
  /** Give back `count` instances at a checkpoint: a higher priority, or a spend quota, needs them. */
  | { to: string; kind: 'yield'; count: number }
  /** Stop: the job reached its spend quota. */
  | { to: string; kind: 'stop'; reason: string };

export interface AdmitRequest {
  jobId: string;
  tenant: Tenant;
  priority: number;
  limits: FleetLimits;
  /** The most instances the job runs at once. */
  instances: number;
  /**
   * With a deadline: the latest time (epoch ms) the job can start and still meet it on on-demand
   * (its start + deadline − critical path). It orders the line: least laxity first.
   */
  latestStartMs?: number;
}

export interface TenantUsage {
  tenant: string;
  weight: number;
  priority: number;
  admittedJobs: number;
  queuedJobs: number;
  instances: number;
  reservedInstances: number;
  spendTodayUsd: number;
  spendUsd: number;
  quotas: Tenant['quotas'];
}

export interface JobUsage {
  jobId: string;
  tenant: string;
  priority: number;
  status: 'admitted' | 'queued';
  position?: number;
  instances: number;
  reservedInstances: number;
  waitingInstances: number;
  spendUsd: number;
}

export interface FleetUsage {
  atMs: number;
  limits: FleetLimits;
  tenants: TenantUsage[];
  jobs: JobUsage[];
  /** On a shared fleet: its instances, the slots each job takes on them, and the provider's id. */
  sharedInstances?: Array<{
    id: string;
    pool: string;
    slots: number;
    taken: Record<string, number>;
    launchedAtMs: number;
    idleSinceMs?: number;
    instanceId?: string;
  }>;
}

const DAY_MS = 86_400_000;
/** Default time from a yield or a stop to the instances gone (`fleet.drainSeconds`). */
export const DEFAULT_DRAIN_SECONDS = 60;
const DAYS_KEPT = 3;

export function emptyLedger(): LedgerState {
  return { tenants: {}, limits: {}, jobs: {}, closedByDay: {}, closedTotal: {}, seq: 0 };
}

export function utcDay(ms: number): string {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

export class FleetLedger {
  constructor(readonly state: LedgerState = emptyLedger()) {}

  /** A job asks to be admitted (again, after a retry: then nothing changes). */
  admit(request: AdmitRequest, nowMs: number): FleetMessage[] {
    this.state.tenants[request.tenant.name] = request.tenant;
    this.state.limits = request.limits;
    const known = this.state.jobs[request.jobId];
    if (known) {
      if (known.admittedAtMs !== undefined)
        return [{ to: known.jobId, kind: 'admission', status: 'admitted' }];
      return this.schedule(nowMs, new Set([known.jobId]));
    }
    this.state.jobs[request.jobId] = {
      jobId: request.jobId,
      tenant: request.tenant.name,
      priority: request.priority,
      requested: request.instances,
      reserved: request.instances,
      seq: this.state.seq++,
      arrivedAtMs: nowMs,
      leases: {},
      wanted: [],
      closedSpendUsd: 0,
      ...(request.latestStartMs !== undefined ? { latestStartMs: request.latestStartMs } : {}),
    };
    return this.schedule(nowMs, new Set([request.jobId]));
  }

  /** New tenant settings or fleet limits (`spotdag tenants set`). */
  configure(tenants: Tenant[], limits: FleetLimits, nowMs: number): FleetMessage[] {
    for (const t of tenants) this.state.tenants[t.name] = t;
    this.state.limits = limits;
    return this.schedule(nowMs);
  }

  /** An admitted job wants instances (by its plan ids); each is granted when quotas allow. */
  requestLeases(jobId: string, wanted: Array<{ planId: string; pricePerHour: number }>, nowMs: number) {
    const job = this.state.jobs[jobId];
    if (!job) return [];
    const granted: string[] = [];
    for (const w of wanted) {
      if (job.leases[w.planId])
        granted.push(w.planId); // a repeated request: grant again
      else if (!job.wanted.some((x) => x.planId === w.planId))
        job.wanted.push({ planId: w.planId, pricePerHour: w.pricePerHour, seq: this.state.seq++ });
    }
    const messages: FleetMessage[] =
      granted.length > 0 ? [{ to: jobId, kind: 'grant', planIds: granted }] : [];
    return [...messages, ...this.schedule(nowMs)];
  }

  /** The job's instances are gone (released or terminated), or it no longer wants them. */
  returnLeases(jobId: string, planIds: string[], nowMs: number): FleetMessage[] {
    const job = this.state.jobs[jobId];
    if (!job) return [];
    const returned = new Set(planIds);
    job.wanted = job.wanted.filter((w) => !returned.has(w.planId));
    for (const planId of planIds) this.closeLease(job, planId, nowMs);
    return this.schedule(nowMs);
  }

  /** The job ended: everything it held is returned. */
  leave(jobId: string, nowMs: number): FleetMessage[] {
    const job = this.state.jobs[jobId];
    if (!job) return [];
    for (const planId of Object.keys(job.leases)) this.closeLease(job, planId, nowMs);
    delete this.state.jobs[jobId];
    return this.schedule(nowMs);
  }

  /** Time passed: spend quotas are enforced, and what a new UTC day allows is granted. */
  tick(nowMs: number): FleetMessage[] {
    return this.schedule(nowMs);
  }

  /**
   * When the fleet must look again: when running instances bring a spend quota within reach (its
   * instances must be told to go a drain time before it), or at the next UTC midnight for jobs a
   * day's spend holds back.
   */
  nextWakeMs(nowMs: number): number | undefined {
    const jobs = Object.values(this.state.jobs);
    const times: number[] = [];
    const blocked = jobs.some((j) => {
      const tenant = this.tenantOf(j);
      if (j.wanted.some((w) => this.spendBlock(tenant, nowMs, w.pricePerHour) !== undefined)) return true;
      const waiting = j.admittedAtMs === undefined || j.reserved < j.requested;
      return waiting && this.spendBlock(tenant, nowMs) !== undefined;
    });
    if (blocked) times.push((Math.floor(nowMs / DAY_MS) + 1) * DAY_MS);
    const reach = (room: number, rate: number) => {
      if (rate > 0 && room > 0) times.push(nowMs + Math.ceil((room / rate) * 3_600_000 - 1e-6));
    };
    for (const name of new Set(jobs.map((j) => j.tenant))) {
      const max = this.tenantOf(jobs.find((j) => j.tenant === name)!).quotas.maxSpendPerDayUsd;
      if (max !== undefined) reach(max - this.projectedToday(name, nowMs), this.rateOf(name));
    }
    for (const job of jobs) {
      const max = this.tenantOf(job).quotas.maxSpendPerJobUsd;
      if (max !== undefined && !job.stopped) reach(max - this.projectedJob(job, nowMs), this.jobRate(job));
    }
    return times.length > 0 ? minOf(times) : undefined;
  }

  usage(nowMs: number): FleetUsage {
    const jobs = Object.values(this.state.jobs);
    const names = new Set([...Object.keys(this.state.tenants), ...jobs.map((j) => j.tenant)]);
    const tenants = [...names].sort().map((name): TenantUsage => {
      const tenant = this.state.tenants[name];
      const mine = jobs.filter((j) => j.tenant === name);
      return {
        tenant: name,
        weight: tenant?.weight ?? 1,
        priority: tenant?.priority ?? 3,
        admittedJobs: mine.filter((j) => j.admittedAtMs !== undefined).length,
        queuedJobs: mine.filter((j) => j.admittedAtMs === undefined).length,
        instances: this.instancesOf(name),
        reservedInstances: this.reservedOf(name),
        spendTodayUsd: this.spendToday(name, nowMs),
        spendUsd:
          (this.state.closedTotal[name] ?? 0) + mine.reduce((s, j) => s + this.runningSpend(j, nowMs), 0),
        quotas: tenant?.quotas ?? {},
      };
    });
    return {
      atMs: nowMs,
      limits: this.state.limits,
      tenants,
      jobs: jobs
        .sort((a, b) => a.seq - b.seq)
        .map((j) => ({
          jobId: j.jobId,
          tenant: j.tenant,
          priority: j.priority,
          status: j.admittedAtMs === undefined ? 'queued' : 'admitted',
          ...(j.position !== undefined ? { position: j.position } : {}),
          instances: Object.keys(j.leases).length,
          reservedInstances: j.reserved,
          waitingInstances: j.wanted.length,
          spendUsd: this.jobSpend(j, nowMs),
        })),
    };
  }

  // ---- scheduling ------------------------------------------------------------------------------

  /** Admits and grants what quotas allow, in order; tells queued jobs (in `tell`, or moved) their place. */
  private schedule(nowMs: number, tell: Set<string> = new Set()): FleetMessage[] {
    const messages: FleetMessage[] = [];
    this.enforceSpend(nowMs, messages);
    this.admitQueued(nowMs, messages, tell);
    this.grantWanted(nowMs, messages);
    return messages;
  }

  private admitQueued(nowMs: number, messages: FleetMessage[], tell: Set<string>): void {
    const jobs = Object.values(this.state.jobs);
    // Queued jobs, and admitted ones owed instances they yielded, in one order.
    const claims = jobs.filter(
      (j) => j.admittedAtMs === undefined || (j.reserved < j.requested && !j.stopped),
    );
    const share = (tenant: string) => this.reservedOf(tenant) / this.weightOf(tenant);
    let position = 0;
    let fleetFull = false;
    for (const job of this.ordered(claims, share)) {
      if (job.admittedAtMs !== undefined) {
        if (!fleetFull && this.spendBlock(this.tenantOf(job), nowMs) === undefined)
          job.reserved += Math.min(job.requested - job.reserved, this.freeReservation(job.tenant));
        continue;
      }
      const tenant = this.tenantOf(job);
      const tenantBlock = this.tenantJobBlock(tenant, job, nowMs);
      let fleetBlock = this.fleetJobBlock(job);
      if (fleetBlock?.instances && !fleetFull && tenantBlock === undefined && this.preempt(job, messages))
        fleetBlock = undefined;
      const block = fleetBlock?.reason ?? tenantBlock;
      if (block === undefined && !fleetFull) {
        job.admittedAtMs = nowMs;
        delete job.position;
        messages.push({ to: job.jobId, kind: 'admission', status: 'admitted' });
        continue;
      }
      if (fleetBlock !== undefined) fleetFull = true; // nobody behind it may pass a full fleet
      if (fleetBlock === undefined && tenant.onQuota === 'reject' && block !== undefined) {
        delete this.state.jobs[job.jobId];
        messages.push({ to: job.jobId, kind: 'admission', status: 'rejected', reason: block });
        continue;
      }
      position++;
      if (job.position !== position || tell.has(job.jobId)) {
        job.position = position;
        messages.push({
          to: job.jobId,
          kind: 'admission',
          status: 'queued',
          position,
          reason: block ?? 'waiting behind jobs ahead of it on a full fleet',
        });
      }
    }
  }

  /**
   * Makes room on the fleet for `job` by shrinking the reservations of admitted jobs of a lower
   * priority (the lowest first, then the tenant most over its share, then the latest admitted);
   * each is told to yield what it holds beyond its new reservation. False, changing nothing, when they cannot free enough.
   */
  private preempt(job: LedgerJob, messages: FleetMessage[]): boolean {
    const max = this.state.limits.maxInstances;
    if (max === undefined) return false;
    const admitted = Object.values(this.state.jobs).filter((j) => j.admittedAtMs !== undefined);
    const need = job.reserved - (max - admitted.reduce((n, j) => n + j.reserved, 0));
    // The lowest priority first; within it the tenant most over its share, then the latest admitted.
    const share = (tenant: string) => this.reservedOf(tenant) / this.weightOf(tenant);
    const victims = admitted
      .filter((v) => v.priority > job.priority && v.reserved > 0)
      .sort((a, b) => b.priority - a.priority || share(b.tenant) - share(a.tenant) || b.seq - a.seq);
    if (victims.reduce((n, v) => n + v.reserved, 0) < need) return false;
    let left = need;
    for (const victim of victims) {
      if (left <= 0) break;
      const taken = Math.min(victim.reserved, left);
      victim.reserved -= taken;
      left -= taken;
      const over = Object.keys(victim.leases).length - victim.reserved;
      if (over > 0) messages.push({ to: victim.jobId, kind: 'yield', count: over });
      victim.told = over > 0 ? over : undefined;
    }
    return true;
  }

  /** Instances that may still be reserved for a job of `tenant`: the fleet's and its tenant's room. */
  private freeReservation(tenant: string): number {
    const admitted = Object.values(this.state.jobs).filter((j) => j.admittedAtMs !== undefined);
    const fleetRoom =
      (this.state.limits.maxInstances ?? Infinity) - admitted.reduce((n, j) => n + j.reserved, 0);
    const tenantRoom =
      (this.state.tenants[tenant]?.quotas.maxInstances ?? Infinity) - this.reservedOf(tenant);
    return Math.max(0, Math.min(fleetRoom, tenantRoom));
  }

  private grantWanted(nowMs: number, messages: FleetMessage[]): void {
    const admitted = Object.values(this.state.jobs).filter((j) => j.admittedAtMs !== undefined);
    const wants = admitted.flatMap((job) => job.wanted.map((want) => ({ job, want })));
    if (wants.length === 0) return;
    const share = (tenant: string) => this.instancesOf(tenant) / this.weightOf(tenant);
    wants.sort(
      (a, b) =>
        this.byDeadline(a.job, b.job) ||
        a.job.priority - b.job.priority ||
        share(a.job.tenant) - share(b.job.tenant) ||
        a.want.seq - b.want.seq,
    );
    const granted = new Map<string, string[]>();
    for (const { job, want } of wants) {
      if (this.fleetInstanceBlock() !== undefined) break;
      if (job.stopped || Object.keys(job.leases).length >= job.reserved) continue; // beyond its reservation
      if (this.tenantInstanceBlock(this.tenantOf(job), job, nowMs, want.pricePerHour) !== undefined) continue;
      job.wanted = job.wanted.filter((w) => w !== want);
      job.leases[want.planId] = { pricePerHour: want.pricePerHour, sinceMs: nowMs };
      const list = granted.get(job.jobId) ?? [];
      list.push(want.planId);
      granted.set(job.jobId, list);
    }
    for (const [to, planIds] of granted) messages.push({ to, kind: 'grant', planIds });
  }

  private ordered(jobs: LedgerJob[], share: (tenant: string) => number): LedgerJob[] {
    return [...jobs].sort(
      (a, b) =>
        this.byDeadline(a, b) ||
        a.priority - b.priority ||
        share(a.tenant) - share(b.tenant) ||
        a.seq - b.seq,
    );
  }

  /** Jobs with a deadline before the others, the earliest latest start first; 0 between two without. */
  private byDeadline(a: LedgerJob, b: LedgerJob): number {
    const ka = a.latestStartMs;
    const kb = b.latestStartMs;
    if (ka === undefined) return kb === undefined ? 0 : 1;
    return kb === undefined ? -1 : ka - kb;
  }

  // ---- quotas: undefined when allowed, else the reason naming the quota --------------------------

  /** Why the fleet cannot admit `job` now, and whether only its instances are short. */
  private fleetJobBlock(job: LedgerJob): { reason: string; instances: boolean } | undefined {
    const { maxConcurrentJobs, maxInstances } = this.state.limits;
    const admitted = Object.values(this.state.jobs).filter((j) => j.admittedAtMs !== undefined);
    if (maxConcurrentJobs !== undefined && admitted.length >= maxConcurrentJobs)
      return { reason: `fleet.maxConcurrentJobs (${maxConcurrentJobs}) reached`, instances: false };
    const reserved = admitted.reduce((n, j) => n + j.reserved, 0);
    if (maxInstances !== undefined && reserved + job.reserved > maxInstances)
      return {
        reason: `fleet.maxInstances (${maxInstances}): ${reserved} reserved, the job needs ${job.reserved}`,
        instances: true,
      };
    return undefined;
  }

  private tenantJobBlock(tenant: Tenant, job: LedgerJob, nowMs: number): string | undefined {
    const max = tenant.quotas.maxConcurrentJobs;
    const admitted = Object.values(this.state.jobs).filter(
      (j) => j.tenant === tenant.name && j.admittedAtMs !== undefined,
    ).length;
    if (max !== undefined && admitted >= max)
      return `tenant ${tenant.name}: quotas.maxConcurrentJobs (${max}) reached`;
    const maxInstances = tenant.quotas.maxInstances;
    const reserved = this.reservedOf(tenant.name);
    if (maxInstances !== undefined && reserved + job.reserved > maxInstances)
      return `tenant ${tenant.name}: quotas.maxInstances (${maxInstances}): ${reserved} reserved, the job needs ${job.reserved}`;
    return this.spendBlock(tenant, nowMs);
  }

  private fleetInstanceBlock(): string | undefined {
    const max = this.state.limits.maxInstances;
    const held = Object.values(this.state.jobs).reduce((n, j) => n + Object.keys(j.leases).length, 0);
    return max !== undefined && held >= max ? `fleet.maxInstances (${max}) reached` : undefined;
  }

  /** Whether one more instance at `pricePerHour` would pass a quota (spend: within a drain time). */
  private tenantInstanceBlock(
    tenant: Tenant,
    job: LedgerJob,
    nowMs: number,
    pricePerHour = 0,
  ): string | undefined {
    const max = tenant.quotas.maxInstances;
    if (max !== undefined && this.instancesOf(tenant.name) >= max)
      return `tenant ${tenant.name}: quotas.maxInstances (${max}) reached`;
    const perJob = tenant.quotas.maxSpendPerJobUsd;
    if (perJob !== undefined && this.projectedJob(job, nowMs, pricePerHour) >= perJob)
      return `tenant ${tenant.name}: quotas.maxSpendPerJobUsd ($${perJob}) reached by job ${job.jobId}`;
    return this.spendBlock(tenant, nowMs, pricePerHour);
  }

  private spendBlock(tenant: Tenant, nowMs: number, extraPerHour = 0): string | undefined {
    const max = tenant.quotas.maxSpendPerDayUsd;
    return max !== undefined && this.projectedToday(tenant.name, nowMs, extraPerHour) >= max
      ? `tenant ${tenant.name}: quotas.maxSpendPerDayUsd ($${max}) reached today (UTC)`
      : undefined;
  }

  /**
   * Spend quotas are never passed: once what is spent, plus what the running instances cost until
   * they could be gone (a drain time), reaches a quota, the fleet acts. A tenant at its day's quota
   * yields every instance (its jobs wait, checkpointed, for the next UTC day); a job at its own
   * quota is told to stop.
   */
  private enforceSpend(nowMs: number, messages: FleetMessage[]): void {
    const admitted = Object.values(this.state.jobs).filter((j) => j.admittedAtMs !== undefined);
    for (const job of admitted) {
      const tenant = this.tenantOf(job);
      const perJob = tenant.quotas.maxSpendPerJobUsd;
      if (!job.stopped && perJob !== undefined && this.projectedJob(job, nowMs) >= perJob) {
        job.stopped = true;
        job.reserved = 0;
        job.wanted = [];
        messages.push({
          to: job.jobId,
          kind: 'stop',
          reason: `tenant ${tenant.name}: quotas.maxSpendPerJobUsd ($${perJob}) reached by job ${job.jobId}`,
        });
      }
      if (job.stopped) continue;
      if (this.rateOf(tenant.name) > 0 && this.spendBlock(tenant, nowMs) !== undefined) job.reserved = 0;
      const over = Object.keys(job.leases).length - job.reserved;
      if (over > 0 && job.told !== over) messages.push({ to: job.jobId, kind: 'yield', count: over });
      job.told = over > 0 ? over : undefined;
    }
  }

  private drainHours(): number {
    return (this.state.limits.drainSeconds ?? DEFAULT_DRAIN_SECONDS) / 3600;
  }

  private jobRate(job: LedgerJob): number {
    return Object.values(job.leases).reduce((r, l) => r + l.pricePerHour, 0);
  }

  private rateOf(tenant: string): number {
    return Object.values(this.state.jobs)
      .filter((j) => j.tenant === tenant)
      .reduce((r, j) => r + this.jobRate(j), 0);
  }

  /** The tenant's spend today if its instances (and `extraPerHour` more) ran a drain time longer. */
  private projectedToday(tenant: string, nowMs: number, extraPerHour = 0): number {
    return this.spendToday(tenant, nowMs) + (this.rateOf(tenant) + extraPerHour) * this.drainHours();
  }

  private projectedJob(job: LedgerJob, nowMs: number, extraPerHour = 0): number {
    return this.jobSpend(job, nowMs) + (this.jobRate(job) + extraPerHour) * this.drainHours();
  }

  // ---- accounting ------------------------------------------------------------------------------

  private tenantOf(job: LedgerJob): Tenant {
    return this.state.tenants[job.tenant] ?? { ...DEFAULT_TENANT, name: job.tenant };
  }

  private weightOf(tenant: string): number {
    return this.state.tenants[tenant]?.weight ?? 1;
  }

  private reservedOf(tenant: string): number {
    return Object.values(this.state.jobs)
      .filter((j) => j.tenant === tenant && j.admittedAtMs !== undefined)
      .reduce((n, j) => n + j.reserved, 0);
  }

  private instancesOf(tenant: string): number {
    return Object.values(this.state.jobs)
      .filter((j) => j.tenant === tenant)
      .reduce((n, j) => n + Object.keys(j.leases).length, 0);
  }

  private runningSpend(job: LedgerJob, nowMs: number, fromMs = 0): number {
    return Object.values(job.leases).reduce(
      (s, l) => s + (l.pricePerHour * Math.max(0, nowMs - Math.max(l.sinceMs, fromMs))) / 3_600_000,
      0,
    );
  }

  private jobSpend(job: LedgerJob, nowMs: number): number {
    return job.closedSpendUsd + this.runningSpend(job, nowMs);
  }

  private spendToday(tenant: string, nowMs: number): number {
    const dayStart = Math.floor(nowMs / DAY_MS) * DAY_MS;
    const closed = this.state.closedByDay[tenant]?.[utcDay(nowMs)] ?? 0;
    const running = Object.values(this.state.jobs)
      .filter((j) => j.tenant === tenant)
      .reduce((s, j) => s + this.runningSpend(j, nowMs, dayStart), 0);
    return closed + running;
  }

  /** Ends a lease: its spend goes to the job, the tenant's total, and the days it ran in. */
  private closeLease(job: LedgerJob, planId: string, nowMs: number): void {
    const lease = job.leases[planId];
    if (!lease) return;
    delete job.leases[planId];
    const usd = (lease.pricePerHour * Math.max(0, nowMs - lease.sinceMs)) / 3_600_000;
    job.closedSpendUsd += usd;
    this.state.closedTotal[job.tenant] = (this.state.closedTotal[job.tenant] ?? 0) + usd;
    const days = (this.state.closedByDay[job.tenant] ??= {});
    for (let start = lease.sinceMs; start < nowMs;) {
      const end = Math.min(nowMs, (Math.floor(start / DAY_MS) + 1) * DAY_MS);
      const day = utcDay(start);
      days[day] = (days[day] ?? 0) + (lease.pricePerHour * (end - start)) / 3_600_000;
      start = end;
    }
    const keep = new Set(Array.from({ length: DAYS_KEPT }, (_, i) => utcDay(nowMs - i * DAY_MS)));
    for (const day of Object.keys(days)) if (!keep.has(day)) delete days[day];
  }
}
