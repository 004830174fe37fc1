import type { DirectedGraph } from 'graphology';

/** Inclusive integer range. */
export interface IntRange {
  start: number;
  end: number;
}

/** A file or folder a command writes, with its expected size when known. */
export interface DeclaredOutput {
  path: string;
  bytes?: number;
}

/** What a command sub-task runs (docs/commands.md): argv or a shell line, with its surroundings. */
export interface CommandSpec {
  /** Program and arguments; or `shell`. */
  argv?: string[];
  /** A line for /bin/sh -c; or `argv`. */
  shell?: string;
  env?: Record<string, string>;
  workdir?: string;
  /** Paths of the dependencies' outputs it reads (default: all). */
  inputs?: string[];
  /** Paths it must write (default: whatever it writes). */
  outputs?: DeclaredOutput[];
}

/** The `step` of a command sub-task (it runs `command`, not a registered handler). */
export const COMMAND_STEP = 'command';

/** One node of the DAG: a sub-task with its estimated needs on the reference instance. */
export interface SubTaskAttributes {
  /** `<stageId>/<index zero-padded to 4+ digits>`, or the stage id for a single-node stage. */
  id: string;
  stage: string;
  /** A registered step's name, or COMMAND_STEP for a command. */
  step: string;
  /** The program it runs, for a command sub-task. */
  command?: CommandSpec;
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
