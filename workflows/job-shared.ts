/**
 * What both versions of the job workflow share: options, phases, the progress query, search
 * attributes and the UI's current details, and small helpers over the compact plan. Workflow code.
 */
import { defineQuery, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { JobPlan, SubTaskPolicy } from '../src/job/types';
import { jobDetailsMarkdown, type JobProgress } from '../src/job/summary';

export interface JobRunOptions {
  /**
   * Sub-task children running at once (also bounded by instance slots). Default 500, at most
   * 2,000 (Temporal's limit of pending children per workflow).
   */
  maxChildrenInFlight?: number;
  /**
   * Children started by one run of the parent before it continues as new (it also does when
   * Temporal suggests so, as the history grows). Default 2,000.
   */
  maxChildrenPerRun?: number;
  /** Set spotdag's search attributes (they must be registered on the namespace). Default true. */
  searchAttributes?: boolean;
  /** Lost-instance detection and retry limits of every sub-task (defaults: DEFAULT_SUBTASK_POLICY). */
  subTaskPolicy?: Partial<SubTaskPolicy>;
  /**
   * A sub-task that still fails after its retries: `fail-job` (default) fails the job naming it;
   * `finish-rest` runs everything that does not depend on it and completes with
   * `failedSubTasks` / `skippedSubTasks` in the result.
   */
  onSubTaskFailure?: 'fail-job' | 'finish-rest';
  /**
   * A busy instance fetches the inputs of its next command sub-task from the artifact store while
   * it finishes the one before (default true).
   */
  prefetchInputs?: boolean;
}

export type JobPhase =
  'queued' | 'decompose' | 'forecast' | 'allocate' | 'provision' | 'run' | 'release' | 'done';

/** The job's progress, for clients (`spotdag run` draws its progress bars from it). */
export const progressQuery = defineQuery<JobProgress>('spotdagProgress');

const PHASE = defineSearchAttributeKey('SpotdagPhase', SearchAttributeType.KEYWORD);
const JOB_ID = defineSearchAttributeKey('SpotdagJobId', SearchAttributeType.KEYWORD);
const COST = defineSearchAttributeKey('SpotdagCostUsd', SearchAttributeType.DOUBLE);

/** Temporal's limit on pending child workflows of one workflow execution. */
export const MAX_PENDING_CHILDREN = 2_000;

export function newProgress(): JobProgress {
  return {
    phase: 'decompose',
    total: 0,
    done: 0,
    stages: [],
    running: 0,
    interruptions: 0,
    workLostSeconds: 0,
    workLostEstimatedSeconds: 0,
    workSavedSeconds: 0,
    costSoFarUsd: 0,
    plannedCostUsd: 0,
    plannedMakespanSeconds: 0,
    elapsedSeconds: 0,
  };
}

export interface JobTelemetry {
  /** Refreshes the UI's current details from `progress`. */
  publish(): void;
  /** A new phase: details and search attributes. */
  setPhase(phase: JobPhase): void;
}

/**
 * The progress query, the UI's current details and the search attributes of a job. One upsert
 * per phase change, carrying the cost so far too: the command sequence stays the same as in
 * histories recorded before the cost attribute existed (replay compares commands, not values).
 */
export function jobTelemetry(
  jobId: string,
  options: JobRunOptions,
  startedAtMs: number,
  progress: JobProgress,
): JobTelemetry {
  setHandler(progressQuery, () => ({ ...progress, elapsedSeconds: (Date.now() - startedAtMs) / 1000 }));
  const publish = () => {
    progress.elapsedSeconds = (Date.now() - startedAtMs) / 1000;
    setCurrentDetails(jobDetailsMarkdown(progress));
  };
  const setPhase = (phase: JobPhase) => {
    progress.phase = phase;
    publish();
    if (options.searchAttributes === false) return;
    upsertSearchAttributes([
      { key: PHASE, value: phase },
      { key: COST, value: progress.costSoFarUsd },
    ]);
  };
  if (options.searchAttributes !== false) upsertSearchAttributes([{ key: JOB_ID, value: jobId }]);
  return { publish, setPhase };
}

/** Indices of the sub-tasks no other sub-task depends on. */
export function sinksOf(plan: Pick<JobPlan, 'ids' | 'deps'>): number[] {
  const hasDependents = new Set(plan.deps.flat());
  return plan.ids.map((_, i) => i).filter((i) => !hasDependents.has(i));
}

/** The output of the single sink, or outputs by id when the DAG has several sinks. */
export function finalResult(plan: Pick<JobPlan, 'ids' | 'deps'>, outputs: Record<string, unknown>): unknown {
  const sinks = sinksOf(plan).map((i) => plan.ids[i]!);
  if (sinks.length === 1) return outputs[sinks[0]!];
  return Object.fromEntries(sinks.map((id) => [id, outputs[id]]));
}

/** The innermost message of a failure chain (child → activity → the step's own error). */
export function rootCause(error: unknown): string {
  let current = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

export function insertSorted(list: number[], item: number, compare: (a: number, b: number) => number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(list[mid]!, item) < 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, item);
}
