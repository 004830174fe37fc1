import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { InstancePlan, ProvisionedInstance } from '../job/types';
import { instanceTaskQueue } from '../names';
import { shortHash } from '../util/hash';
import { packageRoot } from '../util/package-root';
import { signalRecordedGroups } from '../command/process-group';
import { processAlive, processSuspended, stopProcess, waitForExit } from '../util/process';
import { LocalMetadataServer } from './metadata-server';
import type {
  InstanceLossReason,
  InstanceLostEvent,
  LaunchContext,
  LaunchOutcome,
  Provisioner,
} from './provisioner';
import type { ReplayMarket } from './replay-market';
import { firstPreemptionDelayMs, type TraceInterruptions } from './trace-interruptions';

export interface LocalProvisionerOptions {
  /** Instance records and logs live in `<stateDir>/instances/`. */
  stateDir: string;
  /** The program each instance runs; it receives `--instance-id ID --task-queue Q --slots N`. */
  command?: { file: string; args: string[] };
  /** Extra environment for instance processes (e.g. TEMPORAL_ADDRESS); secrets are passed, never logged. */
  env?: Record<string, string>;
  /**
   * Serve each instance an IMDSv2 metadata endpoint on loopback, so that `interrupt()` can give it
   * a spot notice the way AWS does. Default true.
   */
  metadataEndpoints?: boolean;
  /** How often instances poll their metadata endpoint (AWS recommends ~5 s). */
  metadataPollMs?: number;
  /** Interrupt instances the way real spot traces say (notice, then SIGKILL). */
  interruptions?: TraceInterruptions;
  /**
   * Buy instances on a replayed spot market (`spotdag bench twin`, tests): spot launches are refused
   * while the pool's trace has no capacity, spot instances are interrupted when it says so, and
   * every instance is billed the pool's price (`bill`).
   */
  market?: ReplayMarket;
  /**
   * Report an instance whose process is suspended (SIGSTOP) as lost, as EC2's watch reports a
   * stopped machine (default true). Off, only its silence finds it: the poller watch, heartbeats.
   */
  seeSuspended?: boolean;
}

/** What a replayed market bills: one line per instance of a job. */
export interface BillingEntry {
  id: string;
  pool: string;
  market: 'spot' | 'on-demand';
  jobStartMs: number;
  launchedAtMs: number;
  endedAtMs?: number;
}

/** An interruption the provisioner carried out. */
export interface LocalInterruption {
  instanceId: string;
  noticeAtMs: number;
  killedAtMs: number;
}

interface InstanceRecord extends ProvisionedInstance {
  jobId: string;
  pid: number;
  startedAtMs: number;
  slots: number;
  /** On a replayed market: the market it was bought on. */
  market?: 'spot' | 'on-demand';
  /** Set when a replacement took over from this instance. */
  replacedBy?: string;
}

/** The default instance program: this package's compiled instance worker (`npm run build`). */
export function defaultInstanceCommand(): { file: string; args: string[] } {
  const script = path.join(packageRoot(), 'dist', 'workers', 'instance-worker.js');
  if (!existsSync(script))
    throw new Error(`instance worker not built: ${script} is missing (run \`npm run build\`)`);
  return { file: process.execPath, args: [script] };
}

export function localInstanceId(jobId: string, planId: string): string {
  return `${shortHash(jobId)}-${planId}`;
}

/** The replacement of `abc-i0` is `abc-i0-r1`, of that `abc-i0-r2`, and so on. */
export function replacementInstanceId(lostId: string): string {
  const match = /^(.*)-r(\d+)$/.exec(lostId);
  return match ? `${match[1]}-r${Number(match[2]) + 1}` : `${lostId}-r1`;
}

/**
 * Instances as worker processes on this machine, each polling its own task queue. Processes are
 * detached so that they outlive a restart of the control worker; records on disk let a retried
 * or restarted provisioner find them again.
 */
