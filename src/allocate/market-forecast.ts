/**
 * AllocationForecast implementations over src/market + src/forecast: price forecasts and the
 * interruption model (`marketForecast`), or the current price and one constant hazard
 * (`staticForecast`, the "without forecasts" ablation). Interval means are O(1) (prefix sums).
 */
import type { InstanceCatalog, Pool } from '../market';
import type { InterruptionModel, PriceForecast } from '../forecast';
import type { AllocationForecast, PoolOption } from './types';

/** A piecewise-constant function of time: values[i] holds on [origin + i·step, origin + (i+1)·step). */
export class StepFunction {
  private readonly cum: Float64Array;

  constructor(
    readonly originSeconds: number,
    readonly stepSeconds: number,
    readonly values: ArrayLike<number>,
  ) {
    if (values.length === 0) throw new RangeError('StepFunction needs at least one value');
    this.cum = new Float64Array(values.length + 1);
    for (let i = 0; i < values.length; i++) this.cum[i + 1] = this.cum[i]! + values[i]!;
  }

  at(t: number): number {
    const i = Math.floor((t - this.originSeconds) / this.stepSeconds);
    return this.values[Math.min(this.values.length - 1, Math.max(0, i))]!;
  }

  /** ∫ from 0 (grid position) to x (grid units), extended flat on both sides. */
  private prim(x: number): number {
    const n = this.values.length;
    if (x <= 0) return x * this.values[0]!;
    if (x >= n) return this.cum[n]! + (x - n) * this.values[n - 1]!;
    const i = Math.floor(x);
    return this.cum[i]! + (x - i) * this.values[i]!;
  }

  /** ∫ over [a, b) seconds, in value·seconds. */
  integral(a: number, b: number): number {
    if (!(b > a)) return 0;
    const x = (a - this.originSeconds) / this.stepSeconds;
    const y = (b - this.originSeconds) / this.stepSeconds;
    return (this.prim(y) - this.prim(x)) * this.stepSeconds;
  }

  mean(a: number, b: number): number {
    return b > a ? this.integral(a, b) / (b - a) : this.at(a);
  }

  max(a: number, b: number): number {
    const n = this.values.length;
    const i0 = Math.min(n - 1, Math.max(0, Math.floor((a - this.originSeconds) / this.stepSeconds)));
    const i1 = Math.min(
      n - 1,
      Math.max(0, Math.floor((Math.max(a, b) - this.originSeconds) / this.stepSeconds)),
    );
    let m = -Infinity;
    for (let i = i0; i <= i1; i++) if (this.values[i]! > m) m = this.values[i]!;
    return m;
  }
}

/** vCPU and memory of common instance types, for when no Spot Advisor catalog is given. */
export const BUILTIN_SHAPES: Record<string, { vcpu: number; memoryMiB: number }> = {
  'c5.large': { vcpu: 2, memoryMiB: 4096 },
  'c5.xlarge': { vcpu: 4, memoryMiB: 8192 },
  'c5.2xlarge': { vcpu: 8, memoryMiB: 16384 },
  'm5.large': { vcpu: 2, memoryMiB: 8192 },
  'm5.xlarge': { vcpu: 4, memoryMiB: 16384 },
  'm5.2xlarge': { vcpu: 8, memoryMiB: 32768 },
  'r5.large': { vcpu: 2, memoryMiB: 16384 },
  'r5.xlarge': { vcpu: 4, memoryMiB: 32768 },
  'r5.16xlarge': { vcpu: 64, memoryMiB: 524288 },
  't3.medium': { vcpu: 2, memoryMiB: 4096 },
  't3.large': { vcpu: 2, memoryMiB: 8192 },
  'p2.xlarge': { vcpu: 4, memoryMiB: 62464 },
  'p2.8xlarge': { vcpu: 32, memoryMiB: 499712 },
  'p3.2xlarge': { vcpu: 8, memoryMiB: 62464 },
  'p3.16xlarge': { vcpu: 64, memoryMiB: 499712 },
};

/** Shape of an instance type from a catalog, else the built-in table, else undefined. */
export function instanceShape(
  instanceType: string,
  catalog?: InstanceCatalog,
): { vcpu: number; memoryMiB: number } | undefined {
  if (catalog?.has(instanceType)) {
    const info = catalog.get(instanceType);
    return { vcpu: info.vcpu, memoryMiB: info.memoryMiB };
  }
  return BUILTIN_SHAPES[instanceType];
}

