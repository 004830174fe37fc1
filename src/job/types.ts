/**
 * What crosses activity and workflow boundaries while a job runs: plain JSON, no classes.
 * Workflow code imports these as types only.
 */
import type { Preferences } from '../allocate/preferences';
import type { SubTaskAttributes } from '../dag';
import type { DocumentRef } from '../checkpoint/types';
import type { FleetSpec } from '../provision/fleet';
import type { JobTenancy } from '../tenancy/types';

/** A sub-task of the decomposed DAG, with its dependencies listed (in topological order). */
export interface PlannedSubTask extends SubTaskAttributes {
  /** The sub-tasks whose outputs it needs, with the bytes each sends. */
  dependsOn: Array<{ id: string; bytes: number }>;
}

export interface DecomposedJob {
  jobId: string;
  name: string;
  fleet: FleetSpec;
  preferences: Preferences;
  subTasks: PlannedSubTask[];
  criticalPathSeconds: number;
  totalWorkSeconds: number;
  maxParallelism: number;
}

/**
 * A job-wide document (the decomposed job, the schedule): in the checkpoint store by reference,
 * or inline when the control worker has no store (then job size is bounded by Temporal's 2 MB
 * payload limit).
 */
export type PlanDocument<T> = { stored: DocumentRef } | { inline: T };

/**
 * What `decomposeJob` returns: the decomposed job by reference, plus the compact form the parent
 * workflow schedules from. Every per-sub-task list is indexed like `ids` (topological order).
 */
export interface JobPlan {
  jobId: string;
  name: string;
  fleet: FleetSpec;
  preferences: Preferences;
  job: PlanDocument<DecomposedJob>;
  ids: string[];
  /** Indices (into `ids`) of each sub-task's dependencies. */
  deps: number[][];
  /**
   * Stage names in the order they first appear, with their sub-task counts and their step (plans
   * made before it was recorded have none).
   */
  stages: Array<{ stage: string; count: number; step?: string }>;
  /** Per sub-task: its stage (index into `stages`) and its index within the stage. */
  stageOf: number[];
  indexInStage: number[];
  durationSeconds: number[];
  criticalPathSeconds: number;
  totalWorkSeconds: number;
  maxParallelism: number;
  /** The job's tenant, priority and fleet, when tenants are configured or the spec names one. */
  tenancy?: JobTenancy;
}

/** What `allocateSubTasks` returns: the schedule by reference, plus what the parent needs of it. */
export interface SchedulePlan {
  schedule: PlanDocument<Schedule>;
  instances: InstancePlan[];
  /** Sub-task indices (into `JobPlan.ids`) in the order the runtime should start them. */
  order: number[];
  /** Per sub-task: the index into `instances` of the instance it is placed on. */
  placedOn: number[];
  predictedMakespanSeconds: number;
  predictedCostUsd: number;
}

/** Capacity of one kind in one place: an instance type in a zone, bought on one market. */
export interface PoolView {
  key: string;
  instanceType: string;
  zone: string;
  market: 'spot' | 'on-demand' | 'local';
  vcpu: number;
  memoryMiB: number;
  /** Predicted price per instance-hour (USD), one value per forecast step. */
  pricePerHour: number[];
  stepSeconds: number;
  /** Predicted interruptions per instance-hour. */
  interruptionsPerHour: number;
  /** Spot pools (EC2) only: the zone's region. */
  region?: string;
  /** Spot pools only: the price of the same capacity on-demand (the allocator offers both markets). */
  onDemandPricePerHour?: number;
  /** Spot pools only: a high quantile of the spot price per step (the basis of MaxPrice). */
  upperPricePerHour?: number[];
}

export interface MarketView {
  generatedAtMs: number;
  horizonSeconds: number;
  pools: PoolView[];
}

