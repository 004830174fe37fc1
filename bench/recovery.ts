// Benchmark: what losing an instance costs. Real instance processes on a local stack are SIGKILLed
// (no notice) or interrupted the way AWS does it (a metadata notice, then SIGKILL) in the middle of
// a `workload.spin` sub-task; the sub-task's history and the workload's ledger say how long the
// loss took to detect, how long until work resumed elsewhere, and how much work was done twice.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { JobResult, SubTaskOutcome } from '../src/job/types';
import { CONTROL_TASK_QUEUE } from '../src/names';
import { rng } from '../src/sim/market';
import {
  expectedWorkloadSum,
  readWorkloadLedger,
  redoneUnits,
  workloadJobSpec,
  type LedgerEntry,
} from '../src/steps';
import type { LocalStack } from '../workers/local-stack';
import { spotdagJob } from '../workflows';
import { jobStateQuery, type ControlledJobState } from '../workflows/job-controlled';

export type RecoveryMode = 'kill' | 'notice';

export interface RecoveryBenchmarkOptions {
  stack: LocalStack;
  /** Trials per mode. */
  trials: number;
  heartbeatTimeoutSeconds: number;
  /** The instances' checkpoint interval; the stack must have been started with it. */
  checkpointIntervalSeconds: number;
  /** Lead time of a spot notice before the kill (AWS: 120 s). */
  noticeSeconds: number;
  /** Each trial's sub-task: `workSeconds` of work in units of `unitMs`. */
  workSeconds: number;
  unitMs: number;
  seed: number;
  /** Where the workload ledgers go (a temporary directory by default). */
  ledgerDir?: string;
  log?: (line: string) => void;
}

export interface RecoveryTrial {
  mode: RecoveryMode;
  workflowId: string;
  /** Fraction of the sub-task done when the instance was hit. */
  hitAtProgress: number;
  /** Kill (or notice) → the job moved the sub-task (the provider's exit signal, a heartbeat timeout, or the notice). */
  detectionSeconds: number;
  /** Kill (or notice) → the first unit of work finished on the replacement. */
  resumeSeconds: number;
  /** Units done twice × unitMs: work the interruption cost, from the ledger. */
  lostWorkSeconds: number;
  /** The job's own estimate of it, from heartbeats (JobResult.workLostSeconds). */
  reportedLostWorkSeconds: number;
  /** What the last checkpoint kept (JobResult.workSavedSeconds). */
  savedWorkSeconds: number;
  correct: boolean;
}

/** An instance killed while idle, with a sub-task placed on it: how soon the job knew. */
export interface IdleTrial {
  workflowId: string;
  /** Kill → the job's state shows the instance lost (polled every 20 ms). */
  detectionSeconds: number;
  correct: boolean;
}

/**
 * A job that keeps one instance busy while the other waits for it: `first` (one sub-task that runs
 * 20 s, estimated at 8 s), then `second` (two of 2 s each) — the second half of `second` is placed
 * on the other instance, which the controller launches for when `first` was estimated to end, so
 * it idles with work placed on it for about 12 s. Its result is the sum of `second`'s units,
 * `expected`.
 */
export function idleInstanceJobSpec(name: string, unitMs: number) {
  const units = (seconds: number) => Math.max(1, Math.round((seconds * 1000) / unitMs));
  const secondUnits = 2 * units(2);
  const spin = (id: string, end: number, chunks: number, dependsOn: string[] = [], slowdown = 1) => ({
    id,
    kind: 'split' as const,
    step: 'workload.spin',
    range: { start: 1, end },
    chunking: { maxSubTasks: chunks },
    input: { unitMs: unitMs * slowdown, busy: false },
    dependsOn,
    resources: { cpu: 1, memoryMiB: 128 },
    estimate: { secondsPerUnit: unitMs / 1000, uncertainty: 0.1 },
  });
  const spec = {
    name,
    stages: [
      spin('first', units(8), 1, [], 20 / 8),
      spin('second', secondUnits, 2, ['first']),
      {
        id: 'total',
        kind: 'reduce' as const,
        step: 'workload.sum',
        dependsOn: ['second'],
        resources: { cpu: 1, memoryMiB: 64 },
        estimate: { seconds: 0.01 },
      },
    ],
    fleet: { provider: 'local' as const, instances: 2, slotsPerInstance: 1 },
  };
  return { spec, expected: expectedWorkloadSum(1, secondUnits) };
}

