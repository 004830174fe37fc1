/**
 * The runtime controller's vocabulary: what it is told (the job's state and what just happened),
 * what it remembers between calls (small JSON carried by its driver), and what it decides. All
 * times are seconds of job time from the job's start; everything is plain JSON.
 */
import type { IntRange } from '../dag';
import type { RuntimeState, SpotdagSchedule } from '../allocate/types';

/** Why the controller is called. */
export type ControllerEventKind =
  'start' | 'tick' | 'sub-task-done' | 'instance-lost' | 'spot-notice' | 'launch-refused';

/** Spot exposure and interruptions seen in a pool since the last call (to learn the hazard). */
export interface PoolObservation {
  pool: string;
  exposureSeconds: number;
  interruptions: number;
}

export interface ControllerEvent {
  kind: ControllerEventKind;
  /** Pools that interrupted an instance since the last call (penalised for a while). */
  pools?: string[];
  /** Pools that refused a spot launch for want of capacity since the last call. */
  refusedPools?: string[];
  observations?: PoolObservation[];
  /** Whether each pool has spot capacity now, where the driver can see it (a replayed market, a probe). */
  capacity?: Record<string, boolean>;
}

/** A running sub-task as the controller sees it (extends the allocator's view). */
export interface RunningSubTask {
  subTaskId: string;
  instanceId: string;
  expectedFinish: number;
  startedAt?: number;
  /** Work (seconds) kept by its last checkpoint. */
  checkpointedSeconds?: number;
  /** When that checkpoint was made (job seconds), where its driver knows: the pace is learned from it. */
  checkpointedAt?: number;
  /** Seconds of work between its checkpoints (0: none); derived from its pool's hazard when absent. */
  checkpointIntervalSeconds?: number;
  /**
   * Work done since its last checkpoint (seconds), what stopping it now would lose; unknown when
   * absent (then it is not moved off on-demand).
   */
  unsavedSeconds?: number;
}

/** The job as it stands: the allocator's runtime state plus what re-splitting and learning need. */
export interface ControllerState extends Omit<RuntimeState, 'running'> {
  running: RunningSubTask[];
  /**
   * The unit position (next unit not done) of the last checkpoint of sub-tasks that are not done,
   * where their step reports one: where their remaining work starts if they are cut.
   */
  positions?: Record<string, number>;
}

/** What the controller keeps between calls; its driver stores and returns it verbatim. */
export interface ControllerMemory {
  /** The deadline safety net is engaged: tight work runs on on-demand. */
  onDemandMode: boolean;
  /** When the mode last changed (job seconds). */
  modeChangedAt?: number;
  /** The margin when the net engaged: it releases only once the slack is three of these. */
  engagedMarginSeconds?: number;
  /** Pools that get no new spot instances until the given time (job seconds). */
  penalties: Record<string, number>;
  /** When each sub-task was last re-split (job seconds): a running one is not cut again soon. */
  resplitAt: Record<string, number>;
  /** Hazard (per hour) of each running sub-task's pool when it started, for the rising-hazard rule. */
  startHazard: Record<string, number>;
  /** Calls so far. */
  calls: number;
  /**
   * The learned policy version the job runs (0: the heuristic), chosen by its driver at the first
   * decision (src/learn/job-policy.ts) and kept for the whole job.
   */
  policyVersion?: number;
  /** Wall seconds over declared work seconds seen between checkpoints so far (src/controller/pace.ts). */
  pace?: { wallSeconds: number; workSeconds: number };
  /** Each running sub-task's last checkpoint seen, to sample the pace at the next call. */
  paceSeen?: Record<string, { at: number; work: number; instanceId: string; startedAt?: number }>;
}

export function freshMemory(): ControllerMemory {
  return { onDemandMode: false, penalties: {}, resplitAt: {}, startHazard: {}, calls: 0 };
}

/** Cut a sub-task's remaining work into `parts` pieces (`splitSubTask` of src/dag). */
export interface Resplit {
  subTaskId: string;
  /** The part still to do, when the sub-task has checkpointed progress (a suffix of its units). */
  remainder?: IntRange;
  parts: number;
  /** The sub-task was running: its driver stops it at its last checkpoint before the cut. */
  running: boolean;
  reason: 'hazard' | 'parallelism';
}

/** The deadline safety net's reading at this call. */
export interface GuardReading {
  /** When the rest of the job would finish if it all ran on on-demand from now (pessimistic). */
  onDemandFinish: number;
  /** deadline − onDemandFinish; Infinity without a deadline. */
  slackSeconds: number;
  /** The margin under which the net engages (and 3× which it releases). */
  marginSeconds: number;
  /** The pace the reading assumed for the remaining work (1: as declared; src/controller/pace.ts). */
  pace: number;
  onDemandMode: boolean;
  /** Sub-tasks the net puts on on-demand. */
  onDemandSubTasks: string[];
  /**
   * Running spot sub-tasks without checkpoints on the tight path: an interruption would cost their
   * whole run, which the margin cannot cover, so they stop and restart on on-demand now.
   */
  stopRunning: string[];
}

export interface Decision {
  /** The plan for everything not done and not running: placements and the instances they need. */
  schedule: SpotdagSchedule;
  /** Re-splits to apply (the controller has already applied them to the DAG it was given). */
  resplits: Resplit[];
  /**
   * Running sub-tasks to stop at their last checkpoint (cut ones, and ones the safety net moves);
   * `schedule` places them again.
   */
  stopRunning: string[];
  guard: GuardReading;
  memory: ControllerMemory;
  /** Call again at this job time even if nothing happens (undefined: only on events). */
  nextTickAt?: number;
  /** One line per notable choice, for logs and the UI. */
  notes: string[];
}
