/**
 * Types of the predictive allocator. A Schedule it returns is a plain `Schedule` (src/job/types.ts)
 * with extra, optional-to-read fields; everything is JSON.
 */
import type { InstancePlan, Placement, Schedule } from '../job/types';

/** One place capacity can be bought: an instance type in a zone. Both markets are offered per pool. */
export interface PoolOption {
  /** `instanceType@zone`, as `poolKey` of src/market. */
  key: string;
  instanceType: string;
  region: string;
  zone: string;
  vcpu: number;
  memoryMiB: number;
  onDemandPricePerHour: number;
}

/**
 * What the allocator needs to know about the future, per pool (by index into `pools`). Times are
 * seconds from the job's start. Implemented from forecasts (`marketForecast`), from the current
 * price only (`staticForecast`, the no-forecast ablation) and, in the simulator, from the actual
 * future (the oracle-informed heuristic).
 */
export interface AllocationForecast {
  readonly pools: readonly PoolOption[];
  /** Expected spot price ($/h) averaged over [from, to). */
  spotPrice(pool: number, fromSeconds: number, toSeconds: number): number;
  /** A high quantile of the spot price over [from, to) ($/h): the basis of a MaxPrice cap. */
  spotPriceUpper(pool: number, fromSeconds: number, toSeconds: number): number;
  /** P(a spot instance of the pool running over [from, to) is interrupted before `to`). */
  interruptionProbability(pool: number, fromSeconds: number, toSeconds: number): number;
  /** Expected interruptions per hour of running spot capacity (for checkpoint intervals). */
  hazardPerHour(pool: number): number;
  /** P(spot capacity can be launched in the pool at `atSeconds`). */
  availability(pool: number, atSeconds: number): number;
}

/** The machine model the allocator plans with (the simulator uses the same numbers). */
export interface AllocationFleet {
  /** Most instances alive at once (default 64). */
  maxInstances?: number;
  /** From request to a worker polling (default 90 s). */
  bootSeconds?: number;
  /** Time to write one checkpoint (default 10 s). */
  checkpointSeconds?: number;
  /** Time to load a checkpoint and resume on a new instance (default 30 s). */
  restartSeconds?: number;
  /** Time between a spot interruption notice and the instance's end (default 120 s, as AWS). */
  noticeSeconds?: number;
  /** Shortest checkpoint interval worth planning (default 300 s; local instances checkpoint in ms). */
  minCheckpointIntervalSeconds?: number;
  /** Bytes/s within a zone, across zones of a region, across regions. */
  bandwidth?: { zone?: number; region?: number; world?: number };
}

export type ResolvedFleet = Required<Omit<AllocationFleet, 'bandwidth'>> & {
  bandwidth: { zone: number; region: number; world: number };
};

export const DEFAULT_FLEET: ResolvedFleet = {
  maxInstances: 64,
  bootSeconds: 90,
  checkpointSeconds: 10,
  restartSeconds: 30,
  noticeSeconds: 120,
  minCheckpointIntervalSeconds: 300,
  bandwidth: { zone: 500e6, region: 200e6, world: 50e6 },
};

export function resolveFleet(fleet: AllocationFleet = {}): ResolvedFleet {
  return {
    maxInstances: fleet.maxInstances ?? DEFAULT_FLEET.maxInstances,
    bootSeconds: fleet.bootSeconds ?? DEFAULT_FLEET.bootSeconds,
    checkpointSeconds: fleet.checkpointSeconds ?? DEFAULT_FLEET.checkpointSeconds,
    restartSeconds: fleet.restartSeconds ?? DEFAULT_FLEET.restartSeconds,
    noticeSeconds: fleet.noticeSeconds ?? DEFAULT_FLEET.noticeSeconds,
    minCheckpointIntervalSeconds:
      fleet.minCheckpointIntervalSeconds ?? DEFAULT_FLEET.minCheckpointIntervalSeconds,
    bandwidth: { ...DEFAULT_FLEET.bandwidth, ...fleet.bandwidth },
  };
}

/** How ready sub-tasks are ordered: spotdag's PageRank, HEFT's upward rank, or plain topological order. */
export type RankOrder = 'pagerank' | 'heft' | 'topological';

export interface SpotdagInstancePlan extends InstancePlan {
  market: 'spot' | 'on-demand';
  maxPricePerHour: number;
  instanceType: string;
  zone: string;
  region: string;
  vcpu: number;
  memoryMiB: number;
  /** When to request it (seconds from the job's start): its first sub-task's start minus the boot time. */
  launchAt: number;
  /** When its last sub-task is predicted to finish. */
  releaseAt: number;
  /** Set by the runtime in a RuntimeState: the instance has been launched (not only planned). */
  launched?: boolean;
  /** Predicted price ($/h) while it runs and its predicted bill. */
  predictedPricePerHour: number;
  predictedCostUsd: number;
}

export interface SpotdagPlacement extends Placement {
  /** Seconds of work between checkpoints (Young's interval for the pool's hazard; 0 = none). */
  checkpointIntervalSeconds: number;
  /** P(interrupted while it runs) as planned (0 on on-demand). */
  interruptionProbability: number;
  /** Normalised rank (1 = the highest) used to order and to weigh risk. */
  rank: number;
}

export interface SpotdagSchedule extends Schedule {
  instances: SpotdagInstancePlan[];
  placements: SpotdagPlacement[];
  order: RankOrder;
  objective: string;
  deadlineSeconds?: number;
  /** Expected interruptions of the planned spot time. */
  predictedInterruptions: number;
  /** Share of placements on on-demand instances. */
  onDemandFraction: number;
  /** Seconds from the job's start at which this (re-)plan was made. */
  plannedAtSeconds: number;
}

/** What the runtime knows when it re-plans (all times seconds from the job's start). */
export interface RuntimeState {
  nowSeconds: number;
  /** Finished sub-tasks: where their output is and when it was ready. */
  done: Array<{ subTaskId: string; instanceId: string; finishedAt: number }>;
  /**
   * Running and staying where they are; `unsavedSeconds`, when known, is the work stopping one now
   * would lose (the runtime controller may move cheap-to-stop on-demand work back to spot);
   * `startedAt` and `checkpointedAt` (the attempt's start and its last checkpoint, job seconds)
   * let the controller learn the pace work really goes at.
   */
  running: Array<{
    subTaskId: string;
    instanceId: string;
    expectedFinish: number;
    unsavedSeconds?: number;
    startedAt?: number;
    checkpointedAt?: number;
  }>;
  /** Work already saved in checkpoints (seconds of work) for sub-tasks that are not done. */
  progress?: Record<string, number>;
  /** Instances alive or requested (not lost): the re-plan may keep using them. */
  instances: SpotdagInstancePlan[];
  /** Pools that just interrupted an instance or refused a launch: penalised for a while. */
  penalisedPools?: string[];
  /** Sub-tasks that must be re-placed (lost instance, failed launch); others may keep their instance. */
  displaced?: string[];
  /** Spent so far (USD): counts against `preferences.budget` with the re-plan's predicted cost. */
  spentUsd?: number;
  /** Next numeric id for new instances (`i<n>`); ids must never be reused within a job. */
  nextInstanceId?: number;
  /** Re-plan everything not running (default: only displaced sub-tasks move, unless the deadline is at risk). */
  full?: boolean;
}