/** An instance of the job's state with nothing running on it and a waiting sub-task placed on it. */
export function idleInstanceWithWork(
  state: ControlledJobState,
): { id: string; planId: string; waiting: string } | undefined {
  const busy = new Set(Object.values(state.subTasks).flatMap((s) => (s.on ? [s.on] : [])));
  for (const inst of state.instances) {
    if (!inst.id || inst.lost || busy.has(inst.planId)) continue;
    const waiting = Object.entries(state.subTasks).find(
      ([, s]) => s.status === 'pending' && s.placedOn === inst.planId,
    );
    if (waiting) return { id: inst.id, planId: inst.planId, waiting: waiting[0] };
  }
  return undefined;
}

async function runIdleTrial(options: RecoveryBenchmarkOptions, workflowId: string): Promise<IdleTrial> {
  const { stack } = options;
  const { spec, expected } = idleInstanceJobSpec(workflowId, options.unitMs);
  const handle = await stack.client.workflow.start(spotdagJob, {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId,
    args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: options.heartbeatTimeoutSeconds } }],
  });
  const state = () => handle.query(jobStateQuery).catch(() => undefined);
  let idle: ReturnType<typeof idleInstanceWithWork>;
  for (const until = Date.now() + 60_000; !idle; await sleep(20)) {
    if (Date.now() > until) throw new Error(`${workflowId}: no idle instance with work placed on it`);
    const s = await state();
    idle = s && idleInstanceWithWork(s);
  }
  const hitAtMs = Date.now();
  stack.provisioner.kill(idle.id, 'SIGKILL');
  let knownAtMs: number | undefined;
  for (const until = hitAtMs + 60_000; knownAtMs === undefined; await sleep(20)) {
    if (Date.now() > until) throw new Error(`${workflowId}: the job never saw ${idle.id} lost`);
    const s = await state();
    if (s?.instances.find((i) => i.planId === idle.planId)?.lost) knownAtMs = Date.now();
  }
  const job: JobResult = await handle.result();
  return {
    workflowId,
    detectionSeconds: (knownAtMs - hitAtMs) / 1000,
    correct: job.result === expected,
  };
}

interface Stats {
  mean: number;
  median: number;
  max: number;
}

