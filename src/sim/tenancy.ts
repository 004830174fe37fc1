/**
 * Several tenants' jobs arriving over time on one fleet, simulated with the fleet workflow's own
 * ledger (src/tenancy/ledger): the same admission, leases, priority order, fair share and yields
 * that run for real. Each job runs its DAG list-scheduled in topological order on the seats its
 * leases give it (a seat holds one sub-task). An instance boots before it runs anything. A yield
 * stops the running sub-task (it keeps the work up to its last checkpoint) and frees its seat
 * after a drain.
 *
 * Two fleets, over the same jobs:
 * - `own` (each job on its own instances, `fleet.shared: false`): a lease is an instance of
 *   `slotsPerInstance` seats, launched for the job and released once the job has nothing left to
 *   start;
 * - `shared`: a lease is one slot of the fleet's pool (src/tenancy/slot-pool): packed onto the
 *   fullest instance with room, whichever job it serves, given back as soon as its job has no
 *   ready sub-task for it; an empty instance stays warm for `warmSeconds`. Quotas are in
 *   instances' worth of slots.
 *
 * It measures what `spotdag bench tenancy` reports: quota violations (checked at every event),
 * Jain's fairness of the tenants' instances ÷ weight while every tenant has jobs waiting, each
 * job's makespan, and cost. Pure: no I/O.
 */
import { Heap } from 'heap-js';
import { FleetLedger, type FleetMessage } from '../tenancy/ledger';
import { SlotPool } from '../tenancy/slot-pool';
import { DEFAULT_TENANT, type TenancyConfig, type Tenant } from '../tenancy/types';

export interface TenancySimJob {
  id: string;
  tenant: string;
  priority: number;
  arrivalSeconds: number;
  /** The most instances it runs at once (its reservation). */
  instances: number;
  /** Sub-task durations (seconds) and dependencies (indices), in topological order. */
  durations: number[];
  deps: number[][];
  /** From its arrival: the fleet puts it first in line once it can wait no longer. */
  deadlineSeconds?: number;
}

export type SimFleetKind = 'own' | 'shared';

export interface TenancySimOptions {
  config: TenancyConfig;
  jobs: TenancySimJob[];
  bootSeconds: number;
  pricePerHour: number;
  /** A stopped sub-task keeps its work up to its last checkpoint, taken this often. */
  checkpointSeconds: number;
  /** From a yield to the seat free (its step checkpoints and stops; an own instance drains). */
  drainSeconds: number;
  /** `own` (default): each job its own instances; `shared`: one packed pool. */
  fleet?: SimFleetKind;
  /** Sub-tasks an instance runs at once (default 1). */
  slotsPerInstance?: number;
  /** How long an empty instance of the shared pool stays before it is released (default 0). */
  warmSeconds?: number;
}

export interface TenancySimResult {
  makespanSeconds: Record<string, number>;
  costUsd: number;
  /** Per tenant; on a shared fleet the slots' time, and the idle instances' under `(idle)`. */
  costByTenantUsd: Record<string, number>;
  quotaViolations: string[];
  /** Time-weighted mean instances per tenant while every tenant had jobs waiting. */
  meanInstancesWhileBacklogged: Record<string, number>;
  backloggedSeconds: number;
  yields: number;
  lostWorkSeconds: number;
  /** Instances launched. */
  launches: number;
  /** Per job with a deadline: whether it finished by it. */
  deadlineMet: Record<string, boolean>;
}

type Event =
  | { t: number; seq: number; kind: 'arrive'; job: string }
  | { t: number; seq: number; kind: 'ready'; instance: string }
  | { t: number; seq: number; kind: 'gone'; job: string; lease: string }
  | { t: number; seq: number; kind: 'expire'; atMs: number }
  /** The fleet looks again (ledger.nextWakeMs: a job becomes due, a spend quota comes within reach). */
  | { t: number; seq: number; kind: 'wake'; atMs: number }
  | { t: number; seq: number; kind: 'finish'; job: string; k: number; attempt: number };

/** An event before it gets its place in the queue. */
type NewEvent = Event extends infer E ? (E extends Event ? Omit<E, 'seq'> : never) : never;

interface Running {
  k: number;
  startedAt: number;
  attempt: number;
}

/** A place for one sub-task, given by a lease, on an instance. */
interface Seat {
  lease: string;
  instance: string;
  running?: Running;
  draining?: boolean;
  /** When the job got it (a shared slot's time is billed to its tenant). */
  since: number;
}