/** One instance the schedule asks for; `id` is logical (i0, i1, …) until provisioned. */
export interface InstancePlan {
  id: string;
  pool: string;
  /** Sub-tasks it runs at once. */
  slots: number;
  /** Market to buy it on (EC2); default spot. The provider may fall back to on-demand. */
  market?: 'spot' | 'on-demand';
  /** Price cap per instance-hour (USD) from the forecast: spot MaxPrice, spend bound of on-demand. */
  maxPricePerHour?: number;
}

export interface Placement {
  subTaskId: string;
  instanceId: string;
  /** Predicted start and finish, seconds from the job's start. */
  start: number;
  finish: number;
}

/** Data that must move between instances before a sub-task can start. */
export interface TransferInstruction {
  from: string;
  to: string;
  fromInstance: string;
  toInstance: string;
  bytes: number;
  seconds: number;
}

export interface Schedule {
  instances: InstancePlan[];
  /** In the order the runtime should start them. */
  placements: Placement[];
  transfers: TransferInstruction[];
  predictedMakespanSeconds: number;
  predictedCostUsd: number;
}

export interface ProvisionedInstance {
  id: string;
  taskQueue: string;
  pool: string;
  /** The schedule's logical instance id it fulfils. */
  planId: string;
  /** Provider-specific handle (a process id, an EC2 instance id). */
  handle: string;
  /** The job it serves (as `Provisioner.list` reports it). */
  jobId?: string;
}

/** How a sub-task detects a lost instance and how often it retries. */
export interface SubTaskPolicy {
  /** An instance that sends no heartbeat for this long is presumed lost. */
  heartbeatTimeoutSeconds: number;
  /** Work not picked up by its instance within this long means the instance is lost. */
  scheduleToStartTimeoutSeconds: number;
  /** Attempts after application failures (each rolls back to the previous good checkpoint). */
  maxAttempts: number;
  /** Moves to another instance after lost instances. */
  maxRelocations: number;
}

export const DEFAULT_SUBTASK_POLICY: SubTaskPolicy = {
  heartbeatTimeoutSeconds: 30,
  scheduleToStartTimeoutSeconds: 300,
  maxAttempts: 3,
  maxRelocations: 10,
};

/** A provisioned instance as a child workflow sees it. */
export interface InstanceRef {
  id: string;
  taskQueue: string;
}

/** What a child needs to know of its sub-task when the full definition is read by reference. */
export interface SubTaskBrief {
  id: string;
  stage: string;
  durationSeconds: number;
}

/** What the sub-task child workflow is asked to do. */
export interface SubTaskRun {
  jobId: string;
  /** The full definition, or only its brief when `job` says where the definition is. */
  subTask: PlannedSubTask | SubTaskBrief;
  /** The decomposed job in the checkpoint store: the instance reads the sub-task's definition there. */
  job?: DocumentRef;
  instance: InstanceRef;
  /**
   * Outputs of dependencies that are not in the checkpoint store, by sub-task id (the instance
   * reads the others from the store). Histories of older versions carry every output here.
   */
  inputs?: Record<string, unknown>;
  policy?: SubTaskPolicy;
  /**
   * `parent`: the parent workflow decides where the work goes when its instance is lost (the
   * runtime controller); the child reports and waits. Absent (older parents): the child relocates
   * itself through the `relocateSubTask` activity.
   */
  moves?: 'parent';
}

/** Why a sub-task left an instance. */
export interface Relocation {
  from: string;
  to: string;
  /**
   * Lost instances: `heartbeat-timeout`, `schedule-to-start-timeout`, `interrupted` (a spot
   * notice), `instance-lost` (another sub-task found it lost); the controller's own moves:
   * `stopped` (its work was cut, or the deadline safety net moved it to on-demand).
   */
  reason: 'heartbeat-timeout' | 'schedule-to-start-timeout' | 'interrupted' | 'instance-lost' | 'stopped';
  atMs: number;
  /**
   * Progress of the lost attempt at its last heartbeat (or at the notice) and of its last
   * checkpoint; absent when the attempt never started or said nothing. The difference is the work lost.
   */
  progress?: number;
  checkpointProgress?: number;
  /** When the instance died, as its provider saw it (moves the provider reported). */
  diedAtMs?: number;
}