export interface RecoveryBenchmarkResult {
  heartbeatTimeoutSeconds: number;
  checkpointIntervalSeconds: number;
  noticeSeconds: number;
  unitMs: number;
  seed: number;
  /** Without a notice: kill → the job moved the work (mean over trials). */
  detectionLatencySeconds: number;
  /** With a notice: notice → the interrupted attempt failed (mean). */
  noticeDetectionLatencySeconds: number;
  /** Kill → work resumed on a replacement (mean). */
  timeToResumeSeconds: number;
  /** Work lost per interruption (mean), without and with a notice. */
  lostWorkWithoutNoticeSeconds: number;
  lostWorkWithNoticeSeconds: number;
  /** The job's own count of the work a kill lost (JobResult.workLostSeconds, mean), beside the ledger's. */
  reportedLostWorkWithoutNoticeSeconds: number;
  /** An idle instance (work placed on it, none running) killed → the job knew (mean). */
  idleDetectionLatencySeconds: number;
  goals: {
    detectionWithinHeartbeatTimeoutPlus2s: boolean;
    idleDetectionWithinHeartbeatTimeoutPlus2s: boolean;
    lostWithoutNoticeWithinCheckpointInterval: boolean;
    lostWithNoticeNearZero: boolean;
    allResultsCorrect: boolean;
  };
  stats: Record<
    | 'detection'
    | 'noticeDetection'
    | 'resume'
    | 'noticeResume'
    | 'lostWithoutNotice'
    | 'reportedLostWithoutNotice'
    | 'lostWithNotice'
    | 'idleDetection',
    Stats
  >;
  trials: RecoveryTrial[];
  idleTrials: IdleTrial[];
  node: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stats(values: number[]): Stats {
  if (values.length === 0) return { mean: NaN, median: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return {
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
    median: sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2,
    max: sorted.at(-1)!,
  };
}

/**
 * When the job moved the sub-task off the instance that was hit: its first relocation, whichever
 * signal found the loss first (the provider's exit notice, a heartbeat timeout, a spot notice).
 */
async function firstRelocationAtMs(stack: LocalStack, childId: string): Promise<number> {
  const outcome = (await stack.client.workflow.getHandle(childId).result()) as SubTaskOutcome;
  const first = outcome.relocations?.[0];
  if (!first) throw new Error(`${childId}: it never moved (was the instance hit at all?)`);
  return first.atMs;
}

/**
 * The replacement's first unit: the one after the longest pause in the ledger since the hit (the
 * pause is detection plus relocation; with a notice the victim first finishes a unit or so).
 */
function replacementFirstUnit(entries: LedgerEntry[], hitAtMs: number): LedgerEntry | undefined {
  let best: LedgerEntry | undefined;
  let longest = -Infinity;
  for (let i = 1; i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry.atMs <= hitAtMs) continue;
    const pause = entry.atMs - Math.max(entries[i - 1]!.atMs, hitAtMs);
    if (pause > longest) [best, longest] = [entry, pause];
  }
  return best;
}

async function runTrial(
  options: RecoveryBenchmarkOptions,
  mode: RecoveryMode,
  workflowId: string,
  random: () => number,
  ledgerDir: string,
): Promise<RecoveryTrial> {
  const { stack, unitMs } = options;
  const units = Math.round((options.workSeconds * 1000) / unitMs);
  const ledger = path.join(ledgerDir, `${workflowId}.ledger`);
  // One spin sub-task on one instance: the instance that is hit is the one doing the work.
  const spec = workloadJobSpec(units, { chunks: 1, instances: 1, input: { unitMs, ledger } });
  const hitAtProgress = 0.25 + random() * 0.35;
  const hitAtUnits = Math.ceil(hitAtProgress * units);
  const handle = await stack.client.workflow.start(spotdagJob, {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId,
    args: [
      spec,
      {
        subTaskPolicy: {
          heartbeatTimeoutSeconds: options.heartbeatTimeoutSeconds,
          scheduleToStartTimeoutSeconds: 60,
        },
      },
    ],
  });
  let finished = false;
  const result = handle.result().finally(() => (finished = true));
  const done = () => readWorkloadLedger(ledger, workflowId).get('spin')?.length ?? 0;
  while (done() < hitAtUnits) {
    if (finished) throw new Error(`${workflowId} finished before the instance was hit`);
    await sleep(20);
  }
  const [victim] = await stack.provisioner.list(workflowId);
  if (!victim) throw new Error(`${workflowId}: no instance to hit`);
  const hitAtMs = Date.now();
  if (mode === 'kill') stack.provisioner.kill(victim.id, 'SIGKILL');
  else void stack.provisioner.interrupt(victim.id, options.noticeSeconds * 1000);
  const job: JobResult = await result;

  const entries = readWorkloadLedger(ledger, workflowId).get('spin') ?? [];
  const resumed = replacementFirstUnit(entries, hitAtMs);
  const movedAtMs = await firstRelocationAtMs(stack, `${workflowId}/spin`);
  return {
    mode,
    workflowId,
    hitAtProgress,
    detectionSeconds: (movedAtMs - hitAtMs) / 1000,
    resumeSeconds: resumed ? (resumed.atMs - unitMs - hitAtMs) / 1000 : NaN,
    lostWorkSeconds: (redoneUnits(entries).length * unitMs) / 1000,
    reportedLostWorkSeconds: job.workLostSeconds,
    savedWorkSeconds: job.workSavedSeconds,
    correct: job.result === expectedWorkloadSum(1, units) && job.interruptions === 1,
  };
}

/** Whatever a failed trial left running (a job that completes releases its own instances). */
async function stopJobInstances(stack: LocalStack, jobId: string): Promise<void> {
  const left = await stack.provisioner.list(jobId);
  await Promise.all(left.map((i) => stack.provisioner.stop(i.id, 2_000)));
}

export async function runRecoveryBenchmark(
  options: RecoveryBenchmarkOptions,
): Promise<RecoveryBenchmarkResult> {
  const log = options.log ?? (() => {});
  const random = rng(options.seed);
  const ledgerDir = options.ledgerDir ?? mkdtempSync(path.join(tmpdir(), 'spotdag-bench-recovery-'));
  const trials: RecoveryTrial[] = [];
  for (const mode of ['kill', 'notice'] as const) {
    for (let i = 0; i < options.trials; i++) {
      const workflowId = `bench-recovery-${mode}-${i}-${Date.now().toString(36)}`;
      const trial = await runTrial(options, mode, workflowId, random, ledgerDir).finally(() =>
        stopJobInstances(options.stack, workflowId),
      );
      log(
        `${mode} ${i + 1}/${options.trials}: hit at ${(trial.hitAtProgress * 100).toFixed(0)} %, ` +
          `detected in ${trial.detectionSeconds.toFixed(2)} s, resumed in ${trial.resumeSeconds.toFixed(2)} s, ` +
          `lost ${trial.lostWorkSeconds.toFixed(2)} s of work${trial.correct ? '' : ' — WRONG RESULT'}`,
      );
      trials.push(trial);
    }
  }
  const idleTrials: IdleTrial[] = [];
  for (let i = 0; i < options.trials; i++) {
    const workflowId = `bench-recovery-idle-${i}-${Date.now().toString(36)}`;
    const trial = await runIdleTrial(options, workflowId).finally(() =>
      stopJobInstances(options.stack, workflowId),
    );
    log(
      `idle ${i + 1}/${options.trials}: the job knew in ${trial.detectionSeconds.toFixed(2)} s` +
        (trial.correct ? '' : ' — WRONG RESULT'),
    );
    idleTrials.push(trial);
  }
  const of = (mode: RecoveryMode, pick: (t: RecoveryTrial) => number) =>
    stats(trials.filter((t) => t.mode === mode).map(pick));
  const s = {
    detection: of('kill', (t) => t.detectionSeconds),
    noticeDetection: of('notice', (t) => t.detectionSeconds),
    resume: of('kill', (t) => t.resumeSeconds),
    noticeResume: of('notice', (t) => t.resumeSeconds),
    lostWithoutNotice: of('kill', (t) => t.lostWorkSeconds),
    reportedLostWithoutNotice: of('kill', (t) => t.reportedLostWorkSeconds),
    lostWithNotice: of('notice', (t) => t.lostWorkSeconds),
    idleDetection: stats(idleTrials.map((t) => t.detectionSeconds)),
  };
  return {
    heartbeatTimeoutSeconds: options.heartbeatTimeoutSeconds,
    checkpointIntervalSeconds: options.checkpointIntervalSeconds,
    noticeSeconds: options.noticeSeconds,
    unitMs: options.unitMs,
    seed: options.seed,
    detectionLatencySeconds: s.detection.mean,
    noticeDetectionLatencySeconds: s.noticeDetection.mean,
    timeToResumeSeconds: s.resume.mean,
    lostWorkWithoutNoticeSeconds: s.lostWithoutNotice.mean,
    lostWorkWithNoticeSeconds: s.lostWithNotice.mean,
    reportedLostWorkWithoutNoticeSeconds: s.reportedLostWithoutNotice.mean,
    idleDetectionLatencySeconds: s.idleDetection.mean,
    goals: {
      detectionWithinHeartbeatTimeoutPlus2s: s.detection.max <= options.heartbeatTimeoutSeconds + 2,
      idleDetectionWithinHeartbeatTimeoutPlus2s: s.idleDetection.max <= options.heartbeatTimeoutSeconds + 2,
      // A unit in progress is redone too: the bound is one interval plus one unit.
      lostWithoutNoticeWithinCheckpointInterval:
        s.lostWithoutNotice.max <= options.checkpointIntervalSeconds + options.unitMs / 1000,
      lostWithNoticeNearZero: s.lostWithNotice.max <= options.unitMs / 1000,
      allResultsCorrect: trials.every((t) => t.correct) && idleTrials.every((t) => t.correct),
    },
    stats: s,
    trials,
    idleTrials,
    node: process.version,
  };
}

export function formatRecoveryBenchmark(r: RecoveryBenchmarkResult): string {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '—');
  const row = (name: string, st: Stats, goal: string, ok: boolean) =>
    `${name.padEnd(34)} ${f(st.mean).padStart(7)} ${f(st.median).padStart(7)} ${f(st.max).padStart(7)}   ${goal.padEnd(16)} ${ok ? 'ok' : 'MISSED'}`;
  const g = r.goals;
  const lines = [
    `heartbeat timeout ${r.heartbeatTimeoutSeconds} s · checkpoint interval ${r.checkpointIntervalSeconds} s · notice ${r.noticeSeconds} s · ${r.trials.length / 2} trials per mode`,
    '',
    `${'seconds'.padEnd(34)} ${'mean'.padStart(7)} ${'median'.padStart(7)} ${'max'.padStart(7)}   goal`,
    row(
      'detection after a kill',
      r.stats.detection,
      `≤ ${r.heartbeatTimeoutSeconds + 2}`,
      g.detectionWithinHeartbeatTimeoutPlus2s,
    ),
    row('detection after a notice', r.stats.noticeDetection, '', true),
    row(
      'detection, idle instance killed',
      r.stats.idleDetection,
      `≤ ${r.heartbeatTimeoutSeconds + 2}`,
      g.idleDetectionWithinHeartbeatTimeoutPlus2s,
    ),
    row('kill → work resumed elsewhere', r.stats.resume, '', true),
    row('notice → work resumed elsewhere', r.stats.noticeResume, '', true),
    row(
      'work lost per kill (no notice)',
      r.stats.lostWithoutNotice,
      `≤ ${r.checkpointIntervalSeconds}`,
      g.lostWithoutNoticeWithinCheckpointInterval,
    ),
    row('  as the job counted it', r.stats.reportedLostWithoutNotice, '', true),
    row('work lost per notice', r.stats.lostWithNotice, '≈ 0', g.lostWithNoticeNearZero),
    '',
    `results ${g.allResultsCorrect ? 'all correct' : 'NOT ALL CORRECT'}`,
  ];
  return `${lines.join('\n')}\n`;
}

export function writeRecoveryBenchmarkJson(file: string, result: RecoveryBenchmarkResult): void {
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}
