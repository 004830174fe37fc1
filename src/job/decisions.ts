/**
 * What crosses the boundary between the job workflow (the controller's driver) and the `decide`
 * activity (the controller). Plain, compact JSON: a job of 10,000 sub-tasks calls `decide` many
 * times, and every call is in the workflow's history.
 */
import type { DocumentRef } from '../checkpoint/types';
import type { ControllerEventKind, ControllerMemory, Resplit } from '../controller/types';
import type { SpotdagSchedule } from '../allocate/types';
import type { DecomposedJob, InstancePlan, MarketView, PlanDocument, PlannedSubTask } from './types';

/** An instance of the job as the workflow knows it. */
export interface JobInstance {
  /** The plan's logical id (`i0`, `i1`, …): stable across decisions. */
  planId: string;
  pool: string;
  market: 'spot' | 'on-demand';
  maxPricePerHour: number;
  /** Predicted price per hour when it was planned (cost so far is counted with it). */
  pricePerHour: number;
  slots: number;
  /** When the plan wants it launched (job seconds). */
  launchAt?: number;
  /** Set once launched: the provider's id, its task queue, when (workflow ms). */
  id?: string;
  taskQueue?: string;
  launchedAtMs?: number;
  /** Set when lost or released (workflow ms). */
  endedAtMs?: number;
  lost?: boolean;
  /** A launch is under way. */
  launching?: boolean;
  /** On a fleet with tenants: its lease was asked for, and granted (it may launch). */
  leaseRequested?: boolean;
  leased?: boolean;
}

/** Why the workflow calls `decide`, and what it saw since the last call. */
export interface DecideEvent {
  kind: ControllerEventKind;
  /** Pools whose instances were lost (spot) or refused a launch since the last call. */
  lostPools: string[];
  refusedPools: string[];
}

export interface DecideRequest {
  jobId: string;
  /** The decomposed job (by reference or inline) and the cuts applied to it so far, in order. */
  job: PlanDocument<DecomposedJob>;
  resplits: Resplit[];
  /** Wall-clock ms of the job's start (second 0 of every plan). */
  startedAtMs: number;
  nowSeconds: number;
  event: DecideEvent;
  /** One character per sub-task (index order of the current plan): '1' done, '0' not, 'x' dropped. */
  done: string;
  running: Array<{ index: number; instance: string; startedAt: number }>;
  /** Not-done sub-tasks that may have checkpoints (ran before): their progress is read from the store. */
  checkpointed: number[];
  instances: JobInstance[];
  /** Spot exposure (seconds) and interruptions per pool since the last call. */
  observations: Array<{ pool: string; exposureSeconds: number; interruptions: number }>;
  memory?: ControllerMemory;
  /** The previous decision's full schedule (the controller keeps its plan where it still holds). */
  previous?: PlanDocument<SpotdagSchedule>;
  spentUsd: number;
}

/** A sub-task added or changed by a cut, as the workflow's compact plan needs it. */
export interface PlanPatchEntry {
  index: number;
  id: string;
  /** Index into the plan's stages. */
  stage: number;
  indexInStage: number;
  durationSeconds: number;
  deps: number[];
  /** The full definition: the instance runs it from this (it is not in the stored job). */
  definition: PlannedSubTask;
}

export interface DecideResponse {
  /** The full schedule, by reference (or inline), for the next call and for reports. */
  schedule: PlanDocument<SpotdagSchedule>;
  /** Every instance the plan uses (planned or launched), by logical id. */
  instances: InstancePlanWithTimes[];
  /** Not-done, not-running sub-tasks in the order to start them, and the instance of each. */
  order: number[];
  placedOn: Record<number, string>;
  /** Cuts made by this decision, and the plan entries they add or change. */
  resplits: Resplit[];
  patch: PlanPatchEntry[];
  /** Running sub-tasks to stop at their last checkpoint (they have been fenced) and start again. */
  stopRunning: number[];
  /** Call again at this job time (seconds) even if nothing happens. */
  nextTickAt?: number;
  memory: ControllerMemory;
  onDemandMode: boolean;
  slackSeconds: number | null;
  predictedCostUsd: number;
  predictedMakespanSeconds: number;
  notes: string[];
  /** The market view the first decision (event `start`) planned on, for reports; absent later. */
  market?: MarketView;
}

export interface InstancePlanWithTimes extends InstancePlan {
  market: 'spot' | 'on-demand';
  maxPricePerHour: number;
  predictedPricePerHour: number;
  /** When to launch it (job seconds). */
  launchAt: number;
}

/** What `launchInstances` returns: what came up, and spot requests the market refused. */
export interface LaunchResult {
  launched: Array<{ planId: string; id: string; taskQueue: string; pool: string; launchedAtMs: number }>;
  refused: Array<{ planId: string; pool: string; reason: string }>;
}

/** A cut sub-task's definition reference for the instance: inline when changed, else by reference. */
export type DefinitionSource = { subTask: PlannedSubTask } | { job: DocumentRef };
