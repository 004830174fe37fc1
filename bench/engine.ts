// Benchmark: spotdag's per-sub-task overhead against plain Temporal fan-outs of the same no-op
// work, in one run on one Temporal server: a plain workflow running N no-op activities, a plain
// workflow running N children of one no-op activity each, and a spotdag job of N no-op sub-tasks.
//   spotdag bench engine [--sub-tasks 200] [--instances 4] [--slots 8] [--repeat 3] [--json out]
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { DEFAULT_SUBTASK_POLICY, type JobResult, type SubTaskPolicy } from '../src/job/types';
import { CONTROL_TASK_QUEUE } from '../src/names';
import { timeMs, type Timestamp } from '../src/report/history';
import { expectedWorkloadSum, workloadJobSpec } from '../src/steps';
import { maxOf, minOf, pushAll } from '../src/util/array';
import { startLocalStack, type LocalStack } from '../workers/local-stack';
import { startCliLogs, type LogFlags } from '../cli/logs';
import { stateDir } from '../cli/state';
import type { FanOutInput } from './engine-workflows';

export type EngineMode = 'activities' | 'children' | 'spotdag';
export const ENGINE_MODES: readonly EngineMode[] = ['activities', 'children', 'spotdag'];

export interface EngineBenchmarkOptions {
  stack: LocalStack;
  /** No-op sub-tasks (activities, children) per run. */
  subTasks: number;
  /** Worker processes (spotdag: local instances), and activities each runs at once. */
  instances: number;
  slotsPerInstance: number;
  /** Runs of each mode; medians are reported. */
  repeat: number;
  /** One unmeasured run of each mode first (JIT, workflow cache, connections). */
  warmup: boolean;
  /** Read every child's history in the last run: where each sub-task's time goes. */
  breakdown: boolean;
  log?: (line: string) => void;
}

/** Medians (ms) over the sub-tasks of one run: the stages of one sub-task's life, from histories. */
export interface Breakdown {
  /** Parent's start-child command → child workflow started. */
  childStartMs?: number;
  /** Child started → its activity scheduled (the child's first workflow task). */
  firstWorkflowTaskMs?: number;
  /** Activity scheduled → picked up by a worker (queue wait). */
  queueWaitMs: number;
  /** Activity started → completed (the worker's own time: for spotdag, store reads and writes). */
  activityMs: number;
  /** Activity completed → child completed (the child's closing workflow task). */
  closeWorkflowTaskMs?: number;
  /** Child (or activity) completed → the parent's next workflow task completed. */
  parentNoticedMs?: number;
}

export interface EngineRun {
  mode: EngineMode;
  workflowId: string;
  /** First task scheduled (activity scheduled, child initiated) → last task completed, in the parent's history. */
  phaseSeconds: number;
  perSubTaskMs: number;
  /** Workflow start → close (spotdag: includes planning, provisioning, the reduce and the release). */
  workflowSeconds: number;
  /** Distinct task queues (instances) the tasks ran on, when histories were read. */
  queues?: number;
  breakdown?: Breakdown;
  correct: boolean;
}

/** spotdag's once-per-job phases (seconds, from the parent's history): not per-sub-task overhead. */
export interface OncePerJob {
  decomposeJob: number;
  /** The runtime controller's first decision (forecast, plan). */
  decide: number;
  /** The first launchInstances: the instances started and polling their queues. */
  launchInstances: number;
  /** Workflow started → first sub-task child initiated (the activities and their workflow tasks). */
  beforeRun: number;
  /** Last no-op sub-task done → job closed: the reduce sub-task and releaseInstances. */
  afterRun: number;
  releaseInstances: number;
}

export interface EngineRow {
  mode: EngineMode;
  label: string;
  /** Median phase seconds over the repeats. */
  totalSeconds: number;
  perSubTaskMs: number;
  /** Per-sub-task time ÷ the plain activity fan-out's. */
  ratio: number;
  runs: number[];
}

