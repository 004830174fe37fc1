/**
 * Several tenants' jobs arriving over time on one fleet, simulated with the fleet workflow's own
 * ledger (src/tenancy/ledger): the same admission, instance leases, priority order, fair share
 * and yields that run for real. Each job runs its DAG on the instances its leases grant (list
 * scheduling in topological order, one sub-task per instance); an instance boots before it runs
 * anything, and is released once its job has nothing left to start. A yield stops the running
 * sub-task (it keeps the work up to its last checkpoint) and releases the instance after a drain.
 *
 * It measures what `spotdag bench tenancy` reports: quota violations (checked at every event),
 * Jain's fairness of the tenants' instances ÷ weight while every tenant has jobs waiting, each
 * job's makespan, and cost. Pure: no I/O.
 */
import { Heap } from 'heap-js';
import { FleetLedger, type FleetMessage } from '../tenancy/ledger';
import { DEFAULT_TENANT, type TenancyConfig, type Tenant } from '../tenancy/types';

export interface TenancySimJob {
  id: string;
  tenant: string;
  priority: number;
  arrivalSeconds: number;
  /** The most instances it runs at once. */
  instances: number;
  /** Sub-task durations (seconds) and dependencies (indices), in topological order. */
  durations: number[];
  deps: number[][];
}

export interface TenancySimOptions {
  config: TenancyConfig;
  jobs: TenancySimJob[];
  bootSeconds: number;
  pricePerHour: number;
  /** A stopped sub-task keeps its work up to its last checkpoint, taken this often. */
  checkpointSeconds: number;
  /** From a yield to the instance gone (its worker drains). */
  drainSeconds: number;
}

export interface TenancySimResult {
  makespanSeconds: Record<string, number>;
  costUsd: number;
  costByTenantUsd: Record<string, number>;
  quotaViolations: string[];
  /** Time-weighted mean instances per tenant while every tenant had jobs waiting. */
  meanInstancesWhileBacklogged: Record<string, number>;
  backloggedSeconds: number;
  yields: number;
  lostWorkSeconds: number;
}

type Event =
  | { t: number; seq: number; kind: 'arrive'; job: string }
  | { t: number; seq: number; kind: 'ready' | 'gone'; job: string; planId: string }
  | { t: number; seq: number; kind: 'finish'; job: string; planId: string; k: number; attempt: number };

/** An event before it gets its place in the queue. */
type NewEvent = Event extends infer E ? (E extends Event ? Omit<E, 'seq'> : never) : never;

interface SimInstance {
  state: 'booting' | 'ready' | 'draining';
  since: number;
  running?: { k: number; startedAt: number; attempt: number };
}

interface JobRun {
  job: TenancySimJob;
  instances: Map<string, SimInstance>;
  done: boolean[];
  running: boolean[];
  /** Seconds of each sub-task kept by checkpoints. */
  kept: number[];
  attempts: number[];
  /** Plan ids handed out so far, and those asked for and not granted yet. */
  asked: number;
  pending: number;
  finished?: number;
}

