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
import { processAlive, stopProcess, waitForExit } from '../util/process';
import { LocalMetadataServer } from './metadata-server';
import type { Provisioner } from './provisioner';
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
  /** Interruptions carried out so far (by `interrupt()`, from traces or by hand). */
  readonly interruptions: LocalInterruption[] = [];

  constructor(private readonly options: LocalProvisionerOptions) {
    this.dir = path.join(options.stateDir, 'instances');
    this.command = options.command ?? defaultInstanceCommand();
  }

  async provision(jobId: string, plans: InstancePlan[]): Promise<ProvisionedInstance[]> {
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

  async replace(jobId: string, lostInstanceId: string): Promise<ProvisionedInstance> {
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
   * Stops an instance: SIGTERM (the worker drains, its commands get SIGTERM), then SIGKILL after
   * `graceMs`; whatever its commands left running goes too, with its work folder.
   */
  async stop(id: string, graceMs = 10_000): Promise<void> {
    const record = this.read(id);
    if (!record) return;
    await stopProcess(record.pid, graceMs);
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
    this.metadata.get(id)?.noticeInterruption(new Date(noticeAtMs + noticeMs));
    if (noticeMs > 0) await new Promise((r) => setTimeout(r, noticeMs));
    this.kill(id, 'SIGKILL');
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
    };
    writeFileSync(this.recordFile(id), JSON.stringify(record, null, 2));
    this.scheduleTraceInterruption(id);
    return record;
  }

  private scheduleTraceInterruption(id: string): void {
    const plan = this.options.interruptions;
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
  const { id, taskQueue, pool, planId, handle } = record;
  return { id, taskQueue, pool, planId, handle };
}