export interface EngineBenchmarkResult {
  subTasks: number;
  instances: number;
  slotsPerInstance: number;
  concurrency: number;
  repeat: number;
  /** spotdag per-sub-task ÷ plain activity fan-out per-sub-task (medians). Goal ≤ 1.5. */
  overheadRatio: number;
  /** spotdag ÷ plain child-workflow fan-out: spotdag's own share beyond Temporal's child cost. */
  overheadRatioVsChildren: number;
  goal: { maxRatio: number; met: boolean };
  rows: EngineRow[];
  oncePerJob: OncePerJob;
  measured: string;
  baseline: string;
  checkpointStore: string;
  temporal: string;
  runs: EngineRun[];
  node: string;
}

const LABELS: Record<EngineMode, string> = {
  activities: 'plain activities',
  children: 'plain children',
  spotdag: 'spotdag',
};

const MEASURED =
  'phase = first task scheduled (ActivityTaskScheduled / StartChildWorkflowExecutionInitiated) → last task ' +
  'completed (ActivityTaskCompleted / ChildWorkflowExecutionCompleted) in the parent workflow’s history; ' +
  'per sub-task = phase / N. spotdag counts only its N no-op sub-tasks (stage spin), so planning, ' +
  'provisioning, the reduce and the release (once per job) are reported apart.';

const BASELINE =
  'plain fan-outs run on the same control worker (same bundle and task queue) and their no-op activity on ' +
  'separate worker processes configured as instance workers (one process and task queue per instance, ' +
  '--slots activities at once), each task taking a free slot as soon as one frees: the same concurrency as ' +
  'the spotdag job. They are separate processes because spotdag instances exist only inside their job.';

const median = (values: number[]): number => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const at = (e: HistoryEvent): number => timeMs(e.eventTime as Timestamp)!;
const eventId = (e: HistoryEvent): number => Number(e.eventId);

/** Every event of a workflow and its continued-as-new runs, in order. */
async function chainHistory(client: Client, workflowId: string, firstRunId: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const history: temporal.api.history.v1.IHistory = await client.workflow
      .getHandle(workflowId, runId)
      .fetchHistory();
    const run: HistoryEvent[] = history.events ?? [];
    pushAll(events, run);
    runId = run.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return events;
}

interface ParentTimes {
  firstScheduledMs: number;
  lastDoneMs: number;
  startedMs: number;
  closedMs: number;
  /** Child workflow id → [initiated, child-completed-in-parent] ms. */
  children: Map<string, { initiatedMs: number; doneMs?: number }>;
  /** Activity type → [scheduled, completed] ms (first of each type). */
  activities: Map<string, { scheduledMs: number; startedMs?: number; doneMs?: number; queue?: string }[]>;
}

/** The parent's timeline: its tasks (children whose id passes `isTask`, or `noopActivity`s). */
function parentTimes(events: HistoryEvent[], isTask: (childId: string) => boolean): ParentTimes {
  const children: ParentTimes['children'] = new Map();
  const activities: ParentTimes['activities'] = new Map();
  const byScheduledId = new Map<number, { scheduledMs: number; startedMs?: number; doneMs?: number }>();
  for (const e of events) {
    const initiated = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (initiated?.workflowId && isTask(initiated.workflowId))
      children.set(initiated.workflowId, { initiatedMs: at(e) });
    const completed = e.childWorkflowExecutionCompletedEventAttributes?.workflowExecution?.workflowId;
    if (completed && children.has(completed)) children.get(completed)!.doneMs = at(e);
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const name = scheduled.activityType?.name ?? '';
      const record = { scheduledMs: at(e), queue: scheduled.taskQueue?.name ?? undefined };
      activities.set(name, [...(activities.get(name) ?? []), record]);
      byScheduledId.set(eventId(e), record);
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) byScheduledId.get(Number(started.scheduledEventId))!.startedMs = at(e);
    const done = e.activityTaskCompletedEventAttributes;
    if (done) byScheduledId.get(Number(done.scheduledEventId))!.doneMs = at(e);
  }
  const tasks: { startMs: number; doneMs?: number }[] =
    children.size > 0
      ? [...children.values()].map((c) => ({ startMs: c.initiatedMs, doneMs: c.doneMs }))
      : (activities.get('benchNoop') ?? []).map((a) => ({ startMs: a.scheduledMs, doneMs: a.doneMs }));
  if (tasks.length === 0 || tasks.some((t) => t.doneMs === undefined))
    throw new Error('the parent’s history does not show every task completed');
  return {
    firstScheduledMs: minOf(tasks.map((t) => t.startMs)),
    lastDoneMs: maxOf(tasks.map((t) => t.doneMs!)),
    startedMs: at(events[0]!),
    closedMs: at(events.at(-1)!),
    children,
    activities,
  };
}

