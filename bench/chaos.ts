import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { openCheckpointStore } from '../src/checkpoint';
import type { JobResult, SubTaskOutcome } from '../src/job/types';
import { CONTROL_TASK_QUEUE } from '../src/names';
import { maxOf } from '../src/util/array';
import { rng } from '../src/sim/market';
import { primesJobSpec } from '../src/steps';
import type { LocalStack } from '../workers/local-stack';
import { findOrInstallTemporalCli, workflowStartArgs } from '../workers/temporal-cli';
import { jobStateQuery } from '../workflows/job-controlled';

/** π(10¹⁰): what the chaos run's job must come to. */
export const PRIMES_BELOW_1E10 = 455_052_511;

export interface ChaosOptions {
  stack: LocalStack;
  /** The job's id. */
  workflowId: string;
  kills: number;
  stops: number;
  /** The hits fall at random over this many seconds once the job runs. */
  spreadSeconds: number;
  heartbeatTimeoutSeconds: number;
  seed: number;
  log: (line: string) => void;
}

/** One hit: an instance process SIGKILLed or SIGSTOPped. */
export interface ChaosHit {
  atMs: number;
  instanceId: string;
  signal: 'SIGKILL' | 'SIGSTOP';
  /** A sub-task of the job was running on it. */
  busy: boolean;
}

