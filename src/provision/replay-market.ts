/**
 * A spot market replayed against local instances: the local fleet's instances are bought in the
 * scenario's pools (spot or on-demand), a spot launch is refused while its pool's trace says there
 * is no capacity (or its price is above the MaxPrice), a running spot instance gets a notice and
 * is killed at the first tick without capacity (or the first price step above its MaxPrice), and
 * every instance is billed the pool's actual price while it runs. Each job has its own clock: job
 * second 0 is the job's start. This is what `spotdag bench twin` runs real jobs on; the simulator
 * runs the same scenario (src/sim/replay-scenario.ts).
 */
import type { AllocationFleet } from '../allocate';
import { InterruptionModel } from '../forecast/interruption';
import type { MarketContext, MarketTiming, InstanceMarket } from '../job/instance-market';
import type { MarketView } from '../job/types';
import { modelAt, replayView, type ReplayScenario } from '../sim/replay-scenario';
import type { FleetSpec } from './fleet';

export interface ReplayMarketOptions {
  /** Names the market (its learned model is kept under this name in the checkpoint store). */
  id: string;
  scenario: ReplayScenario;
  /** Boot, restart and checkpoint times the planner assumes (local processes: about a second). */
  fleet: AllocationFleet;
  timing: MarketTiming;
}

/** Why a launch is refused now, or undefined when it may go ahead. */
export type Refusal = string | undefined;

export class ReplayMarket implements InstanceMarket {
  readonly provider = 'local';
  readonly id: string;
  private readonly jobStarts = new Map<string, number>();

  constructor(private readonly options: ReplayMarketOptions) {
    this.id = options.id;
  }

  get scenario(): ReplayScenario {
    return this.options.scenario;
  }

  async forecast(_fleet: FleetSpec, horizonSeconds: number, context?: MarketContext): Promise<MarketView> {
    if (!context) throw new Error(`the replayed market ${this.id} needs the job's start time`);
    this.jobStarts.set(context.jobId, context.jobStartMs);
    return replayView(this.options.scenario, context.jobStartMs, horizonSeconds);
  }

  seedModel(_view: MarketView, context: MarketContext): InterruptionModel {
    return InterruptionModel.fromJSON(modelAt(this.options.scenario.model, context.jobStartMs));
  }

  fleetModel(fleet: FleetSpec): AllocationFleet {
    return {
      ...this.options.fleet,
      maxInstances: Math.min(fleet.instances, this.options.fleet.maxInstances ?? 64),
    };
  }

  timing(): MarketTiming {
    return this.options.timing;
  }

  observeInterruption(): void {
    // The runtime controller learns from what its job saw; nothing to keep here.
  }

  /** Job seconds of `atMs` for a job that started at `jobStartMs`. */
  static jobSeconds(jobStartMs: number, atMs: number): number {
    return (atMs - jobStartMs) / 1000;
  }

  private poolIndex(pool: string): number {
    return this.options.scenario.market.index(pool);
  }

  /** Why a spot launch in `pool` with `maxPricePerHour` is refused at job second `t`, if it is. */
  spotRefusal(pool: string, t: number, maxPricePerHour: number): Refusal {
    const market = this.options.scenario.market;
    const i = this.poolIndex(pool);
    // Capacity being reclaimed (gone, or priced above the MaxPrice, within the notice) is not
    // offered either, as in the simulator.
    const notice = t + this.options.timing.noticeSeconds;
    if (market.nextUnavailable(i, t) <= notice) return 'no spot capacity';
    if (market.nextPriceAbove(i, t, maxPricePerHour) <= notice)
      return `spot price above the MaxPrice ${maxPricePerHour.toFixed(4)} $/h`;
    return undefined;
  }

  /** When a spot instance launched at job second `t` is interrupted (job seconds; Infinity: never). */
  interruptionAt(pool: string, t: number, maxPricePerHour: number): number {
    const market = this.options.scenario.market;
    const i = this.poolIndex(pool);
    return Math.min(market.nextUnavailable(i, t + 1e-6), market.nextPriceAbove(i, t, maxPricePerHour));
  }

  /** What an instance of `pool` on `market` costs from job second `from` to `to` (USD). */
  cost(pool: string, market: 'spot' | 'on-demand', from: number, to: number): number {
    if (!(to > from)) return 0;
    const p = this.options.scenario.market.pools[this.poolIndex(pool)]!;
    if (market === 'spot') return p.price.integral(from, to) / 3600;
    return ((to - from) / 3600) * p.option.onDemandPricePerHour;
  }
}