/** Medians of each stage of the children's lives, from their own histories (read 16 at a time). */
async function childBreakdown(
  client: Client,
  times: ParentTimes,
): Promise<{ breakdown: Breakdown; queues: number }> {
  const ids = [...times.children.keys()];
  const stages: Record<keyof Breakdown, number[]> = {
    childStartMs: [],
    firstWorkflowTaskMs: [],
    queueWaitMs: [],
    activityMs: [],
    closeWorkflowTaskMs: [],
    parentNoticedMs: [],
  };
  const queues = new Set<string>();
  for (let i = 0; i < ids.length; i += 16) {
    await Promise.all(
      ids.slice(i, i + 16).map(async (id) => {
        const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
        const parent = times.children.get(id)!;
        const startedMs = at(events[0]!);
        const closedMs = at(events.at(-1)!);
        // The last attempt: the one that completed.
        let scheduledMs = NaN;
        let activityStartedMs = NaN;
        let doneMs = NaN;
        for (const e of events) {
          if (e.activityTaskScheduledEventAttributes) {
            scheduledMs = at(e);
            queues.add(e.activityTaskScheduledEventAttributes.taskQueue?.name ?? '');
          }
          if (e.activityTaskStartedEventAttributes) activityStartedMs = at(e);
          if (e.activityTaskCompletedEventAttributes) doneMs = at(e);
        }
        stages.childStartMs.push(startedMs - parent.initiatedMs);
        stages.firstWorkflowTaskMs.push(scheduledMs - startedMs);
        stages.queueWaitMs.push(activityStartedMs - scheduledMs);
        stages.activityMs.push(doneMs - activityStartedMs);
        stages.closeWorkflowTaskMs.push(closedMs - doneMs);
        stages.parentNoticedMs.push(parent.doneMs! - closedMs);
      }),
    );
  }
  const m = (k: keyof Breakdown) => median(stages[k]);
  return {
    breakdown: {
      childStartMs: m('childStartMs'),
      firstWorkflowTaskMs: m('firstWorkflowTaskMs'),
      queueWaitMs: m('queueWaitMs'),
      activityMs: m('activityMs'),
      closeWorkflowTaskMs: m('closeWorkflowTaskMs'),
      parentNoticedMs: m('parentNoticedMs'),
    },
    queues: queues.size,
  };
}

function activityBreakdown(times: ParentTimes): { breakdown: Breakdown; queues: number } {
  const noops = times.activities.get('benchNoop') ?? [];
  return {
    breakdown: {
      queueWaitMs: median(noops.map((a) => a.startedMs! - a.scheduledMs)),
      activityMs: median(noops.map((a) => a.doneMs! - a.startedMs!)),
    },
    queues: new Set(noops.map((a) => a.queue)).size,
  };
}