interface SimInstance {
  id: string;
  /** The job it was launched for (own fleets). */
  owner?: string;
  launchedAt: number;
  ready: boolean;
}

interface JobRun {
  job: TenancySimJob;
  seats: Seat[];
  done: boolean[];
  running: boolean[];
  /** Seconds of each sub-task kept by checkpoints. */
  kept: number[];
  attempts: number[];
  /** Leases handed out so far, and those asked for and not granted yet. */
  asked: number;
  pending: number;
  finished?: number;
}

/** What differs between the two fleets: what a lease is, and when capacity goes back. */
interface Capacity {
  /** Leases the job wants held now. */
  wanted(run: JobRun): number;
  /** A lease was granted: its seats. */
  granted(run: JobRun, lease: string): void;
  /** After dispatching: give back what the job no longer needs. */
  tidy(run: JobRun): void;
  /** A lease's seats are free (after a yield's drain, or at the job's end). */
  giveBack(run: JobRun, lease: string): void;
  /** Leases to yield first (`count` of them). */
  toYield(run: JobRun, count: number): string[];
  /** A yielded lease with nothing running goes back at once (a shared slot; an own instance drains). */
  idleYieldIsFree: boolean;
  /** Instances' worth held by each tenant now. */
  held(tenant: string): number;
  instanceCount(): number;
  /** Releases the instances whose warm time ended by `atMs` (ms, exactly as the pool computed it). */
  expire(atMs: number): void;
  finish(): void;
}

/** The longest chain of a job's sub-tasks (seconds). */
function criticalPath(job: TenancySimJob): number {
  const finish: number[] = [];
  job.durations.forEach((d, k) => {
    let start = 0;
    for (const p of job.deps[k]!) start = Math.max(start, finish[p]!);
    finish.push(start + d);
  });
  return finish.reduce((a, b) => Math.max(a, b), 0);
}

export function simulateTenancy(options: TenancySimOptions): TenancySimResult {
  return new TenancySimulation(options).run();
}

class TenancySimulation {
  private readonly ledger = new FleetLedger();
  private readonly tenants: Map<string, Tenant>;
  private readonly runs = new Map<string, JobRun>();
  private readonly events = new Heap<Event>((a, b) => a.t - b.t || a.seq - b.seq);
  private readonly instances = new Map<string, SimInstance>();
  private readonly capacity: Capacity;
  /** Lease units per instance: 1 on own fleets, the slots on a shared one. */
  private readonly unit: number;
  private seq = 0;
  private now = 0;
  private readonly result: TenancySimResult = {
    makespanSeconds: {},
    costUsd: 0,
    costByTenantUsd: {},
    quotaViolations: [],
    meanInstancesWhileBacklogged: {},
    backloggedSeconds: 0,
    yields: 0,
    lostWorkSeconds: 0,
    launches: 0,
    deadlineMet: {},
  };
  /** Wake-ups already in the queue (ms). */
  private readonly wakes = new Set<number>();

  constructor(private readonly options: TenancySimOptions) {
    this.tenants = new Map(options.config.tenants.map((t) => [t.name, t]));
    const slots = options.slotsPerInstance ?? 1;
    const shared = options.fleet === 'shared';
    this.unit = shared ? slots : 1;
    this.capacity = shared ? this.sharedCapacity(slots) : this.ownCapacity(slots);
  }

  run(): TenancySimResult {
    const backloggedTime = new Map<string, number>();
    const everyone = [...new Set(this.options.jobs.map((j) => j.tenant))];
    for (const job of this.options.jobs) this.push({ t: job.arrivalSeconds, kind: 'arrive', job: job.id });
    let live = new Map<string, number>();
    while (this.events.size() > 0) {
      const e = this.events.pop()!;
      // Fairness is measured while every tenant has jobs waiting for admission.
      const queued = new Set(
        this.ledger
          .usage(this.now * 1000)
          .jobs.filter((j) => j.status === 'queued')
          .map((j) => j.tenant),
      );
      if (everyone.every((t) => queued.has(t))) {
        this.result.backloggedSeconds += e.t - this.now;
        for (const t of everyone)
          backloggedTime.set(t, (backloggedTime.get(t) ?? 0) + (e.t - this.now) * (live.get(t) ?? 0));
      }
      this.now = e.t;
      this.step(e);
      live = this.check(everyone);
    }
    this.capacity.finish();
    for (const t of everyone)
      this.result.meanInstancesWhileBacklogged[t] =
        (backloggedTime.get(t) ?? 0) / Math.max(1e-9, this.result.backloggedSeconds);
    return this.result;
  }

