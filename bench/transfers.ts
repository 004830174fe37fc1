// Benchmark: input prefetch on vs off. A WfFormat workflow runs as command stages (every task the
// stand-in: CPU for its runtime × a scale, outputs at their sizes × a scale) on local instances
// whose artifact downloads are held to an emulated link speed. With prefetch on, the job workflow
// asks a busy instance to fetch the inputs of its next ready sub-task while the current one runs
// (`prefetchInputs`); the sub-tasks' outcomes say how many input bytes each fetched itself when it
// started and how long it waited for them, the job's result gives the makespan.
import { readFileSync, writeFileSync } from 'node:fs';
import { median } from 'simple-statistics';
import type { JobResult, SubTaskOutcome } from '../src/job/types';
import { CONTROL_TASK_QUEUE } from '../src/names';
import { wfFormatJob } from '../src/dag/wfformat-job';
import type { LocalStack } from '../workers/local-stack';
import type { JobRunOptions } from '../workflows';

export type PrefetchMode = 'off' | 'on';

/**
 * The run option that turns prefetching on or off. The parent workflow (workflows/job.ts) carries
 * it out; until it does, both modes run alike and the summary says so.
 */
export type PrefetchRunOptions = JobRunOptions & { prefetchInputs?: boolean };

export interface TransferBenchmarkOptions {
  stack: LocalStack;
  workflowFile: string;
  runtimeScale: number;
  sizeScale: number;
  instances: number;
  slots: number;
  /** The emulated link (bytes per second) the instances were started with, for the record. */
  bandwidthBytesPerSecond?: number;
  repeat: number;
  log?: (line: string) => void;
}

export interface TransferRun {
  mode: PrefetchMode;
  workflowId: string;
  makespanSeconds: number;
  subTasks: number;
  /** Bytes placed in input folders, and of those fetched by the sub-task itself when it started. */
  inputBytes: number;
  fetchedAtStartBytes: number;
  /** Bytes already on the instance when the sub-task started (prefetched, or used before). */
  cachedBytes: number;
  /** Time sub-tasks spent waiting for their inputs, summed. */
  inputWaitSeconds: number;
  /** prefetchInputs activities the job ran. */
  prefetches: number;
}

export interface TransferBenchmarkResult {
  workflow: string;
  tasks: number;
  runtimeScale: number;
  sizeScale: number;
  instances: number;
  slots: number;
  bandwidthBytesPerSecond?: number;
  runs: TransferRun[];
  summary: Record<PrefetchMode, Omit<TransferRun, 'mode' | 'workflowId'>>;
  /** makespan(on) ÷ makespan(off), medians. */
  makespanRatio: number;
  /** False when no prefetch ran with prefetch on: the job workflow does not issue them yet. */
  prefetchWired: boolean;
}

async function runOnce(
  options: TransferBenchmarkOptions,
  spec: { name: string; stages: Array<{ id: string }> },
  mode: PrefetchMode,
  index: number,
): Promise<TransferRun> {
  const { stack } = options;
  const workflowId = `bench-transfers-${mode}-${index}-${Date.now().toString(36)}`;
  const runOptions: PrefetchRunOptions = {
    subTaskPolicy: { heartbeatTimeoutSeconds: 30 },
    prefetchInputs: mode === 'on',
  };
  const handle = await stack.client.workflow.start('spotdagJob', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId,
    args: [{ ...spec, name: workflowId }, runOptions],
  });
  const result = (await handle.result()) as JobResult;
  const outcomes = await Promise.all(
    spec.stages.map(
      async (s) =>
        (await stack.client.workflow.getHandle(`${workflowId}/${s.id}`).result()) as SubTaskOutcome,
    ),
  );
  let prefetches = 0;
  for (const event of (await handle.fetchHistory()).events ?? [])
    if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'prefetchInputs') prefetches++;
  const sum = (f: (o: SubTaskOutcome) => number) => outcomes.reduce((a, o) => a + f(o), 0);
  const inputBytes = sum((o) => o.transfers?.inputBytes ?? 0);
  const fetchedAtStartBytes = sum((o) => o.transfers?.fetchedBytes ?? 0);
  return {
    mode,
    workflowId,
    makespanSeconds: result.elapsedSeconds,
    subTasks: result.subTasks,
    inputBytes,
    fetchedAtStartBytes,
    cachedBytes: inputBytes - fetchedAtStartBytes,
    inputWaitSeconds: sum((o) => o.transfers?.inputSeconds ?? 0),
    prefetches,
  };
}

