import type { AllocationFleet } from '../allocate';
import type { InterruptionModel } from '../forecast/interruption';
import type { FleetProvider } from '../provision/provider';
import type { FleetSpec } from '../provision/fleet';
import type { MarketView } from './types';

/** The job a market view is made for: replayed markets keep a clock per job. */
export interface MarketContext {
  jobId: string;
  /** Wall-clock ms of the job's start. */
  jobStartMs: number;
}

/** How the market's instances behave in time, for the runtime controller. */
export interface MarketTiming {
  /** Seconds between a spot interruption notice and the instance's end (AWS: 120). */
  noticeSeconds: number;
  /** Shortest period between two of the controller's periodic decisions (seconds). */
  minTickSeconds: number;
  /** How long a pool that interrupted or refused gets no new spot instances (seconds). */
  penaltySeconds: number;
}

/**
 * The market a fleet's instances are bought on (EC2's, or a spot market replayed for local
 * instances): what it gives the planning and decide activities — the pools instances are
 * bought on (with price and interruption forecasts) and the machine model the allocator plans
 * with. The local free fleet needs none (one free pool; see src/job/allocation-input.ts); a local
 * fleet that replays a spot market (src/provision/replay-market.ts) and EC2 (ec2-market-view.ts) do.
 */
export interface InstanceMarket {
  readonly provider: FleetProvider;
  /** Names the market whose learned interruption model the checkpoint store keeps (e.g. `ec2-us-east-1`). */
  readonly id: string;
  /** The pools the fleet may buy from, with forecasts over `horizonSeconds` from now. */
  forecast(fleet: FleetSpec, horizonSeconds: number, context?: MarketContext): Promise<MarketView>;
  /** Most instances at once, boot and restart times, for the allocator. */
  fleetModel(fleet: FleetSpec): AllocationFleet;
  timing(): MarketTiming;
  /** The interruption model to learn from while the store has none for this market (default: the view's rates). */
  seedModel?(view: MarketView, context: MarketContext): InterruptionModel;
  /** An instance of `pool` was lost after running `exposureSeconds`: later forecasts count it. */
  observeInterruption(pool: string, exposureSeconds: number): void;
}