export function poolOption(
  pool: Pool,
  onDemandPricePerHour: number,
  shape: { vcpu: number; memoryMiB: number },
): PoolOption {
  return {
    key: `${pool.instanceType}@${pool.zone}`,
    instanceType: pool.instanceType,
    region: pool.region,
    zone: pool.zone,
    vcpu: shape.vcpu,
    memoryMiB: shape.memoryMiB,
    onDemandPricePerHour,
  };
}

export interface MarketForecastInput {
  /** One forecast per pool; pools without an on-demand price or a shape are left out. */
  forecasts: PriceForecast[];
  interruptions: InterruptionModel;
  /** On-demand $/h of a pool. */
  onDemandPrice: (pool: Pool) => number | undefined;
  catalog?: InstanceCatalog;
  /** Wall-clock time (ms) of the job's start: second 0 of the schedule. */
  startMs: number;
}

/** The allocator's view of price forecasts (mean, upper quantile) and the interruption model. */
export class MarketAllocationForecast implements AllocationForecast {
  readonly pools: PoolOption[] = [];
  private readonly marketPools: Pool[] = [];
  private readonly mean: StepFunction[] = [];
  private readonly upper: StepFunction[] = [];
  private readonly alpha: number[] = [];
  private readonly beta: number[] = [];

  constructor(private readonly input: MarketForecastInput) {
    for (const f of input.forecasts) {
      const od = input.onDemandPrice(f.pool);
      const shape = instanceShape(f.pool.instanceType, input.catalog);
      if (od === undefined || !(od > 0) || !shape || f.mean.length === 0) continue;
      const origin = (f.startMs - input.startMs) / 1000;
      this.pools.push(poolOption(f.pool, od, shape));
      this.marketPools.push(f.pool);
      this.mean.push(new StepFunction(origin, f.stepSeconds, f.mean));
      this.upper.push(new StepFunction(origin, f.stepSeconds, f.upper));
    }
    this.refresh();
  }

  /** Re-reads the interruption model's posteriors (after `observe`). */
  refresh(): void {
    this.marketPools.forEach((p, i) => {
      const { alpha, beta } = this.input.interruptions.posterior(p);
      this.alpha[i] = alpha;
      this.beta[i] = beta;
    });
  }

  /** Wall-clock time (ms) of second 0. */
  get startMs(): number {
    return this.input.startMs;
  }

  get model(): InterruptionModel {
    return this.input.interruptions;
  }

  marketPool(i: number): Pool {
    return this.marketPools[i]!;
  }

  spotPrice(pool: number, from: number, to: number): number {
    return this.mean[pool]!.mean(from, to);
  }

  spotPriceUpper(pool: number, from: number, to: number): number {
    return this.upper[pool]!.max(from, to);
  }

  interruptionProbability(pool: number, from: number, to: number): number {
    const hours = Math.max(0, to - from) / 3600;
    if (hours === 0) return 0;
    const b = this.beta[pool]!;
    return 1 - (b / (b + hours)) ** this.alpha[pool]!;
  }

  hazardPerHour(pool: number): number {
    return this.alpha[pool]! / this.beta[pool]!;
  }

  availability(pool: number, atSeconds: number): number {
    return this.input.interruptions.probabilityAvailable(
      this.marketPools[pool]!,
      this.input.startMs + atSeconds * 1000,
    );
  }
}

export function marketForecast(input: MarketForecastInput): MarketAllocationForecast {
  return new MarketAllocationForecast(input);
}

/**
 * No forecasts: the last observed spot price holds, every pool has the same hazard and is assumed
 * available. The "without forecasts" ablation, and a fallback when there is no price history.
 */
export function staticForecast(
  pools: Array<{ pool: PoolOption; spotPricePerHour: number }>,
  hazardPerHour = 0.1,
): AllocationForecast {
  const options = pools.map((p) => p.pool);
  const prices = pools.map((p) => p.spotPricePerHour);
  return {
    pools: options,
    spotPrice: (i) => prices[i]!,
    spotPriceUpper: (i) => Math.min(options[i]!.onDemandPricePerHour, prices[i]! * 1.5),
    interruptionProbability: (_i, from, to) => 1 - Math.exp((-hazardPerHour * Math.max(0, to - from)) / 3600),
    hazardPerHour: () => hazardPerHour,
    availability: () => 1,
  };
}
