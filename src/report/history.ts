/**
 * What a report needs from a job's workflow history: the planning activities' results, the
 * provisioned instances, the children's outcomes and the job's own end. Pure: the caller fetches
 * the history and supplies the payload decoder (the client's payload converter).
 */
import type { History, Payload } from '@temporalio/common/lib/proto-utils';
import type { JobTenancy } from '../tenancy/types';
import type { DocumentRef } from '../checkpoint/types';
import type {
  DecomposedJob,
  JobResult,
  MarketView,
  ProvisionedInstance,
  Schedule,
  SubTaskOutcome,
} from '../job/types';
import type { DecideResponse, LaunchResult } from '../job/decisions';

export type JobStatus =
  'running' | 'completed' | 'failed' | 'canceled' | 'terminated' | 'timed-out' | 'continued-as-new';

/** A sub-task child that was started but has not completed (still running, failed, …). */
export interface UnfinishedSubTask {
  subTaskId: string;
  workflowId: string;
  state: 'starting' | 'running' | 'failed' | 'canceled' | 'terminated' | 'timed-out';
  /** When the child started (its ChildWorkflowExecutionStarted event), if it did. */
  startedAtMs?: number;
  /** When it ended without a result, if it did. */
  endedAtMs?: number;
}

/** Everything the report model is built from; each part is absent if the job never got there. */
export interface ReportInput {
  workflowId: string;
  workflowType?: string;
  status: JobStatus;
  startedAtMs?: number;
  closedAtMs?: number;
  /** The run phase began: the first sub-task child was initiated. */
  runStartedAtMs?: number;
  job?: DecomposedJob;
  market?: MarketView;
  schedule?: Schedule;
  instances?: ProvisionedInstance[];
  outcomes: SubTaskOutcome[];
  unfinished: UnfinishedSubTask[];
  result?: JobResult;
  /** The failure message of a failed job. */
  failure?: string;
  /** The tenant, priority and fleet of a job on a shared fleet (docs/tenants.md). */
  tenancy?: JobTenancy;
  /** Where the decomposed job and the schedule are when they were planned by reference. */
  jobDocument?: DocumentRef;
  scheduleDocument?: DocumentRef;
}

export type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === null || value === undefined) return 0;
  return Number(String(value)); // Long
}

export function timeMs(t: Timestamp): number | undefined {
  if (!t) return undefined;
  return toNumber(t.seconds) * 1000 + (t.nanos ?? 0) / 1e6;
}

function firstPayload(payloads: { payloads?: Payload[] | null } | null | undefined): Payload | undefined {
  return payloads?.payloads?.[0] ?? undefined;
}

/** The sub-task id of a child `<jobId>/<subTaskId>`. */
function subTaskIdOf(jobId: string, childWorkflowId: string): string {
  return childWorkflowId.startsWith(`${jobId}/`) ? childWorkflowId.slice(jobId.length + 1) : childWorkflowId;
}

/** Reads one run of a spotdagJob (see reportInputFromRuns). */
export function reportInputFromHistory(
  workflowId: string,
  history: History,
  decode: (payload: Payload) => unknown,
): ReportInput {
  return reportInputFromRuns(workflowId, [history], decode);
}

/**
 * Reads a spotdagJob's runs (oldest first: a job that continued as new has several). Planning
 * results are taken from the first completion of each planning activity; children are matched to
 * their initiation by workflow id; the status is the last run's.
 */
export function reportInputFromRuns(
  workflowId: string,
  runs: History[],
  decode: (payload: Payload) => unknown,
): ReportInput {
  const input: ReportInput = { workflowId, status: 'running', outcomes: [], unfinished: [] };
  const children = new Map<string, UnfinishedSubTask>();
  for (const history of runs) readRun(input, history, children, decode);
  input.unfinished = [...children.values()];
  return input;
}

