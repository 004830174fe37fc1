/** One instance in the simulator: its plan, life cycle, what runs on it and its bill. */
import type { SpotdagInstancePlan } from '../allocate/types';
import type { SimMarket } from './market';

/**
 * planned → (waiting →) booting → running → ended, or → doomed (notice received) → ended;
 * failed: never launched (refused, or dropped by a new plan before its launch).
 */
export type InstanceState = 'planned' | 'waiting' | 'booting' | 'running' | 'doomed' | 'ended' | 'failed';

export class SimInstance {
  state: InstanceState = 'planned';
  /** Bumped on every state change; events carrying an older version are stale. */
  version = 0;
  launchedAt = NaN;
  endedAt = NaN;
  /** When a spot instance loses its capacity (or its MaxPrice is exceeded). */
  interruptAt = Infinity;
  /** Sub-tasks placed on it, in plan order, not started yet. */
  queue: number[] = [];
  readonly running = new Set<number>();
  cpuUsed = 0;
  memUsed = 0;
  costUsd = 0;
  interrupted = false;
  /** Spot exposure up to here has been reported to the policy. */
  exposureFlushed = 0;
  /** Time of the pending Launch or Wake event (NaN: none). */
  wakeAt = NaN;

  constructor(
    public plan: SpotdagInstancePlan,
    readonly pool: number,
    readonly spot: boolean,
  ) {}

  /** Still usable by a plan: neither ended, failed nor doomed. */
  get alive(): boolean {
    return this.state !== 'ended' && this.state !== 'failed' && this.state !== 'doomed';
  }

  get launched(): boolean {
    return !Number.isNaN(this.launchedAt);
  }

  /** Cost from its launch to `end`: the actual spot price of each second, or the on-demand price. */
  costUntil(end: number, market: SimMarket): number {
    if (this.spot) return market.pools[this.pool]!.price.integral(this.launchedAt, end) / 3600;
    return ((end - this.launchedAt) / 3600) * this.plan.predictedPricePerHour;
  }

  /** Stops billing at `end`. */
  endBilling(end: number, market: SimMarket): void {
    this.endedAt = end;
    this.costUsd = this.costUntil(end, market);
  }
}
