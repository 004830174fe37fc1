/**
 * How a split stage is cut into chunks, and the overhead model behind the automatic choice.
 * See docs/decomposition.md for the model and its derivation.
 */
import type { Preferences } from '../allocate/preferences';

/** What running one more sub-task costs, and how often capacity is taken away. */
export interface OverheadModel {
  /** Start-up per sub-task: placing it, loading code, its inputs and its last checkpoint. */
  startupSeconds: number;
  /** Scheduling per sub-task: workflow and activity round trips on the control plane. */
  schedulingSeconds: number;
  /** Writing the sub-task's final checkpoint / result. */
  checkpointSeconds: number;
  /** Expected interruptions per instance-hour of the capacity the job will run on. */
  interruptionsPerHour: number;
}

export const DEFAULT_OVERHEAD: OverheadModel = {
  startupSeconds: 10,
  schedulingSeconds: 2,
  checkpointSeconds: 3,
  interruptionsPerHour: 0.05,
};

/** The user's chunking rule for a split stage (exactly one field set), or none for automatic. */
export interface ChunkingRule {
  size?: number;
  maxSubTasks?: number;
  /** Seconds (the spec accepts "10m" etc.). */
  targetSubTaskDuration?: number;
}

/** Units (range values or items) cut into `count` chunks: fixed `size` (last one shorter) or balanced. */
export interface ChunkLayout {
  units: number;
  count: number;
  /** Set for explicit sizes; otherwise chunk lengths differ by at most one. */
  fixedSize?: number;
  mode: 'size' | 'maxSubTasks' | 'targetSubTaskDuration' | 'auto';
}

/** Largest share of a sub-task's time that overhead may take before more parallelism stops paying. */
const MAX_OVERHEAD_FRACTION: Record<Preferences['objective'], number> = {
  'minimize-cost': 0.02,
  balanced: 0.1,
  'minimize-time': 0.3,
};

export function perSubTaskOverheadSeconds(model: OverheadModel): number {
  return model.startupSeconds + model.schedulingSeconds + model.checkpointSeconds;
}

/**
 * Expected waste per second of useful work for sub-tasks of `seconds` work each: the fixed
 * overhead o/d plus the rework after interruptions λ·(d/2 + o) (half a sub-task lost on average,
 * plus a fresh start-up).
 */
export function expectedWasteFraction(seconds: number, model: OverheadModel): number {
  const o = perSubTaskOverheadSeconds(model);
  const lambda = model.interruptionsPerHour / 3600;
  return o / seconds + lambda * (seconds / 2 + o);
}

/** The sub-task length that minimises `expectedWasteFraction`: √(2o/λ) (Young's formula). */
export function costOptimalSubTaskSeconds(model: OverheadModel): number {
  const o = perSubTaskOverheadSeconds(model);
  const lambda = model.interruptionsPerHour / 3600;
  return lambda > 0 ? Math.sqrt((2 * o) / lambda) : Number.POSITIVE_INFINITY;
}

export interface AutoChunkContext {
  overhead: OverheadModel;
  /** Sub-tasks the fleet runs at once (instances × slots per instance). */
  slots: number;
  objective: Preferences['objective'];
}

/**
 * Number of chunks for `units` units of `secondsPerUnit` each, capped at `limit`.
 * Explicit rules are followed as given; the automatic rule is the larger of
 *   - the cost-optimal count ⌈W / √(2o/λ)⌉ (no sub-task longer than Young's optimum), and
 *   - enough chunks to fill the fleet's slots, as long as each still has ≥ o / f of work, where
 *     f is the largest overhead fraction the objective accepts.
 */
export function layoutChunks(
  units: number,
  secondsPerUnit: number,
  rule: ChunkingRule | undefined,
  context: AutoChunkContext,
): ChunkLayout {
  const work = units * secondsPerUnit;
  if (rule?.size !== undefined) {
    const size = Math.min(rule.size, units);
    return { units, count: Math.ceil(units / size), fixedSize: size, mode: 'size' };
  }
  if (rule?.maxSubTasks !== undefined) {
    return { units, count: Math.min(units, rule.maxSubTasks), mode: 'maxSubTasks' };
  }
  if (rule?.targetSubTaskDuration !== undefined) {
    const target = rule.targetSubTaskDuration;
    const count = target > 0 ? Math.ceil(work / target - 1e-9) : units;
    return { units, count: clamp(count, 1, units), mode: 'targetSubTaskDuration' };
  }
  const o = perSubTaskOverheadSeconds(context.overhead);
  const byCost = Math.ceil(work / costOptimalSubTaskSeconds(context.overhead) - 1e-9);
  const minWorkPerChunk = o / MAX_OVERHEAD_FRACTION[context.objective];
  const byParallelism = Math.min(context.slots, Math.floor(work / minWorkPerChunk));
  return { units, count: clamp(Math.max(byCost, byParallelism), 1, units), mode: 'auto' };
}

function clamp(value: number, low: number, high: number): number {
  return Math.max(low, Math.min(high, value));
}

/** Offset (0-based, in units) and length of chunk `i`. */
export function chunkAt(layout: ChunkLayout, i: number): { offset: number; length: number } {
  if (layout.fixedSize !== undefined) {
    const offset = i * layout.fixedSize;
    return { offset, length: Math.min(layout.fixedSize, layout.units - offset) };
  }
  const base = Math.floor(layout.units / layout.count);
  const extra = layout.units % layout.count;
  return { offset: i * base + Math.min(i, extra), length: base + (i < extra ? 1 : 0) };
}

/** Node counts of the levels of a reduce tree over `leaves` inputs with fan-in `fanIn` (root last). */
export function reduceLevels(leaves: number, fanIn: number | undefined): number[] {
  const levels: number[] = [];
  let current = leaves;
  if (fanIn !== undefined) {
    while (current > fanIn) {
      current = Math.ceil(current / fanIn);
      levels.push(current);
    }
  }
  levels.push(1);
  return levels;
}