/** Worker processes for the plain fan-outs, one per task queue, ready when each queue has a poller. */
async function startNoopWorkers(
  stack: LocalStack,
  queues: string[],
  slots: number,
): Promise<{ stop(): Promise<void> }> {
  const script = path.join(__dirname, 'engine-worker.js');
  const children: ChildProcess[] = queues.map((queue) =>
    spawn(process.execPath, [script, '--task-queue', queue, '--slots', String(slots)], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        SPOTDAG_LOG_LEVEL: 'ERROR',
        ...process.env,
        TEMPORAL_ADDRESS: stack.address,
        TEMPORAL_NAMESPACE: stack.namespace,
      },
    }),
  );
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    const deadline = Date.now() + 60_000;
    for (const queue of queues) {
      for (;;) {
        const response = await stack.client.workflowService.describeTaskQueue({
          namespace: stack.namespace,
          taskQueue: { name: queue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        });
        if ((response.pollers?.length ?? 0) > 0) break;
        if (children.some((c) => c.exitCode !== null)) throw new Error('a bench worker process exited');
        if (Date.now() > deadline) throw new Error(`no worker polls ${queue} after 60 s`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

interface RunContext {
  options: EngineBenchmarkOptions;
  fanOut: FanOutInput;
  policy: SubTaskPolicy;
  tag: string;
}

async function runMode(
  ctx: RunContext,
  mode: EngineMode,
  n: number,
  label: string,
  withBreakdown: boolean,
): Promise<{ run: EngineRun; oncePerJob?: OncePerJob }> {
  const { stack } = ctx.options;
  const client = stack.client;
  const workflowId = `bench-engine-${ctx.tag}-${label}-${mode}`;
  if (mode !== 'spotdag') {
    const handle = await client.workflow.start(
      mode === 'activities' ? 'benchActivityFanOut' : 'benchChildFanOut',
      { taskQueue: CONTROL_TASK_QUEUE, workflowId, args: [{ ...ctx.fanOut, n }] },
    );
    const done = (await handle.result()) as number;
    const times = parentTimes(await chainHistory(client, workflowId, handle.firstExecutionRunId), () => true);
    const detail = !withBreakdown
      ? undefined
      : mode === 'activities'
        ? activityBreakdown(times)
        : await childBreakdown(client, times);
    const phaseSeconds = (times.lastDoneMs - times.firstScheduledMs) / 1000;
    return {
      run: {
        mode,
        workflowId,
        phaseSeconds,
        perSubTaskMs: (phaseSeconds * 1000) / n,
        workflowSeconds: (times.closedMs - times.startedMs) / 1000,
        queues: detail?.queues,
        breakdown: detail?.breakdown,
        correct: done === n,
      },
    };
  }
  const { instances, slotsPerInstance } = ctx.options;
  const spec = {
    ...workloadJobSpec(n, { chunks: n, instances, slotsPerInstance, input: { unitMs: 0 } }),
    name: `bench-engine-${n}`,
  };
  const handle = await client.workflow.start('spotdagJob', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId,
    args: [spec, { subTaskPolicy: ctx.policy }],
  });
  const job = (await handle.result()) as JobResult;
  const times = parentTimes(await chainHistory(client, workflowId, handle.firstExecutionRunId), (id) =>
    id.startsWith(`${workflowId}/spin/`),
  );
  if (times.children.size !== n)
    throw new Error(`${workflowId}: ${times.children.size} no-op sub-tasks in its history, expected ${n}`);
  const detail = withBreakdown ? await childBreakdown(client, times) : undefined;
  const phaseSeconds = (times.lastDoneMs - times.firstScheduledMs) / 1000;
  const took = (name: string) => {
    const a = times.activities.get(name)?.[0];
    return a?.doneMs === undefined ? NaN : (a.doneMs - a.scheduledMs) / 1000;
  };
  return {
    run: {
      mode,
      workflowId,
      phaseSeconds,
      perSubTaskMs: (phaseSeconds * 1000) / n,
      workflowSeconds: (times.closedMs - times.startedMs) / 1000,
      queues: detail?.queues,
      breakdown: detail?.breakdown,
      correct: job.result === expectedWorkloadSum(1, n) && job.subTasks === n + 1,
    },
    oncePerJob: {
      decomposeJob: took('decomposeJob'),
      decide: took('decide'),
      launchInstances: took('launchInstances'),
      beforeRun: (times.firstScheduledMs - times.startedMs) / 1000,
      afterRun: (times.closedMs - times.lastDoneMs) / 1000,
      releaseInstances: took('releaseInstances'),
    },
  };
}

/** Runs the three modes `repeat` times each, interleaved, on the stack's server and control worker. */
export async function runEngineBenchmark(options: EngineBenchmarkOptions): Promise<EngineBenchmarkResult> {
  const log = options.log ?? (() => {});
  const { stack, subTasks: n, instances, slotsPerInstance } = options;
  const tag = Date.now().toString(36);
  const queues = Array.from({ length: instances }, (_, i) => `spotdag-bench-${tag}-q${i}`);
  const policy: SubTaskPolicy = { ...DEFAULT_SUBTASK_POLICY, ...stack.subTaskPolicy };
  const fanOut: FanOutInput = {
    n,
    taskQueues: queues,
    slotsPerQueue: slotsPerInstance,
    heartbeatTimeoutSeconds: policy.heartbeatTimeoutSeconds,
    scheduleToStartTimeoutSeconds: policy.scheduleToStartTimeoutSeconds,
    // runSubTask's: max(600 s, 10 × the estimate), and a no-op's estimate is tiny.
    startToCloseTimeoutSeconds: 600,
  };
  const ctx: RunContext = { options, fanOut, policy, tag };
  log(`starting ${instances} no-op worker processes (${slotsPerInstance} slots each)`);
  const workers = await startNoopWorkers(stack, queues, slotsPerInstance);
  const runs: EngineRun[] = [];
  const once: OncePerJob[] = [];
  try {
    if (options.warmup) {
      const w = Math.min(n, instances * slotsPerInstance * 2);
      for (const mode of ENGINE_MODES) {
        log(`warm-up: ${mode}, ${w} tasks`);
        await runMode(ctx, mode, w, 'warmup', false);
      }
    }
    for (let r = 0; r < options.repeat; r++) {
      for (const mode of ENGINE_MODES) {
        const last = r === options.repeat - 1;
        log(
          `run ${r + 1}/${options.repeat}: ${mode}, ${n} tasks${last && options.breakdown ? ' (+ histories)' : ''}`,
        );
        const { run, oncePerJob } = await runMode(ctx, mode, n, `r${r}`, last && options.breakdown);
        log(`  ${run.phaseSeconds.toFixed(2)} s, ${run.perSubTaskMs.toFixed(1)} ms per task`);
        runs.push(run);
        if (oncePerJob) once.push(oncePerJob);
      }
    }
  } finally {
    await workers.stop();
  }
  const perTask = (mode: EngineMode) =>
    median(runs.filter((r) => r.mode === mode).map((r) => r.perSubTaskMs));
  const plain = perTask('activities');
  const rows: EngineRow[] = ENGINE_MODES.map((mode) => ({
    mode,
    label: LABELS[mode],
    totalSeconds: median(runs.filter((r) => r.mode === mode).map((r) => r.phaseSeconds)),
    perSubTaskMs: perTask(mode),
    ratio: perTask(mode) / plain,
    runs: runs.filter((r) => r.mode === mode).map((r) => r.phaseSeconds),
  }));
  const overheadRatio = perTask('spotdag') / plain;
  const onceMedian = (k: keyof OncePerJob) => median(once.map((o) => o[k]));
  return {
    subTasks: n,
    instances,
    slotsPerInstance,
    concurrency: instances * slotsPerInstance,
    repeat: options.repeat,
    overheadRatio,
    overheadRatioVsChildren: perTask('spotdag') / perTask('children'),
    goal: { maxRatio: 1.5, met: overheadRatio <= 1.5 },
    rows,
    oncePerJob: {
      decomposeJob: onceMedian('decomposeJob'),
      decide: onceMedian('decide'),
      launchInstances: onceMedian('launchInstances'),
      beforeRun: onceMedian('beforeRun'),
      afterRun: onceMedian('afterRun'),
      releaseInstances: onceMedian('releaseInstances'),
    },
    measured: MEASURED,
    baseline: BASELINE,
    checkpointStore: stack.checkpointStore,
    temporal: stack.address,
    runs,
    node: process.version,
  };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, maxOf(rows.map((r) => r[i]!.length))));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatEngineBenchmark(r: EngineBenchmarkResult): string {
  const out: string[] = [];
  out.push(
    `${r.subTasks} no-op sub-tasks, ${r.instances} workers × ${r.slotsPerInstance} slots (${r.concurrency} at once), median of ${r.repeat}`,
    '',
    table(
      ['', 'total s', 'per sub-task ms', 'ratio'],
      r.rows.map((row) => [
        row.label,
        row.totalSeconds.toFixed(2),
        row.perSubTaskMs.toFixed(2),
        `${row.ratio.toFixed(2)}×`,
      ]),
    ),
    '',
    `overheadRatio (spotdag ÷ plain activities): ${r.overheadRatio.toFixed(2)}× — goal ≤ ${r.goal.maxRatio}×: ${r.goal.met ? 'met' : 'NOT met'}`,
    `spotdag ÷ plain children: ${r.overheadRatioVsChildren.toFixed(2)}×`,
  );
  const last = ENGINE_MODES.map((mode) => r.runs.filter((x) => x.mode === mode).at(-1)).filter(
    (x): x is EngineRun => !!x?.breakdown,
  );
  if (last.length) {
    const cell = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '' : v.toFixed(1));
    out.push(
      '',
      'where a sub-task’s time goes (last run, medians in ms, from histories; under load, so waits include queueing):',
      table(
        ['', 'child start', '1st wf task', 'queue wait', 'activity', 'close wf task', 'parent'],
        last.map((x) => [
          LABELS[x.mode],
          cell(x.breakdown!.childStartMs),
          cell(x.breakdown!.firstWorkflowTaskMs),
          cell(x.breakdown!.queueWaitMs),
          cell(x.breakdown!.activityMs),
          cell(x.breakdown!.closeWorkflowTaskMs),
          cell(x.breakdown!.parentNoticedMs),
        ]),
      ),
      `task queues used: ${last.map((x) => `${LABELS[x.mode]} ${x.queues}`).join(', ')}`,
    );
  }
  const o = r.oncePerJob;
  out.push(
    '',
    `spotdag once per job (median s, not in the per-sub-task figures): before the run ${o.beforeRun.toFixed(2)} ` +
      `(decompose ${o.decomposeJob.toFixed(2)}, first decision ${o.decide.toFixed(2)}, ` +
      `launch ${o.launchInstances.toFixed(2)}); after it ${o.afterRun.toFixed(2)} (reduce, release ${o.releaseInstances.toFixed(2)})`,
    '',
    `measured: ${r.measured}`,
    `baseline: ${r.baseline}`,
    `checkpoint store: ${r.checkpointStore}`,
  );
  if (r.runs.some((x) => !x.correct)) out.push('WARNING: a run returned a wrong result');
  return `${out.join('\n')}\n`;
}

export interface EngineCli extends LogFlags {
  subTasks: number;
  instances: number;
  slots: number;
  repeat: number;
  warmup: boolean;
  breakdown: boolean;
  json?: string;
}

/**
 * `spotdag bench engine`: a local stack (the configured Temporal server or a local dev server)
 * whose control worker runs spotdag's workflows and the plain fan-outs from one bundle.
 */
export async function runEngineBenchmarkCli(opts: EngineCli): Promise<EngineBenchmarkResult> {
  startCliLogs(opts);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log('bundling the workflows (spotdag + plain fan-outs)');
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./engine-workflows'),
    logger: new DefaultLogger('WARN', ({ level, message }) => log(`${level}: ${message}`)),
  });
  const stack = await startLocalStack({ stateDir: stateDir(), log, workflowBundle: { code } });
  try {
    const result = await stack.runUntil(() =>
      runEngineBenchmark({
        stack,
        subTasks: opts.subTasks,
        instances: opts.instances,
        slotsPerInstance: opts.slots,
        repeat: opts.repeat,
        warmup: opts.warmup,
        breakdown: opts.breakdown,
        log,
      }),
    );
    process.stdout.write(formatEngineBenchmark(result));
    if (opts.json) writeFileSync(opts.json, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    await stack.close();
  }
}
