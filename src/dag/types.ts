import type { DirectedGraph } from 'graphology';

/** Inclusive integer range. */
export interface IntRange {
  start: number;
  end: number;
}

/** One node of the DAG: a sub-task with its estimated needs on the reference instance. */
export interface SubTaskAttributes {
  /** `<stageId>/<index zero-padded to 4+ digits>`, or the stage id for a single-node stage. */
  id: string;
  stage: string;
  step: string;
  /** What made it: a JobSpec stage kind, or `task` for an imported workflow task. */
  kind?: 'step' | 'split' | 'reduce' | 'task';
  /** Inclusive integer range, for sub-tasks of split stages over a range. */
  range?: IntRange;
  /** JSON input: a step's `input`, or the chunk of items of a split over items. */
  input?: unknown;
  /** Cores. */
  cpu: number;
  memoryMiB: number;
  /** Estimated run time on the reference instance (work only, no per-sub-task overhead). */
  durationSeconds: number;
  /** Relative standard deviation of `durationSeconds` (0.2 = ±20 %). */
  durationUncertainty: number;
  /**
   * Upward rank: seconds of estimated work on the longest path from this sub-task to the end of
   * the job, its own duration included. Higher means more urgent.
   */
  priority: number;
  /** Position within its stage. */
  index: number;
  /** Number of sub-tasks in its stage. */
  count: number;
}

/** An edge source → target: the target needs the source's output. */
export interface DependencyAttributes {
  /** Estimated bytes the source sends to the target. */
  bytes: number;
}

export type TaskDag = DirectedGraph<SubTaskAttributes, DependencyAttributes>;
