import { temporal } from '@temporalio/proto';
import { fetchReportModel } from '../../cli/commands/report';
import type { JobResult } from '../../src/job/types';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import { expectedWorkloadSum, workloadJobSpec } from '../../src/steps';
import { maxOf } from '../../src/util/array';
import { progressQuery, spotdagJob } from '../../workflows';
import { recordHistory, startTestStack, stopAllInstances, uniqueId } from './helpers';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Temporal's default limits (the dev server's too). */
const MAX_EVENTS_PER_RUN = 51_200;
const MAX_PENDING_CHILDREN = 2_000;
const MAX_PAYLOAD_BYTES = 2 * 1024 * 1024;

const SUB_TASKS = 10_000;
const INSTANCES = 4;
const SLOTS_PER_INSTANCE = 8;
/** Below the 32 slots, so that the window, not the slots, is what bounds the children in flight. */
const WINDOW = 24;

/** Pending children over a run's history: +1 per initiated start, −1 per child that ended or failed to start. */
function maxPendingChildren(events: HistoryEvent[]): { max: number; atEnd: number } {
  let pending = 0;
  let max = 0;
  for (const e of events) {
    if (e.startChildWorkflowExecutionInitiatedEventAttributes) pending++;
    else if (
      e.childWorkflowExecutionCompletedEventAttributes ||
      e.childWorkflowExecutionFailedEventAttributes ||
      e.childWorkflowExecutionCanceledEventAttributes ||
      e.childWorkflowExecutionTimedOutEventAttributes ||
      e.childWorkflowExecutionTerminatedEventAttributes ||
      e.startChildWorkflowExecutionFailedEventAttributes
    )
      pending--;
    max = Math.max(max, pending);
  }
  return { max, atEnd: pending };
}

/** The largest event of a run, encoded: an upper bound of any payload it carries. */
function largestEventBytes(events: HistoryEvent[]): number {
  return maxOf(events.map((e) => temporal.api.history.v1.HistoryEvent.encode(e).finish().length));
}

describe('scale', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stopAllInstances(stack);
    await stack.close();
  });

  /** Every run of the parent, along the continue-as-new chain. */
  async function runsOf(workflowId: string, firstRunId: string): Promise<HistoryEvent[][]> {
    const runs: HistoryEvent[][] = [];
    for (let runId: string | undefined = firstRunId; runId;) {
      const history: temporal.api.history.v1.IHistory = await stack.client.workflow
        .getHandle(workflowId, runId)
        .fetchHistory();
      const events: HistoryEvent[] = history.events ?? [];
      runs.push(events);
      runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
    }
    return runs;
  }

  const childIdsOf = (runs: HistoryEvent[][]) =>
    runs.flatMap((events) =>
      events.flatMap((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? []),
    );

  it('continues as new every few children and carries the job across runs', async () => {
    const workflowId = uniqueId('runs');
    const spec = workloadJobSpec(40, { chunks: 20, instances: 2, slotsPerInstance: 2, input: { unitMs: 0 } });
    const { result, firstRunId, progress } = await stack.runUntil(async () => {
      const handle = await stack.client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [spec, { maxChildrenPerRun: 6 }],
      });
      const result = (await handle.result()) as JobResult;
      // The handle's queries go to the latest run, whose progress counts every run's sub-tasks.
      return { result, firstRunId: handle.firstExecutionRunId, progress: await handle.query(progressQuery) };
    });
    expect(result.result).toBe(expectedWorkloadSum(1, 40));
    expect(result.subTasks).toBe(21);
    expect(progress).toMatchObject({ phase: 'done', done: 21, total: 21, running: 0 });
    expect(progress.stages).toEqual([
      { stage: 'spin', done: 20, total: 20 },
      { stage: 'total', done: 1, total: 1 },
    ]);
    const runs = await runsOf(workflowId, firstRunId);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    for (const events of runs.slice(0, -1)) {
      expect(events.at(-1)!.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
      expect(maxPendingChildren(events).atEnd).toBe(0);
      // Only the last run releases the instances.
      expect(
        events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'releaseInstances'),
      ).toBe(false);
    }
    await recordHistory(stack.client, 'spotdagJob-continued-first-run', workflowId, firstRunId);
    await recordHistory(stack.client, 'spotdagJob-continued-last-run', workflowId);
    const childIds = childIdsOf(runs);
    expect(childIds.length).toBe(21);
    expect(new Set(childIds).size).toBe(21);
    expect(await stack.provisioner.list(workflowId)).toEqual([]);
    // `spotdag report` follows the runs and reads the plan from the checkpoint store.
    const report = await fetchReportModel(stack.client, workflowId, stack.checkpointStore);
    expect(report.status).toBe('completed');
    expect(report.totals).toMatchObject({ subTasks: 21, subTasksDone: 21, instancesPlanned: 2 });
  });

  it(`a ${SUB_TASKS}-sub-task job completes within Temporal's limits`, async () => {
    const workflowId = uniqueId('scale');
    const spec = workloadJobSpec(SUB_TASKS, {
      chunks: SUB_TASKS,
      instances: INSTANCES,
      slotsPerInstance: SLOTS_PER_INSTANCE,
      input: { unitMs: 0 },
    });
    const startedAt = Date.now();
    const { result, firstRunId } = await stack.runUntil(async () => {
      const handle = await stack.client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [spec, { maxChildrenInFlight: WINDOW }],
      });
      // result() follows the continue-as-new chain to the last run.
      return { result: (await handle.result()) as JobResult, firstRunId: handle.firstExecutionRunId };
    });
    const seconds = (Date.now() - startedAt) / 1000;
    expect(result.result).toBe(expectedWorkloadSum(1, SUB_TASKS));
    expect(result.subTasks).toBe(SUB_TASKS + 1);

    const runs = await runsOf(workflowId, firstRunId);
    const figures = runs.map((events) => ({
      events: events.length,
      children: events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length,
      pending: maxPendingChildren(events),
      largestEventBytes: largestEventBytes(events),
    }));
    process.stderr.write(
      `scale: ${SUB_TASKS + 1} sub-tasks in ${seconds.toFixed(1)} s over ${runs.length} runs\n` +
        figures
          .map(
            (f, i) =>
              `  run ${i}: ${f.events} events, ${f.children} children, ` +
              `max pending ${f.pending.max}, largest event ${f.largestEventBytes} B\n`,
          )
          .join(''),
    );

    expect(runs.length).toBeGreaterThan(1); // it continued as new
    for (const f of figures) {
      expect(f.events).toBeLessThan(MAX_EVENTS_PER_RUN);
      expect(f.pending.max).toBeLessThanOrEqual(WINDOW);
      expect(f.pending.max).toBeLessThan(MAX_PENDING_CHILDREN);
      expect(f.pending.atEnd).toBe(0); // no run left a child behind
      expect(f.largestEventBytes).toBeLessThan(MAX_PAYLOAD_BYTES);
    }
    // The window was full at times: it, not a lack of ready work or of slots, held the rest back.
    expect(maxOf(figures.map((f) => f.pending.max))).toBe(WINDOW);
    // Each sub-task's child was started exactly once, across all runs.
    const childIds = childIdsOf(runs);
    expect(childIds.length).toBe(SUB_TASKS + 1);
    expect(new Set(childIds).size).toBe(SUB_TASKS + 1);
  }, 900_000);
});
