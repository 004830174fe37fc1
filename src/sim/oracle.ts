/**
 * The oracle forecast: the actual future of the simulated market (actual prices, and whether a pool
 * will lose its capacity during an interval) in place of forecasts. Fed to spotdag's allocator it
 * makes the oracle-informed heuristic of `bench schedule`: a heuristic that knows the future, not
 * an optimum (spotdag can be cheaper than it); `bench single` has the exact optimum.
 */
import type { AllocationForecast, PoolOption } from '../allocate/types';
import type { SimMarket } from './market';

export class OracleForecast implements AllocationForecast {
  readonly pools: PoolOption[];
  private readonly hazard: number[];

  /** `horizonSeconds`: span over which each pool's empirical hazard is measured. */
  constructor(
    private readonly market: SimMarket,
    horizonSeconds = 48 * 3600,
  ) {
    this.pools = market.pools.map((p) => p.option);
    this.hazard = market.pools.map((p, i) => {
      const gap = p.trace.gapSeconds;
      let up = 0;
      let drops = 0;
      let prev = market.available(i, 0);
      for (let t = 0; t < horizonSeconds; t += gap) {
        const a = market.available(i, t);
        if (a) up += gap;
        if (prev && !a) drops++;
        prev = a;
      }
      return up > 0 ? drops / (up / 3600) : 100;
    });
  }

  spotPrice(pool: number, from: number, to: number): number {
    return this.market.pools[pool]!.price.mean(from, to);
  }

  spotPriceUpper(pool: number, from: number, to: number): number {
    return this.market.maxPrice(pool, from, Math.max(to, from + 1));
  }

  interruptionProbability(pool: number, from: number, to: number): number {
    if (!(to > from)) return 0;
    return this.market.nextUnavailable(pool, from) < to ? 1 : 0;
  }

  hazardPerHour(pool: number): number {
    return this.hazard[pool]!;
  }

  availability(pool: number, atSeconds: number): number {
    return this.market.available(pool, atSeconds) ? 1 : 0;
  }
}