export interface ChaosResult {
  workflowId: string;
  seed: number;
  hits: ChaosHit[];
  result: unknown;
  correct: boolean;
  elapsedSeconds: number;
  /** The job's own count (JobResult.workLostSeconds), and the part of it counted to a timeout. */
  reportedWorkLostSeconds: number;
  reportedWorkLostEstimatedSeconds: number;
  /**
   * The same from the checkpoint store's records and the hit times: for every attempt on a hit
   * instance, from its last checkpoint written before the hit (or the attempt's start) to the hit;
   * in all, on SIGKILLed instances and on SIGSTOPped ones (the provider sees both: an exit, a
   * suspension).
   */
  storeWorkLostSeconds: number;
  storeWorkLostKilledSeconds: number;
  storeWorkLostStoppedSeconds: number;
  /** The job's count ÷ the store's, all hits (1 = agree; goal within 25 %). */
  workLostRatio: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The chaos run of issue #19, as a user would do it: the job is started with `temporal workflow
 * start` against a control worker (this process), and instance processes are hit at random —
 * SIGKILLed or SIGSTOPped, busy or idle — while it runs.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const { stack, workflowId, log } = options;
  const random = rng(options.seed);
  const primes = primesJobSpec(1e10, { chunks: 60, instances: 4 });
  const spec = { ...primes, name: 'chaos-primes', fleet: { ...primes.fleet, slotsPerInstance: 1 } };
  const temporal = await findOrInstallTemporalCli(log);
  const startedAtMs = Date.now();
  await promisify(execFile)(
    temporal,
    workflowStartArgs({
      address: stack.address,
      namespace: stack.namespace,
      workflowType: 'spotdagJob',
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      inputs: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: options.heartbeatTimeoutSeconds } }],
    }),
  );
  const handle = stack.client.workflow.getHandle(workflowId);
  const result = handle.result() as Promise<JobResult>;
  let done = false;
  void result.finally(() => (done = true)).catch(() => undefined);

  // Hits at random times over the spread, once the job has instances; the SIGSTOPs among them at
  // random places.
  const signals: ChaosHit['signal'][] = [
    ...Array<ChaosHit['signal']>(options.kills).fill('SIGKILL'),
    ...Array<ChaosHit['signal']>(options.stops).fill('SIGSTOP'),
  ].sort(() => random() - 0.5);
  while (!done && (await stack.provisioner.list(workflowId)).length === 0) await sleep(100);
  const firstAtMs = Date.now();
  const at = signals.map(() => random() * options.spreadSeconds * 1000).sort((a, b) => a - b);
  const hits: ChaosHit[] = [];
  const stopped = new Set<string>();
  for (const [i, signal] of signals.entries()) {
    await sleep(Math.max(0, firstAtMs + at[i]! - Date.now()));
    if (done) break;
    const live = (await stack.provisioner.list(workflowId)).filter((x) => !stopped.has(x.id));
    if (live.length === 0) continue;
    const target = live[Math.floor(random() * live.length)]!;
    const busy = await isBusy(stack, workflowId, target.id);
    if (!stack.provisioner.kill(target.id, signal)) continue;
    if (signal === 'SIGSTOP') stopped.add(target.id);
    hits.push({ atMs: Date.now(), instanceId: target.id, signal, busy });
    log(
      `${((Date.now() - startedAtMs) / 1000).toFixed(1)} s: ${signal} ${target.id}${busy ? ' (busy)' : ' (idle)'}`,
    );
  }
  const job = await result;
  const elapsedSeconds = (Date.now() - startedAtMs) / 1000;
  for (const id of stopped) stack.provisioner.kill(id, 'SIGKILL');
  const { SIGKILL: killed, SIGSTOP: stoppedLost } = await workLostFromStore(stack, workflowId, hits);
  return {
    workflowId,
    seed: options.seed,
    hits,
    result: job.result,
    correct: job.result === PRIMES_BELOW_1E10,
    elapsedSeconds,
    reportedWorkLostSeconds: job.workLostSeconds,
    reportedWorkLostEstimatedSeconds: job.workLostEstimatedSeconds ?? 0,
    storeWorkLostSeconds: killed + stoppedLost,
    storeWorkLostKilledSeconds: killed,
    storeWorkLostStoppedSeconds: stoppedLost,
    workLostRatio: killed + stoppedLost > 0 ? job.workLostSeconds / (killed + stoppedLost) : NaN,
  };
}

/** Whether a running sub-task of the job is on the instance (its outcome is not in yet). */
async function isBusy(stack: LocalStack, workflowId: string, instanceId: string): Promise<boolean> {
  const state = await stack.client.workflow
    .getHandle(workflowId)
    .query(jobStateQuery)
    .catch(() => undefined);
  const planId = state?.instances.find((i) => i.id === instanceId)?.planId;
  return !!planId && Object.values(state!.subTasks).some((t) => t.status === 'running' && t.on === planId);
}

/**
 * Work lost as the checkpoint store's records and the hit times say: each sub-task attempt that
 * was on a hit instance lost the time from its last checkpoint before the hit (or its start) to
 * the hit. Attempts and their instances come from the sub-tasks' outcomes.
 */
async function workLostFromStore(
  stack: LocalStack,
  workflowId: string,
  hits: ChaosHit[],
): Promise<Record<ChaosHit['signal'], number>> {
  const hitOf = new Map(hits.map((h) => [h.instanceId, h]));
  const lostMs = { SIGKILL: 0, SIGSTOP: 0 };
  const store = await openCheckpointStore(stack.checkpointStore);
  try {
    for (const state of await store.listSubTaskStates(workflowId)) {
      const outcome = (await stack.client.workflow
        .getHandle(`${workflowId}/${state.subTaskId}`)
        .result()) as SubTaskOutcome;
      const written = (await store.listCheckpoints(workflowId, state.subTaskId)).map((c) => c.createdAtMs);
      outcome.relocations.forEach((moved, i) => {
        const hit = hitOf.get(moved.from);
        if (!hit) return;
        const attemptStartMs = i > 0 ? outcome.relocations[i - 1]!.atMs : outcome.startedAtMs;
        if (hit.atMs < attemptStartMs) return; // it arrived after the hit: nothing ran
        const before = written.filter((t) => t >= attemptStartMs && t <= hit.atMs);
        lostMs[hit.signal] += hit.atMs - Math.max(attemptStartMs, maxOf(before));
      });
    }
    return { SIGKILL: lostMs.SIGKILL / 1000, SIGSTOP: lostMs.SIGSTOP / 1000 };
  } finally {
    await store.close();
  }
}

export function formatChaos(r: ChaosResult): string {
  const kills = r.hits.filter((h) => h.signal === 'SIGKILL').length;
  const busy = r.hits.filter((h) => h.busy).length;
  const rows: Array<[string, string, string]> = [
    [
      'hits',
      `${kills} SIGKILL + ${r.hits.length - kills} SIGSTOP (${busy} busy, ${r.hits.length - busy} idle)`,
      '7 + 1',
    ],
    ['result', `${String(r.result)} (${r.correct ? 'exact' : 'WRONG'})`, String(PRIMES_BELOW_1E10)],
    ['elapsed', `${r.elapsedSeconds.toFixed(1)} s`, '< 120 s'],
    [
      'work lost, as the job counted it',
      `${r.reportedWorkLostSeconds.toFixed(2)} s (to a timeout: ${r.reportedWorkLostEstimatedSeconds.toFixed(2)} s)`,
      '',
    ],
    [
      'work lost, from the store and hit times',
      `${r.storeWorkLostSeconds.toFixed(2)} s (killed ${r.storeWorkLostKilledSeconds.toFixed(2)} s, stopped ${r.storeWorkLostStoppedSeconds.toFixed(2)} s)`,
      '',
    ],
    [
      'work lost, job ÷ store',
      Number.isFinite(r.workLostRatio) ? r.workLostRatio.toFixed(2) : '—',
      '0.75 – 1.25',
    ],
  ];
  return `${rows.map(([k, v, goal]) => `${k.padEnd(42)} ${v.padEnd(52)} ${goal}`).join('\n')}\n`;
}

export function writeChaosJson(file: string, r: ChaosResult): void {
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
}
