import { isLinux, type PriceObservation } from './observations';
import { poolKey, type Pool } from './pool';

/** A regular price series: `values[i]` is the price ($/h) in force at `startMs + i * stepSeconds`. */
export type PriceSeries = { pool: Pool; startMs: number; stepSeconds: number; values: number[] };

export type ResampleOptions = {
  stepSeconds?: number;
  /** Grid start; default: the first observation of each pool, floored to the step. */
  startMs?: number;
  /** Grid end (exclusive); default: the last observation of each pool, inclusive. */
  endMs?: number;
  /** Keep only Linux/UNIX prices (default true): other OSes are priced differently for the same pool. */
  linuxOnly?: boolean;
};

/**
 * Resamples irregular price-change events to one regular series per pool. A spot price holds until the
 * next change (last observation carried forward): the value at a grid time is the latest observation at
 * or before it. Grid points before a pool's first observation take that first price (carried backward)
 * so that every series is complete; with the default start this never happens.
 */
export function resample(observations: PriceObservation[], options: ResampleOptions = {}): PriceSeries[] {
  const step = options.stepSeconds ?? 3600;
  if (!(step > 0)) throw new RangeError(`stepSeconds must be > 0, got ${step}`);
  const stepMs = step * 1000;
  const byPool = new Map<string, { pool: Pool; obs: PriceObservation[] }>();
  for (const o of observations) {
    if (options.linuxOnly !== false && !isLinux(o)) continue;
    const key = poolKey(o.pool);
    let group = byPool.get(key);
    if (!group) byPool.set(key, (group = { pool: o.pool, obs: [] }));
    group.obs.push(o);
  }
  const out: PriceSeries[] = [];
  for (const { pool, obs } of byPool.values()) {
    obs.sort((a, b) => a.timeMs - b.timeMs);
    const first = obs[0]!.timeMs;
    const last = obs[obs.length - 1]!.timeMs;
    const startMs = options.startMs ?? Math.floor(first / stepMs) * stepMs;
    const n =
      options.endMs !== undefined
        ? Math.ceil((options.endMs - startMs) / stepMs)
        : Math.floor((last - startMs) / stepMs) + 1;
    const values = new Array<number>(Math.max(0, n));
    let j = 0;
    for (let i = 0; i < values.length; i++) {
      const t = startMs + i * stepMs;
      while (j + 1 < obs.length && obs[j + 1]!.timeMs <= t) j++;
      values[i] = obs[j]!.price;
    }
    out.push({ pool, startMs, stepSeconds: step, values });
  }
  return out.sort((a, b) => (poolKey(a.pool) < poolKey(b.pool) ? -1 : 1));
}