function readRun(
  input: ReportInput,
  history: History,
  children: Map<string, UnfinishedSubTask>,
  decode: (payload: Payload) => unknown,
): void {
  const { workflowId } = input;
  const activityNames = new Map<string, string>(); // event ids start again in every run
  const decodeFirst = (payloads: Parameters<typeof firstPayload>[0]): unknown => {
    const payload = firstPayload(payloads);
    return payload ? decode(payload) : undefined;
  };
  const child = (
    execution: { workflowId?: string | null } | null | undefined,
  ): UnfinishedSubTask | undefined =>
    execution?.workflowId ? children.get(execution.workflowId) : undefined;

  for (const event of history.events ?? []) {
    const at = timeMs(event.eventTime as Timestamp);
    const id = String(event.eventId);
    if (event.workflowExecutionStartedEventAttributes) {
      input.startedAtMs ??= at;
      input.workflowType ??= event.workflowExecutionStartedEventAttributes.workflowType?.name ?? undefined;
    } else if (event.activityTaskScheduledEventAttributes) {
      activityNames.set(id, event.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    } else if (event.activityTaskCompletedEventAttributes) {
      const attrs = event.activityTaskCompletedEventAttributes;
      const name = activityNames.get(String(attrs.scheduledEventId));
      if (name === 'decomposeJob' && !input.job && !input.jobDocument) {
        const result = decodeFirst(attrs.result);
        const plan = planned<DecomposedJob>(result, 'subTasks', 'job');
        input.job = plan.full;
        input.jobDocument = plan.stored;
        const tenancy = (result as { tenancy?: JobTenancy } | undefined)?.tenancy;
        if (tenancy) input.tenancy = tenancy;
      } else if (name === 'forecastMarket' && !input.market)
        input.market = decodeFirst(attrs.result) as MarketView;
      else if (name === 'allocateSubTasks' && !input.schedule && !input.scheduleDocument) {
        const plan = planned<Schedule>(decodeFirst(attrs.result), 'placements', 'schedule');
        input.schedule = plan.full;
        input.scheduleDocument = plan.stored;
      } else if (name === 'provisionInstances' && !input.instances)
        input.instances = decodeFirst(attrs.result) as ProvisionedInstance[];
      else if (name === 'decide') readDecision(input, decodeFirst(attrs.result) as DecideResponse);
      else if (name === 'launchInstances') readLaunches(input, decodeFirst(attrs.result) as LaunchResult);
    } else if (event.startChildWorkflowExecutionInitiatedEventAttributes) {
      const childId = event.startChildWorkflowExecutionInitiatedEventAttributes.workflowId ?? '';
      input.runStartedAtMs ??= at;
      children.set(childId, {
        subTaskId: subTaskIdOf(workflowId, childId),
        workflowId: childId,
        state: 'starting',
      });
    } else if (event.childWorkflowExecutionStartedEventAttributes) {
      const c = child(event.childWorkflowExecutionStartedEventAttributes.workflowExecution);
      if (c) Object.assign(c, { state: 'running', startedAtMs: at });
    } else if (event.childWorkflowExecutionCompletedEventAttributes) {
      const attrs = event.childWorkflowExecutionCompletedEventAttributes;
      const outcome = decodeFirst(attrs.result) as SubTaskOutcome | undefined;
      if (outcome) input.outcomes.push({ ...outcome, relocations: outcome.relocations ?? [] });
      if (attrs.workflowExecution?.workflowId) children.delete(attrs.workflowExecution.workflowId);
    } else if (event.childWorkflowExecutionFailedEventAttributes) {
      const c = child(event.childWorkflowExecutionFailedEventAttributes.workflowExecution);
      if (c) Object.assign(c, { state: 'failed', endedAtMs: at });
    } else if (event.childWorkflowExecutionCanceledEventAttributes) {
      const c = child(event.childWorkflowExecutionCanceledEventAttributes.workflowExecution);
      if (c) Object.assign(c, { state: 'canceled', endedAtMs: at });
    } else if (event.childWorkflowExecutionTerminatedEventAttributes) {
      const c = child(event.childWorkflowExecutionTerminatedEventAttributes.workflowExecution);
      if (c) Object.assign(c, { state: 'terminated', endedAtMs: at });
    } else if (event.childWorkflowExecutionTimedOutEventAttributes) {
      const c = child(event.childWorkflowExecutionTimedOutEventAttributes.workflowExecution);
      if (c) Object.assign(c, { state: 'timed-out', endedAtMs: at });
    } else if (event.workflowExecutionCompletedEventAttributes) {
      input.status = 'completed';
      input.closedAtMs = at;
      input.result = decodeFirst(event.workflowExecutionCompletedEventAttributes.result) as JobResult;
    } else if (event.workflowExecutionFailedEventAttributes) {
      input.status = 'failed';
      input.closedAtMs = at;
      input.failure = failureMessages(event.workflowExecutionFailedEventAttributes.failure);
    } else if (event.workflowExecutionCanceledEventAttributes) {
      input.status = 'canceled';
      input.closedAtMs = at;
    } else if (event.workflowExecutionTerminatedEventAttributes) {
      input.status = 'terminated';
      input.closedAtMs = at;
      input.failure = event.workflowExecutionTerminatedEventAttributes.reason ?? undefined;
    } else if (event.workflowExecutionTimedOutEventAttributes) {
      input.status = 'timed-out';
      input.closedAtMs = at;
    } else if (event.workflowExecutionContinuedAsNewEventAttributes) {
      input.status = 'continued-as-new';
      input.closedAtMs = at;
    }
  }
}

/** A controlled job's first decision: the plan it started from and the market it saw. */
function readDecision(input: ReportInput, response: DecideResponse | undefined): void {
  if (!response || input.schedule || input.scheduleDocument) return;
  const plan = planned<Schedule>(response, 'placements', 'schedule');
  input.schedule = plan.full;
  input.scheduleDocument = plan.stored;
  input.market ??= response.market;
}

/** A controlled job launches over time: its instances are every launch's. */
function readLaunches(input: ReportInput, result: LaunchResult | undefined): void {
  for (const l of result?.launched ?? [])
    (input.instances ??= []).push({
      id: l.id,
      taskQueue: l.taskQueue,
      pool: l.pool,
      planId: l.planId,
      handle: l.id,
    });
}

type FailureLike = { message?: string | null; cause?: FailureLike | null } | null | undefined;

/** The messages of a failure and its causes, outermost first. */
function failureMessages(failure: FailureLike): string | undefined {
  const messages: string[] = [];
  for (let f = failure; f; f = f.cause) if (f.message) messages.push(f.message);
  return messages.length ? messages.join(' ← ') : undefined;
}

/**
 * A planning activity's result: the full document (versions before references, or inline when the
 * control worker had no checkpoint store), or the reference of a document in the checkpoint store
 * (the caller reads it there).
 */
function planned<T>(
  result: unknown,
  fullKey: string,
  documentKey: string,
): { full?: T; stored?: DocumentRef } {
  if (typeof result !== 'object' || result === null) return {};
  if (fullKey in result) return { full: result as T };
  const document = (result as Record<string, unknown>)[documentKey] as
    { inline?: T; stored?: DocumentRef } | undefined;
  return { full: document?.inline, stored: document?.stored };
}