  private step(e: Event): void {
    if (e.kind === 'arrive') return this.arrive(e.job);
    if (e.kind === 'ready') {
      const inst = this.instances.get(e.instance);
      if (!inst) return;
      inst.ready = true;
      for (const run of this.runs.values())
        if (run.finished === undefined && run.seats.some((s) => s.instance === e.instance))
          this.dispatch(run);
      return;
    }
    if (e.kind === 'expire') return this.capacity.expire(e.atMs);
    if (e.kind === 'wake') {
      this.wakes.delete(e.atMs);
      return this.handle(this.ledger.tick(e.atMs));
    }
    const run = this.runs.get(e.job);
    if (!run || run.finished !== undefined) return;
    if (e.kind === 'gone') {
      this.capacity.giveBack(run, e.lease);
      this.askLeases(run); // back in line for what it gave up
      return;
    }
    const seat = run.seats.find((s) => s.running?.k === e.k && s.running.attempt === e.attempt);
    if (!seat) return; // stopped
    seat.running = undefined;
    run.running[e.k] = false;
    run.done[e.k] = true;
    if (run.done.every(Boolean)) return this.finishJob(run);
    this.dispatch(run);
    this.askLeases(run); // new sub-tasks may be ready
  }

  private arrive(id: string): void {
    const job = this.options.jobs.find((j) => j.id === id)!;
    const run: JobRun = {
      job,
      seats: [],
      done: job.durations.map(() => false),
      running: job.durations.map(() => false),
      kept: job.durations.map(() => 0),
      attempts: job.durations.map(() => 0),
      asked: 0,
      pending: 0,
    };
    this.runs.set(job.id, run);
    const tenant = this.tenants.get(job.tenant) ?? { ...DEFAULT_TENANT, name: job.tenant };
    this.handle(
      this.ledger.admit(
        {
          jobId: job.id,
          tenant: this.inUnits(tenant),
          priority: job.priority,
          limits: this.limitsInUnits(),
          instances: job.instances * this.unit,
          ...(job.deadlineSeconds !== undefined
            ? { latestStartMs: (job.arrivalSeconds + job.deadlineSeconds - criticalPath(job)) * 1000 }
            : {}),
        },
        this.now * 1000,
      ),
    );
  }

  /** The ledger counts leases: on a shared fleet a lease is a slot, so its instance quotas are in slots. */
  private inUnits(tenant: Tenant): Tenant {
    const max = tenant.quotas.maxInstances;
    return max === undefined
      ? tenant
      : { ...tenant, quotas: { ...tenant.quotas, maxInstances: max * this.unit } };
  }

  private limitsInUnits(): TenancyConfig['fleet'] {
    const fleet = this.options.config.fleet;
    return fleet.maxInstances === undefined
      ? fleet
      : { ...fleet, maxInstances: fleet.maxInstances * this.unit };
  }

  private finishJob(run: JobRun): void {
    for (const lease of new Set(run.seats.map((s) => s.lease))) this.capacity.giveBack(run, lease);
    run.finished = this.now;
    this.result.makespanSeconds[run.job.id] = this.now - run.job.arrivalSeconds;
    if (run.job.deadlineSeconds !== undefined)
      this.result.deadlineMet[run.job.id] = this.now - run.job.arrivalSeconds <= run.job.deadlineSeconds;
    this.handle(this.ledger.leave(run.job.id, this.now * 1000));
  }

  private push(e: NewEvent): void {
    this.events.push({ ...e, seq: this.seq++ } as Event);
  }

  private readySubTasks(run: JobRun): number {
    return run.done.filter((d, k) => !d && !run.running[k] && this.depsDone(run, k)).length;
  }

  private depsDone(run: JobRun, k: number): boolean {
    return run.job.deps[k]!.every((dep) => run.done[dep]);
  }

  private askLeases(run: JobRun): void {
    if (run.finished !== undefined) return;
    const held = new Set(run.seats.map((s) => s.lease)).size;
    const wanted: Array<{ planId: string; pricePerHour: number }> = [];
    while (held + run.pending + wanted.length < this.capacity.wanted(run))
      wanted.push({ planId: `l${run.asked++}`, pricePerHour: this.options.pricePerHour / this.unit });
    if (wanted.length === 0) return;
    run.pending += wanted.length;
    this.handle(this.ledger.requestLeases(run.job.id, wanted, this.now * 1000));
  }

  private returnLease(run: JobRun, lease: string): void {
    this.handle(this.ledger.returnLeases(run.job.id, [lease], this.now * 1000));
  }