export class LocalProvisioner implements Provisioner {
  readonly provider = 'local';
  private readonly dir: string;
  private readonly command: { file: string; args: string[] };
  private readonly metadata = new Map<string, LocalMetadataServer>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Provisioning, launching and replacing, one call at a time (see `serially`). */
  private queue: Promise<unknown> = Promise.resolve();
  /** Interruptions carried out so far (by `interrupt()`, from traces or by hand). */
  readonly interruptions: LocalInterruption[] = [];
  private lostListener?: (event: InstanceLostEvent) => void;
  /** Instances being released (their exit is no loss) or interrupted (their exit is a spot loss). */
  private readonly stopping = new Set<string>();
  private readonly interrupting = new Set<string>();
  private readonly reported = new Set<string>();
  private watchdog?: NodeJS.Timeout;
  private suspensionWatch?: NodeJS.Timeout;
  /** Live instance records as the last check of the records found them (the suspension watch's). */
  private live: InstanceRecord[] = [];

  constructor(private readonly options: LocalProvisionerOptions) {
    this.dir = path.join(options.stateDir, 'instances');
    this.command = options.command ?? defaultInstanceCommand();
  }

  provision(jobId: string, plans: InstancePlan[]): Promise<ProvisionedInstance[]> {
    return this.serially(() => this.provisionNow(jobId, plans));
  }

  private async provisionNow(jobId: string, plans: InstancePlan[]): Promise<ProvisionedInstance[]> {
    mkdirSync(this.dir, { recursive: true });
    const instances: ProvisionedInstance[] = [];
    for (const plan of plans) {
      const id = localInstanceId(jobId, plan.id);
      const existing = this.read(id);
      instances.push(
        toInstance(existing && processAlive(existing.pid) ? existing : await this.start(jobId, id, plan)),
      );
    }
    return instances;
  }

  /**
   * Launches plans one by one. On a replayed market a spot request its pool cannot serve now is
   * refused, a spot instance is interrupted (notice, then SIGKILL) when its pool's trace says, and
   * each instance goes on the job's bill; without one this is `provision`.
   */
  launchPlans(jobId: string, plans: InstancePlan[], context: LaunchContext): Promise<LaunchOutcome> {
    return this.serially(() => this.launchPlansNow(jobId, plans, context));
  }

  private async launchPlansNow(
    jobId: string,
    plans: InstancePlan[],
    context: LaunchContext,
  ): Promise<LaunchOutcome> {
    mkdirSync(this.dir, { recursive: true });
    const outcome: LaunchOutcome = { launched: [], refused: [] };
    const market = this.options.market;
    for (const plan of plans) {
      const id = localInstanceId(jobId, plan.id);
      const existing = this.read(id);
      if (existing && processAlive(existing.pid)) {
        outcome.launched.push({ ...toInstance(existing), launchedAtMs: existing.startedAtMs });
        continue;
      }
      const spot = plan.market !== 'on-demand';
      const t = (Date.now() - context.jobStartMs) / 1000;
      const maxPrice = plan.maxPricePerHour ?? Infinity;
      const refusal = market && spot ? market.spotRefusal(plan.pool, t, maxPrice) : undefined;
      if (refusal) {
        outcome.refused.push({ planId: plan.id, pool: plan.pool, reason: refusal });
        continue;
      }
      const record = await this.start(jobId, id, plan, market ? (spot ? 'spot' : 'on-demand') : undefined);
      outcome.launched.push({ ...toInstance(record), launchedAtMs: record.startedAtMs });
      if (market) {
        this.billing(jobId, (entries) =>
          entries.push({
            id,
            pool: plan.pool,
            market: spot ? 'spot' : 'on-demand',
            jobStartMs: context.jobStartMs,
            launchedAtMs: record.startedAtMs,
          }),
        );
        if (spot) this.scheduleMarketInterruption(id, market.interruptionAt(plan.pool, t, maxPrice), context);
      }
    }
    return outcome;
  }

  /** The instances a job bought on the replayed market: pool, market, launch and end. */
  billingEntries(jobId: string): BillingEntry[] {
    return this.readBilling(jobId);
  }

