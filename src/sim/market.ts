/**
 * The simulated market: for each pool, the actual spot price over time (a price series) and spot
 * availability (a SkyPilot trace, replayed from an offset). Times are seconds from the job's start.
 *
 * Trace-to-pool mapping (deterministic per seed): pools are taken in key order; pool `key` gets
 * trace number ⌊u₁·T⌋ and a start offset of ⌊u₂·L⌋ ticks into it, where (u₁, u₂) are the first two
 * draws of a mulberry32 generator seeded with hash(seed, key), T the number of traces and L the
 * trace's length; window w adds w · windowStrideSeconds to the offset. Traces wrap around at their
 * end. A tick whose value is 1 means no spot capacity: running spot instances of the pool are
 * interrupted at its start (after a 2-minute notice) and no spot instance can be launched during it.
 */
import type { AvailabilityTrace } from '../market';
import { StepFunction } from '../allocate/market-forecast';
import type { PoolOption } from '../allocate/types';

export function hashString(text: string): number {
  let h = 2166136261 >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A trace with, per tick, the distance (in ticks, cyclic) to the next unavailable / available tick. */
export class CyclicTrace {
  readonly length: number;
  readonly gapSeconds: number;
  private readonly toUnavailable: Int32Array;
  private readonly toAvailable: Int32Array;

  constructor(readonly trace: AvailabilityTrace) {
    const u = trace.unavailable;
    const n = u.length;
    this.length = n;
    this.gapSeconds = trace.gapSeconds;
    this.toUnavailable = CyclicTrace.distances(n, (i) => u[i]!);
    this.toAvailable = CyclicTrace.distances(n, (i) => !u[i]!);
  }

  /** d[i] = smallest k ≥ 0 with pred((i + k) mod n), or -1 if none. */
  private static distances(n: number, pred: (i: number) => boolean): Int32Array {
    const d = new Int32Array(n).fill(-1);
    let next = -1;
    for (let j = 2 * n - 1; j >= 0; j--) {
      if (pred(j % n)) next = j;
      if (j < n && next >= 0) d[j] = next - j;
    }
    return d;
  }

  unavailableAt(tick: number): boolean {
    return this.trace.unavailable[((tick % this.length) + this.length) % this.length]!;
  }

  /** Ticks from `tick` to the next unavailable tick (0 if unavailable now), or -1. */
  ticksToUnavailable(tick: number): number {
    return this.toUnavailable[((tick % this.length) + this.length) % this.length]!;
  }

  ticksToAvailable(tick: number): number {
    return this.toAvailable[((tick % this.length) + this.length) % this.length]!;
  }
}

export interface SimPool {
  option: PoolOption;
  /** Actual spot price ($/h) by second from the job's start. */
  price: StepFunction;
  trace: CyclicTrace;
  /** Tick of the trace at second 0. */
  offsetTicks: number;
  traceName: string;
}

export class SimMarket {
  readonly pools: SimPool[];
  private readonly byKey: Map<string, number>;

  constructor(pools: SimPool[]) {
    this.pools = pools;
    this.byKey = new Map(pools.map((p, i) => [p.option.key, i]));
  }

  index(key: string): number {
    const i = this.byKey.get(key);
    if (i === undefined) throw new Error(`simulated market has no pool ${key}`);
    return i;
  }

  private tick(pool: number, t: number): number {
    const p = this.pools[pool]!;
    return p.offsetTicks + Math.floor(t / p.trace.gapSeconds);
  }

  available(pool: number, t: number): boolean {
    return !this.pools[pool]!.trace.unavailableAt(this.tick(pool, t));
  }

  /** First time ≥ t at which spot capacity is gone (t itself if gone now), or Infinity. */
  nextUnavailable(pool: number, t: number): number {
    const p = this.pools[pool]!;
    const k = Math.floor(t / p.trace.gapSeconds);
    const d = p.trace.ticksToUnavailable(p.offsetTicks + k);
    if (d < 0) return Infinity;
    return d === 0 ? t : (k + d) * p.trace.gapSeconds;
  }

  /** First time ≥ t at which spot capacity is there, or Infinity. */
  nextAvailable(pool: number, t: number): number {
    const p = this.pools[pool]!;
    const k = Math.floor(t / p.trace.gapSeconds);
    const d = p.trace.ticksToAvailable(p.offsetTicks + k);
    if (d < 0) return Infinity;
    return d === 0 ? t : (k + d) * p.trace.gapSeconds;
  }

  spotPrice(pool: number, t: number): number {
    return this.pools[pool]!.price.at(t);
  }

  /** First time ≥ t at which the spot price is above `cap`, or Infinity. */
  nextPriceAbove(pool: number, t: number, cap: number): number {
    const f = this.pools[pool]!.price;
    const n = f.values.length;
    let i = Math.floor((t - f.originSeconds) / f.stepSeconds);
    if (i < 0) {
      if (f.values[0]! > cap) return t;
      i = 0;
    }
    if (i >= n) return f.values[n - 1]! > cap ? t : Infinity;
    for (let j = i; j < n; j++) {
      if (f.values[j]! > cap) return Math.max(t, f.originSeconds + j * f.stepSeconds);
    }
    return Infinity;
  }

  /** Highest spot price in force at any instant of [a, b). */
  maxPrice(pool: number, a: number, b: number): number {
    let m = -Infinity;
    for (const v of this.pricesIn(pool, a, b)) m = Math.max(m, v);
    return m;
  }

  /** Lowest spot price in force at any instant of [a, b). */
  minPrice(pool: number, a: number, b: number): number {
    let m = Infinity;
    for (const v of this.pricesIn(pool, a, b)) m = Math.min(m, v);
    return m;
  }

  /** The price steps in force during [a, b) (before and after the series its first/last value holds). */
  private *pricesIn(pool: number, a: number, b: number): Generator<number> {
    const f = this.pools[pool]!.price;
    const n = f.values.length;
    const idx = (t: number) =>
      Math.min(n - 1, Math.max(0, Math.floor((t - f.originSeconds) / f.stepSeconds)));
    const i0 = idx(a);
    const i1 = b > a ? idx(b - 1e-6) : i0;
    for (let i = i0; i <= i1; i++) yield f.values[i]!;
  }
}

export interface TraceMappingOptions {
  seed: number;
  /** Window number: shifts every offset by `window · windowStrideSeconds`. */
  window?: number;
  windowStrideSeconds?: number;
}

/** Deterministic trace and offset per pool (see the module comment). */
export function mapTraces(
  poolKeys: string[],
  traces: AvailabilityTrace[],
  options: TraceMappingOptions,
): Array<{ trace: number; offsetTicks: number }> {
  if (traces.length === 0) throw new Error('no availability traces to map pools to');
  return poolKeys.map((key) => {
    const r = rng(hashString(`${options.seed}|${key}`));
    const trace = Math.floor(r() * traces.length);
    const t = traces[trace]!;
    const shift = Math.floor(((options.window ?? 0) * (options.windowStrideSeconds ?? 0)) / t.gapSeconds);
    const offsetTicks = (Math.floor(r() * t.unavailable.length) + shift) % t.unavailable.length;
    return { trace, offsetTicks };
  });
}