export function simulateTenancy(options: TenancySimOptions): TenancySimResult {
  const ledger = new FleetLedger();
  const tenants = new Map<string, Tenant>(options.config.tenants.map((t) => [t.name, t]));
  const runs = new Map<string, JobRun>();
  const events = new Heap<Event>((a, b) => a.t - b.t || a.seq - b.seq);
  let seq = 0;
  let now = 0;
  const push = (e: NewEvent) => events.push({ ...e, seq: seq++ } as Event);
  const result: TenancySimResult = {
    makespanSeconds: {},
    costUsd: 0,
    costByTenantUsd: {},
    quotaViolations: [],
    meanInstancesWhileBacklogged: {},
    backloggedSeconds: 0,
    yields: 0,
    lostWorkSeconds: 0,
  };
  const backloggedTime = new Map<string, number>();
  for (const job of options.jobs) push({ t: job.arrivalSeconds, kind: 'arrive', job: job.id });

  const bill = (run: JobRun, inst: SimInstance) => {
    const usd = ((now - inst.since) * options.pricePerHour) / 3600;
    result.costUsd += usd;
    result.costByTenantUsd[run.job.tenant] = (result.costByTenantUsd[run.job.tenant] ?? 0) + usd;
  };
  const waiting = (run: JobRun) => run.done.filter((d, k) => !d && !run.running[k]).length;
  const askLeases = (run: JobRun) => {
    const want = Math.min(run.job.instances, waiting(run) + run.running.filter(Boolean).length);
    const wanted: Array<{ planId: string; pricePerHour: number }> = [];
    while (run.instances.size + run.pending + wanted.length < want)
      wanted.push({ planId: `i${run.asked++}`, pricePerHour: options.pricePerHour });
    run.pending += wanted.length;
    handle(ledger.requestLeases(run.job.id, wanted, now * 1000));
  };
  const release = (run: JobRun, planId: string) => {
    const inst = run.instances.get(planId)!;
    bill(run, inst);
    run.instances.delete(planId);
    handle(ledger.returnLeases(run.job.id, [planId], now * 1000));
  };
  const dispatch = (run: JobRun) => {
    for (const [planId, inst] of run.instances) {
      if (inst.state !== 'ready' || inst.running) continue;
      const k = run.done.findIndex(
        (d, j) => !d && !run.running[j] && run.job.deps[j]!.every((dep) => run.done[dep]),
      );
      if (k < 0) break;
      run.running[k] = true;
      const attempt = ++run.attempts[k]!;
      inst.running = { k, startedAt: now, attempt };
      push({
        t: now + run.job.durations[k]! - run.kept[k]!,
        kind: 'finish',
        job: run.job.id,
        planId,
        k,
        attempt,
      });
    }
    // Nothing left to start: idle instances go.
    if (waiting(run) === 0)
      for (const [planId, inst] of [...run.instances])
        if (inst.state !== 'draining' && !inst.running) release(run, planId);
  };
  const yieldInstances = (run: JobRun, count: number) => {
    const held = [...run.instances.entries()]
      .filter(([, i]) => i.state !== 'draining')
      .sort(
        ([, a], [, b]) =>
          Number(a.state === 'ready') - Number(b.state === 'ready') ||
          Number(!!a.running) - Number(!!b.running),
      );
    for (const [planId, inst] of held.slice(0, count)) {
      result.yields++;
      if (inst.running) {
        const { k, startedAt } = inst.running;
        const ran = now - startedAt;
        const kept = Math.floor(ran / options.checkpointSeconds) * options.checkpointSeconds;
        result.lostWorkSeconds += ran - kept;
        run.kept[k]! += kept;
        run.running[k] = false;
        inst.running = undefined;
      }
      inst.state = 'draining';
      push({ t: now + options.drainSeconds, kind: 'gone', job: run.job.id, planId });
    }
    dispatch(run);
  };
  function handle(messages: FleetMessage[]): void {
    for (const m of messages) {
      const run = runs.get(m.to);
      if (!run || run.finished !== undefined) continue;
      if (m.kind === 'admission' && m.status === 'admitted') askLeases(run);
      else if (m.kind === 'grant')
        for (const planId of m.planIds) {
          run.pending--;
          run.instances.set(planId, { state: 'booting', since: now });
          push({ t: now + options.bootSeconds, kind: 'ready', job: run.job.id, planId });
        }
      else if (m.kind === 'yield') yieldInstances(run, m.count);
    }
  }
  const check = () => {
    const live = new Map<string, number>();
    for (const run of runs.values())
      live.set(run.job.tenant, (live.get(run.job.tenant) ?? 0) + run.instances.size);
    const total = [...live.values()].reduce((a, b) => a + b, 0);
    const max = options.config.fleet.maxInstances;
    if (max !== undefined && total > max)
      result.quotaViolations.push(`t=${now}: ${total} instances > ${max}`);
    for (const [tenant, n] of live) {
      const quota = tenants.get(tenant)?.quotas.maxInstances;
      if (quota !== undefined && n > quota)
        result.quotaViolations.push(`t=${now}: ${tenant} ${n} > ${quota}`);
    }
    return live;
  };

  let live = new Map<string, number>();
  const everyone = [...new Set(options.jobs.map((j) => j.tenant))];
  while (events.size() > 0) {
    const e = events.pop()!;
    // Fairness is measured while every tenant has jobs waiting for admission.
    const queued = new Set(
      ledger
        .usage(now * 1000)
        .jobs.filter((j) => j.status === 'queued')
        .map((j) => j.tenant),
    );
    if (everyone.every((t) => queued.has(t))) {
      result.backloggedSeconds += e.t - now;
      for (const t of everyone)
        backloggedTime.set(t, (backloggedTime.get(t) ?? 0) + (e.t - now) * (live.get(t) ?? 0));
    }
    now = e.t;
    const run = runs.get(e.job);
    if (e.kind === 'arrive') {
      const job = options.jobs.find((j) => j.id === e.job)!;
      const fresh: JobRun = {
        job,
        instances: new Map(),
        done: job.durations.map(() => false),
        running: job.durations.map(() => false),
        kept: job.durations.map(() => 0),
        attempts: job.durations.map(() => 0),
        asked: 0,
        pending: 0,
      };
      runs.set(job.id, fresh);
      const tenant = tenants.get(job.tenant) ?? { ...DEFAULT_TENANT, name: job.tenant };
      handle(
        ledger.admit(
          {
            jobId: job.id,
            tenant,
            priority: job.priority,
            limits: options.config.fleet,
            instances: job.instances,
          },
          now * 1000,
        ),
      );
    } else if (run && e.kind === 'ready') {
      const inst = run.instances.get(e.planId);
      if (inst?.state === 'booting') inst.state = 'ready';
      dispatch(run);
    } else if (run && e.kind === 'gone') {
      if (run.instances.has(e.planId)) release(run, e.planId);
      if (run.finished === undefined) askLeases(run); // back in line for what it gave up
    } else if (run && e.kind === 'finish') {
      const inst = run.instances.get(e.planId);
      if (!inst?.running || inst.running.attempt !== e.attempt || inst.running.k !== e.k) continue; // stopped
      inst.running = undefined;
      run.running[e.k] = false;
      run.done[e.k] = true;
      dispatch(run);
      if (run.done.every(Boolean)) {
        for (const planId of [...run.instances.keys()]) release(run, planId);
        run.finished = now;
        result.makespanSeconds[run.job.id] = now - run.job.arrivalSeconds;
        handle(ledger.leave(run.job.id, now * 1000));
      }
    }
    live = check();
  }
  for (const t of everyone)
    result.meanInstancesWhileBacklogged[t] =
      (backloggedTime.get(t) ?? 0) / Math.max(1e-9, result.backloggedSeconds);
  return result;
}