  /** Starts ready sub-tasks in its free seats on ready instances, then gives back what is unused. */
  private dispatch(run: JobRun): void {
    for (const seat of run.seats) {
      if (seat.running || seat.draining || !this.instances.get(seat.instance)?.ready) continue;
      const k = run.done.findIndex((d, j) => !d && !run.running[j] && this.depsDone(run, j));
      if (k < 0) break;
      run.running[k] = true;
      const attempt = ++run.attempts[k]!;
      seat.running = { k, startedAt: this.now, attempt };
      const t = this.now + run.job.durations[k]! - run.kept[k]!;
      this.push({ t, kind: 'finish', job: run.job.id, k, attempt });
    }
    this.capacity.tidy(run);
  }

  private yieldLeases(run: JobRun, count: number): void {
    for (const lease of this.capacity.toYield(run, count)) {
      this.result.yields++;
      const seats = run.seats.filter((s) => s.lease === lease);
      if (this.capacity.idleYieldIsFree && seats.every((s) => !s.running)) {
        this.capacity.giveBack(run, lease);
        continue;
      }
      for (const seat of seats) {
        if (seat.running) {
          const { k, startedAt } = seat.running;
          const ran = this.now - startedAt;
          const kept = Math.floor(ran / this.options.checkpointSeconds) * this.options.checkpointSeconds;
          this.result.lostWorkSeconds += ran - kept;
          run.kept[k]! += kept;
          run.running[k] = false;
          seat.running = undefined;
        }
        seat.draining = true;
      }
      this.push({ t: this.now + this.options.drainSeconds, kind: 'gone', job: run.job.id, lease });
    }
    this.dispatch(run);
  }

  private handle(messages: FleetMessage[]): void {
    // As the fleet workflow does: sleep until the ledger's next wake-up, if nothing comes first.
    const wake = this.ledger.nextWakeMs(this.now * 1000);
    if (wake !== undefined && !this.wakes.has(wake)) {
      this.wakes.add(wake);
      this.push({ t: wake / 1000, kind: 'wake', atMs: wake });
    }
    for (const m of messages) {
      const run = this.runs.get(m.to);
      if (!run || run.finished !== undefined) continue;
      if (m.kind === 'admission' && m.status === 'admitted') this.askLeases(run);
      else if (m.kind === 'grant') {
        for (const lease of m.planIds) {
          run.pending--;
          this.capacity.granted(run, lease);
        }
        this.dispatch(run);
      } else if (m.kind === 'yield') this.yieldLeases(run, m.count);
    }
  }

  private launch(owner?: string, id = `i${this.result.launches}`): SimInstance {
    this.result.launches++;
    const inst: SimInstance = { id, ...(owner ? { owner } : {}), launchedAt: this.now, ready: false };
    this.instances.set(id, inst);
    this.push({ t: this.now + this.options.bootSeconds, kind: 'ready', instance: id });
    return inst;
  }

  /** Releases an instance: its whole time is billed (to `tenant`, when one job had it all). */
  private release(id: string, tenant?: string): void {
    const inst = this.instances.get(id)!;
    this.instances.delete(id);
    const usd = ((this.now - inst.launchedAt) * this.options.pricePerHour) / 3600;
    this.result.costUsd += usd;
    if (tenant) this.addTenantCost(tenant, usd);
  }

  private addTenantCost(tenant: string, usd: number): void {
    this.result.costByTenantUsd[tenant] = (this.result.costByTenantUsd[tenant] ?? 0) + usd;
  }

  private check(everyone: string[]): Map<string, number> {
    const live = new Map(everyone.map((t) => [t, this.capacity.held(t)]));
    const total = this.capacity.instanceCount();
    const max = this.options.config.fleet.maxInstances;
    const at = `t=${this.now}`;
    if (max !== undefined && total > max)
      this.result.quotaViolations.push(`${at}: ${total} instances > ${max}`);
    for (const [tenant, n] of live) {
      const quota = this.tenants.get(tenant)?.quotas.maxInstances;
      if (quota !== undefined && n > quota + 1e-9)
        this.result.quotaViolations.push(`${at}: ${tenant} ${n} > ${quota}`);
    }
    return live;
  }

  // ---- each job on its own instances -------------------------------------------------------------