/**
 * What a command sub-task's attempt moved to and from the artifact store (docs/commands.md):
 * its inputs (of which `fetchedBytes` were fetched by the attempt itself, the rest being in the
 * instance's cache already, prefetched or used before), its outputs and its checkpoint archives.
 */
export interface SubTaskTransfers {
  inputFiles: number;
  inputBytes: number;
  fetchedBytes: number;
  /** Time from the first input requested to the last one in place. */
  inputSeconds: number;
  outputFiles: number;
  outputBytes: number;
  outputSeconds: number;
  checkpoints: number;
  checkpointBytes: number;
}

/** What `prefetchInputs` did on an instance: the inputs it put in the instance's cache. */
export interface PrefetchOutcome {
  subTaskId: string;
  instanceId: string;
  files: number;
  bytes: number;
  /** Bytes it fetched (the rest was cached already). */
  fetchedBytes: number;
  seconds: number;
}

export interface SubTaskOutcome {
  subTaskId: string;
  instanceId: string;
  output: unknown;
  /** The output is in the checkpoint store, where dependents read it (absent in older versions). */
  stored?: boolean;
  attempts: number;
  relocations: Relocation[];
  /** Progress of the checkpoint the final attempt resumed from (0: it started from scratch). */
  resumedFromProgress?: number;
  /** When that checkpoint was written (absent: it started from scratch, or an older version). */
  resumedFromCheckpointAtMs?: number;
  /** A command's transfers in its final attempt (absent for registered steps and older versions). */
  transfers?: SubTaskTransfers;
  startedAtMs: number;
  finishedAtMs: number;
}

export interface JobResult {
  jobId: string;
  name: string;
  /** Output of the job's single final sub-task, or outputs by id when there are several. */
  result: unknown;
  subTasks: number;
  instances: number;
  predictedMakespanSeconds: number;
  predictedCostUsd: number;
  /** Sum of each sub-task's share of its instance's price while it ran. */
  costUsd: number;
  /** Lost instances that sub-tasks moved away from. */
  interruptions: number;
  /**
   * Work redone after lost instances: from the last checkpoint to the instance's death (when its
   * provider saw it, or the heartbeat timeout's firing when no one did), else the progress its
   * last heartbeat reported past the checkpoint (see src/job/work-accounting.ts).
   */
  workLostSeconds: number;
  /**
   * Of workLostSeconds, what was counted to a heartbeat timeout because the death time was not
   * known: an upper bound (the instance died between its last heartbeat and then).
   */
  workLostEstimatedSeconds?: number;
  /** Estimated work that checkpoints kept from being redone. */
  workSavedSeconds: number;
  elapsedSeconds: number;
  /**
   * With `onSubTaskFailure: 'finish-rest'`: the sub-tasks that failed after their retries, and the
   * sub-tasks that could not run because they depend on one (absent when none failed).
   */
  failedSubTasks?: Array<{ subTaskId: string; error: string }>;
  skippedSubTasks?: string[];
  /** What the runtime controller did (jobs since the controller; absent in older results). */
  controller?: ControllerSummary;
}

export interface ControllerSummary {
  /** Calls of the `decide` activity. */
  decisions: number;
  /** Sub-tasks cut into pieces at runtime, and the pieces they became. */
  resplits: number;
  pieces: number;
  /** The deadline safety net engaged at some point (tight work to on-demand). */
  safetyNet: boolean;
  /** Instances launched, by market (a local free fleet counts as on-demand). */
  spotInstances: number;
  onDemandInstances: number;
  /** Spot launches the market refused. */
  refusedLaunches: number;
}