  /** What the job's instances cost on the replayed market so far (USD); 0 without one. */
  async bill(jobId: string): Promise<number> {
    const market = this.options.market;
    if (!market) return 0;
    let usd = 0;
    for (const e of this.readBilling(jobId)) {
      const end = e.endedAtMs ?? Date.now();
      usd += market.cost(
        e.pool,
        e.market,
        (e.launchedAtMs - e.jobStartMs) / 1000,
        (end - e.jobStartMs) / 1000,
      );
    }
    return usd;
  }

  replace(jobId: string, lostInstanceId: string): Promise<ProvisionedInstance> {
    return this.serially(() => this.replaceNow(jobId, lostInstanceId));
  }

  private async replaceNow(jobId: string, lostInstanceId: string): Promise<ProvisionedInstance> {
    const lost = this.read(lostInstanceId);
    if (!lost) throw new Error(`unknown instance ${lostInstanceId}`);
    const id = lost.replacedBy ?? replacementInstanceId(lostInstanceId);
    const existing = this.read(id);
    if (existing && processAlive(existing.pid)) return toInstance(existing);
    const replacement = await this.start(jobId, id, { id: lost.planId, pool: lost.pool, slots: lost.slots });
    // The lost process is left alone: if it was only paused, fencing rejects its late writes.
    writeFileSync(this.recordFile(lostInstanceId), JSON.stringify({ ...lost, replacedBy: id }, null, 2));
    return toInstance(replacement);
  }

  async release(_jobId: string, instances: ProvisionedInstance[]): Promise<void> {
    await Promise.all(instances.map((instance) => this.stop(instance.id)));
  }