  private ownCapacity(slots: number): Capacity {
    const leaseInstance = (run: JobRun, lease: string) => `${run.job.id}/${lease}`;
    const release = (run: JobRun, lease: string) => {
      this.release(leaseInstance(run, lease), run.job.tenant);
      run.seats = run.seats.filter((s) => s.lease !== lease);
      this.returnLease(run, lease);
    };
    return {
      wanted: (run) => {
        const open = run.done.filter((d) => !d).length;
        return Math.min(run.job.instances, Math.ceil(open / slots));
      },
      granted: (run, lease) => {
        const inst = this.launch(run.job.id, leaseInstance(run, lease));
        for (let i = 0; i < slots; i++) run.seats.push({ lease, instance: inst.id, since: this.now });
      },
      // Nothing left to start: its idle instances go.
      tidy: (run) => {
        if (run.done.some((d, k) => !d && !run.running[k])) return;
        for (const lease of new Set(run.seats.map((s) => s.lease)))
          if (run.seats.every((s) => s.lease !== lease || (!s.running && !s.draining))) release(run, lease);
      },
      giveBack: release,
      idleYieldIsFree: false,
      // Not yet booted first, then the fewest running.
      toYield: (run, count) => {
        const leases = [...new Set(run.seats.filter((s) => !s.draining).map((s) => s.lease))];
        const runningOn = (lease: string) => run.seats.filter((s) => s.lease === lease && s.running).length;
        const booted = (lease: string) => Number(this.instances.get(leaseInstance(run, lease))!.ready);
        return leases.sort((a, b) => booted(a) - booted(b) || runningOn(a) - runningOn(b)).slice(0, count);
      },
      held: (tenant) =>
        [...this.instances.values()].filter((i) => this.runs.get(i.owner!)?.job.tenant === tenant).length,
      instanceCount: () => this.instances.size,
      expire: () => undefined,
      finish: () => undefined,
    };
  }

  // ---- one shared, packed pool -------------------------------------------------------------------

  private sharedCapacity(slots: number): Capacity {
    const pool = new SlotPool({
      slotsPerInstance: slots,
      warmSeconds: this.options.warmSeconds ?? 0,
      bootSeconds: this.options.bootSeconds,
    });
    const slotUsd = (seat: Seat) => ((this.now - seat.since) * this.options.pricePerHour) / 3600 / slots;
    const scheduled = new Set<number>();
    const expire = (atMs: number) => {
      scheduled.delete(atMs);
      for (const gone of pool.expire(atMs)) this.release(gone.id);
      const next = pool.nextExpiryMs();
      if (next === undefined || scheduled.has(next)) return;
      scheduled.add(next);
      this.push({ t: next / 1000, kind: 'expire', atMs: next });
    };
    const free = (run: JobRun, seat: Seat) => {
      this.addTenantCost(run.job.tenant, slotUsd(seat));
      pool.free(run.job.id, seat.instance, this.now * 1000);
      run.seats = run.seats.filter((s) => s !== seat);
      this.returnLease(run, seat.lease);
      expire(this.now * 1000);
    };
    return {
      wanted: (run) =>
        Math.min(run.job.instances * slots, this.readySubTasks(run) + run.running.filter(Boolean).length),
      granted: (run, lease) => {
        const { instance, launched } = pool.place(run.job.id, 'default', this.now * 1000);
        if (launched) this.launch(undefined, instance.id);
        run.seats.push({ lease, instance: instance.id, since: this.now });
      },
      // A seat with nothing ready for it goes back to the pool at once.
      tidy: (run) => {
        let spare = run.seats.filter((s) => !s.running && !s.draining).length - this.readySubTasks(run);
        for (const seat of [...run.seats]) {
          if (spare <= 0) break;
          if (seat.running || seat.draining) continue;
          free(run, seat);
          spare--;
        }
      },
      giveBack: (run, lease) => {
        const seat = run.seats.find((s) => s.lease === lease);
        if (seat) free(run, seat);
      },
      idleYieldIsFree: true,
      // Seats not running first.
      toYield: (run, count) =>
        run.seats
          .filter((s) => !s.draining)
          .sort((a, b) => Number(!!a.running) - Number(!!b.running))
          .slice(0, count)
          .map((s) => s.lease),
      held: (tenant) =>
        [...this.runs.values()]
          .filter((r) => r.job.tenant === tenant)
          .reduce((n, r) => n + r.seats.length, 0) / slots,
      instanceCount: () => pool.list().length,
      expire,
      // Every instance expired after the last job (its expiry is an event): what no slot paid for was idle.
      finish: () => {
        const tenants = Object.values(this.result.costByTenantUsd).reduce((a, b) => a + b, 0);
        this.result.costByTenantUsd['(idle)'] = this.result.costUsd - tenants;
      },
    };
  }
}
