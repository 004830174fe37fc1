import type { AllocationFleet } from '../allocate';
import type { FleetProvider } from '../provision/provider';
import type { FleetSpec } from '../provision/fleet';
import type { MarketView } from './types';

/**
 * What a provider other than `local` gives the planning activities: the market its instances are
 * bought on (pools with price and interruption forecasts) and the machine model the allocator
 * plans with. The local fleet needs neither (one free pool; see activities/control.ts).
 */
export interface ProviderMarket {
  readonly provider: FleetProvider;
  /** The pools the fleet may buy from, with forecasts over `horizonSeconds` from now. */
  forecast(fleet: FleetSpec, horizonSeconds: number): Promise<MarketView>;
  /** Most instances at once, boot and restart times, for the allocator. */
  fleetModel(fleet: FleetSpec): AllocationFleet;
  /** An instance of `pool` was lost after running `exposureSeconds`: later forecasts count it. */
  observeInterruption(pool: string, exposureSeconds: number): void;
}