  async list(jobId?: string): Promise<ProvisionedInstance[]> {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => this.read(f.slice(0, -'.json'.length)))
      .filter(
        (r): r is InstanceRecord => !!r && processAlive(r.pid) && (jobId === undefined || r.jobId === jobId),
      )
      .map(toInstance);
  }

  /**
   * Reports instances whose process dies without being released: at once for processes this
   * provisioner started (their exit event), within a second for others (after a restart of the
   * control worker, by their pid); and, within a tenth of a second (once a check of the records
   * has seen them: a second after their launch at most), those whose process is suspended (SIGSTOP: alive but running nothing), unless `seeSuspended` is false. The work a
   * suspended instance lost is counted to when it was seen, so it is looked for often (one small
   * read of /proc per live instance).
   */
  watchLost(listener: (event: InstanceLostEvent) => void): void {
    this.lostListener = listener;
    this.watchdog ??= setInterval(() => this.checkRecords(), 1_000);
    this.watchdog.unref();
    if (this.options.seeSuspended !== false && !this.suspensionWatch) {
      this.checkRecords();
      this.suspensionWatch = setInterval(() => this.checkSuspended(), 100);
      this.suspensionWatch.unref();
    }
  }

  private checkRecords(): void {
    if (!existsSync(this.dir)) return;
    const live: InstanceRecord[] = [];
    for (const file of readdirSync(this.dir)) {
      if (!file.endsWith('.json')) continue;
      const record = this.read(file.slice(0, -'.json'.length));
      if (!record || record.replacedBy) continue;
      if (processAlive(record.pid)) live.push(record);
      else this.lost(record);
    }
    this.live = live;
  }

  /**
   * A stopped process runs nothing, like a stopped machine: lost from now (it may wake later, and
   * then its checkpoint store fences whatever it writes).
   */
  private checkSuspended(): void {
    for (const record of this.live)
      if (!this.reported.has(record.id) && processSuspended(record.pid)) this.lost(record, 'suspended');
  }

  isLost(instanceId: string): boolean {
    return this.reported.has(instanceId);
  }

  /** An instance's process is gone (or suspended): tell the listener once, unless it was being released. */
  private lost(record: InstanceRecord, reason?: InstanceLossReason): void {
    const { id } = record;
    if (this.stopping.has(id) || this.reported.has(id)) return;
    this.reported.add(id);
    this.ended(record);
    this.lostListener?.({
      jobId: record.jobId,
      instanceId: id,
      reason: reason ?? (this.interrupting.has(id) ? 'interrupted' : 'exited'),
      atMs: Date.now(),
    });
  }

  /**
   * Stops an instance: SIGTERM (the worker drains, its commands get SIGTERM), then SIGKILL after
   * `graceMs`; whatever its commands left running goes too, with its work folder.
   */
  async stop(id: string, graceMs = 10_000): Promise<void> {
    const record = this.read(id);
    if (!record) return;
    this.stopping.add(id);
    await stopProcess(record.pid, graceMs);
    this.ended(record);
    signalRecordedGroups(this.groupsDir(id), 'SIGKILL');
    rmSync(this.workDir(id), { recursive: true, force: true });
    rmSync(this.recordFile(id), { force: true });
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    await this.metadata.get(id)?.stop();
    this.metadata.delete(id);
  }

  /**
   * A spot interruption, as AWS does it: a notice on the instance's metadata endpoint, then the
   * instance is killed (SIGKILL, no goodbye) `noticeMs` later. Resolves when it is dead.
   */
  async interrupt(id: string, noticeMs = 120_000): Promise<void> {
    const pid = this.pidOf(id);
    if (pid === undefined) return;
    const noticeAtMs = Date.now();
    this.interrupting.add(id);
    this.metadata.get(id)?.noticeInterruption(new Date(noticeAtMs + noticeMs));
    if (noticeMs > 0) await new Promise((r) => setTimeout(r, noticeMs));
    this.kill(id, 'SIGKILL');
    const record = this.read(id);
    if (record) this.ended(record);
    await waitForExit(pid, 5_000);
    this.interruptions.push({ instanceId: id, noticeAtMs, killedAtMs: Date.now() });
  }

  /**
   * Sends a signal to an instance, as to a machine: its worker process and the process groups of
   * the commands it runs (tests pause instances with SIGSTOP, kill them with SIGKILL).
   */
  kill(id: string, signal: NodeJS.Signals): boolean {
    const pid = this.pidOf(id);
    if (pid === undefined) return false;
    process.kill(pid, signal);
    signalRecordedGroups(this.groupsDir(id), signal);
    return true;
  }

  /** An instance's work folder (SPOTDAG_WORK_DIR): its commands' folders, its input cache. */
  workDir(id: string): string {
    return path.join(this.dir, `${id}.work`);
  }

  private groupsDir(id: string): string {
    return path.join(this.workDir(id), 'groups');
  }

  /** Stops the metadata endpoints this process serves (instances keep running). */
  async close(): Promise<void> {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
    clearInterval(this.suspensionWatch);
    this.suspensionWatch = undefined;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([...this.metadata.values()].map((m) => m.stop()));
    this.metadata.clear();
  }

  /** Process id of a live instance (for tests and the interruption simulator). */
  pidOf(id: string): number | undefined {
    const record = this.read(id);
    return record && processAlive(record.pid) ? record.pid : undefined;
  }

  private async start(
    jobId: string,
    id: string,
    plan: Pick<InstancePlan, 'id' | 'pool' | 'slots'>,
    market?: 'spot' | 'on-demand',
  ): Promise<InstanceRecord> {
    const taskQueue = instanceTaskQueue(id);
    const args = [
      ...this.command.args,
      '--instance-id',
      id,
      '--task-queue',
      taskQueue,
      '--slots',
      String(plan.slots),
    ];
    if (this.options.metadataEndpoints !== false) {
      // An earlier process of this id (it died) leaves its endpoint behind: close it, or it stays open.
      await this.metadata.get(id)?.stop();
      const server = new LocalMetadataServer({ instanceId: id, instanceType: plan.pool, zone: 'localhost' });
      this.metadata.set(id, server);
      args.push('--metadata-endpoint', await server.start());
      args.push('--metadata-poll-ms', String(this.options.metadataPollMs ?? 1_000));
    }
    const log = openSync(path.join(this.dir, `${id}.log`), 'a');
    const child = spawn(this.command.file, args, {
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, ...this.options.env, SPOTDAG_WORK_DIR: this.workDir(id) },
    });
    closeSync(log);
    child.unref();
    child.once('exit', () => {
      const record = this.read(id);
      if (record && record.pid === child.pid) this.lost(record);
    });
    if (child.pid === undefined) throw new Error(`could not start instance ${id}: ${this.command.file}`);
    const record: InstanceRecord = {
      id,
      taskQueue,
      pool: plan.pool,
      planId: plan.id,
      handle: `pid:${child.pid}`,
      jobId,
      pid: child.pid,
      startedAtMs: Date.now(),
      slots: plan.slots,
      ...(market ? { market } : {}),
    };
    writeFileSync(this.recordFile(id), JSON.stringify(record, null, 2));
    this.scheduleTraceInterruption(id);
    return record;
  }

  /**
   * Runs provisioning calls one after another. Each checks for a live instance before it starts one,
   * and starting takes a few awaits; two calls at once (sub-tasks of one lost instance relocating
   * together) would both start the same replacement: two processes on one queue, and an endpoint
   * that nothing closes, which keeps this process alive.
   */
  private serially<T>(call: () => Promise<T>): Promise<T> {
    const result = this.queue.then(call);
    this.queue = result.catch(() => {});
    return result;
  }

  /** A replayed market's interruption: the notice `noticeSeconds` before `at` (job seconds), then the kill. */
  private scheduleMarketInterruption(id: string, at: number, context: LaunchContext): void {
    if (!Number.isFinite(at)) return;
    const noticeMs = this.options.market!.timing().noticeSeconds * 1000;
    const killAtMs = context.jobStartMs + at * 1000;
    const delay = Math.max(0, killAtMs - noticeMs - Date.now());
    const timer = setTimeout(() => {
      this.timers.delete(id);
      this.interrupt(id, Math.max(0, killAtMs - Date.now())).catch(() => {}); // already gone
    }, delay);
    timer.unref();
    this.timers.set(id, timer);
  }

  private billingFile(jobId: string): string {
    return path.join(this.options.stateDir, 'billing', `${shortHash(jobId)}.json`);
  }

  private readBilling(jobId: string): BillingEntry[] {
    try {
      return JSON.parse(readFileSync(this.billingFile(jobId), 'utf8')) as BillingEntry[];
    } catch {
      return [];
    }
  }

  private billing(jobId: string, update: (entries: BillingEntry[]) => void): void {
    const entries = this.readBilling(jobId);
    update(entries);
    mkdirSync(path.dirname(this.billingFile(jobId)), { recursive: true });
    writeFileSync(this.billingFile(jobId), JSON.stringify(entries));
  }

  /** The instance's bill stops now (released or killed). */
  private ended(record: InstanceRecord): void {
    if (!record.market) return;
    this.billing(record.jobId, (entries) => {
      const e = entries.find((x) => x.id === record.id && x.endedAtMs === undefined);
      if (e) e.endedAtMs = Date.now();
    });
  }

  private scheduleTraceInterruption(id: string): void {
    const plan = this.options.interruptions;
    clearTimeout(this.timers.get(id)); // an earlier process of this id
    this.timers.delete(id);
    const delay = plan && firstPreemptionDelayMs(id, plan);
    if (!plan || delay === undefined) return;
    const timer = setTimeout(() => {
      this.timers.delete(id);
      this.interrupt(id, plan.noticeMs).catch(() => {}); // already gone: nothing to interrupt
    }, delay);
    timer.unref();
    this.timers.set(id, timer);
  }

  private recordFile(id: string): string {
    return path.join(this.dir, `${id}.json`);
  }

  private read(id: string): InstanceRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.recordFile(id), 'utf8')) as InstanceRecord;
    } catch {
      return undefined;
    }
  }
}

function toInstance(record: InstanceRecord): ProvisionedInstance {
  const { id, taskQueue, pool, planId, handle, jobId } = record;
  return { id, taskQueue, pool, planId, handle, jobId };
}