function summarize(runs: TransferRun[]): Omit<TransferRun, 'mode' | 'workflowId'> {
  const m = (f: (r: TransferRun) => number) => median(runs.map(f));
  return {
    makespanSeconds: m((r) => r.makespanSeconds),
    subTasks: runs[0]!.subTasks,
    inputBytes: m((r) => r.inputBytes),
    fetchedAtStartBytes: m((r) => r.fetchedAtStartBytes),
    cachedBytes: m((r) => r.cachedBytes),
    inputWaitSeconds: m((r) => r.inputWaitSeconds),
    prefetches: m((r) => r.prefetches),
  };
}

/** Runs the workflow `repeat` times per mode, alternating off and on so that drift hits both. */
export async function runTransferBenchmark(
  options: TransferBenchmarkOptions,
): Promise<TransferBenchmarkResult> {
  const json = JSON.parse(readFileSync(options.workflowFile, 'utf8')) as unknown;
  const job = wfFormatJob(json, {
    standIn: 'all',
    runtimeScale: options.runtimeScale,
    sizeScale: options.sizeScale,
    fleet: { provider: 'local', instances: options.instances, slotsPerInstance: options.slots },
  });
  const spec = job.spec as { name: string; stages: Array<{ id: string }> };
  const runs: TransferRun[] = [];
  for (let i = 0; i < options.repeat; i++) {
    for (const mode of ['off', 'on'] as const) {
      options.log?.(`run ${i + 1}/${options.repeat}, prefetch ${mode} …`);
      runs.push(await runOnce(options, spec, mode, i));
    }
  }
  const summary = {
    off: summarize(runs.filter((r) => r.mode === 'off')),
    on: summarize(runs.filter((r) => r.mode === 'on')),
  };
  return {
    workflow: options.workflowFile,
    tasks: job.standInTasks,
    runtimeScale: options.runtimeScale,
    sizeScale: options.sizeScale,
    instances: options.instances,
    slots: options.slots,
    ...(options.bandwidthBytesPerSecond ? { bandwidthBytesPerSecond: options.bandwidthBytesPerSecond } : {}),
    runs,
    summary,
    makespanRatio: summary.on.makespanSeconds / summary.off.makespanSeconds,
    prefetchWired: runs.some((r) => r.mode === 'on' && r.prefetches > 0),
  };
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

export function formatTransferBenchmark(r: TransferBenchmarkResult): string {
  const link = r.bandwidthBytesPerSecond
    ? `${mb(r.bandwidthBytesPerSecond)} MB/s emulated link`
    : 'no link limit';
  const lines = [
    `${r.workflow}: ${r.tasks} tasks as stand-ins (runtime × ${r.runtimeScale}, sizes × ${r.sizeScale}), ${r.instances} instances × ${r.slots} slots, ${link}; medians of ${r.runs.length / 2} run(s) per mode`,
    '',
    '| prefetch | makespan (s) | input MB | fetched at start MB | already on the instance MB | waiting for inputs (s) | prefetches |',
    '| -------- | -----------: | -------: | ------------------: | -------------------------: | ---------------------: | ---------: |',
  ];
  for (const mode of ['off', 'on'] as const) {
    const s = r.summary[mode];
    lines.push(
      `| ${mode.padEnd(8)} | ${s.makespanSeconds.toFixed(1)} | ${mb(s.inputBytes)} | ${mb(s.fetchedAtStartBytes)} | ${mb(s.cachedBytes)} | ${s.inputWaitSeconds.toFixed(1)} | ${s.prefetches} |`,
    );
  }
  lines.push('', `makespan on ÷ off: ${r.makespanRatio.toFixed(3)}`);
  if (!r.prefetchWired)
    lines.push(
      'Prefetch is not wired into the job workflow yet: no prefetchInputs activity ran with prefetch on, so both rows fetch inputs when each sub-task starts.',
    );
  return `${lines.join('\n')}\n`;
}

export function writeTransferBenchmarkJson(file: string, result: TransferBenchmarkResult): void {
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}
