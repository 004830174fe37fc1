/**
 * What the controller learns from what its job saw: spot exposure and interruptions per pool
 * update the interruption model (Gamma–Poisson, src/forecast/interruption.ts), refused launches
 * mark the pool as without capacity at that time, and pools that just interrupted or refused are
 * penalised — no new spot instance there — for a while.
 */
import { MarketAllocationForecast } from '../allocate/market-forecast';
import type { AllocationForecast } from '../allocate/types';
import type { InterruptionModel } from '../forecast/interruption';
import type { Pool } from '../market';
import type { ControllerEvent, ControllerMemory } from './types';

/** How long a pool that interrupted or refused gets no new spot instances (job seconds). */
export const PENALTY_SECONDS = 1800;

/**
 * Feeds the event's observations to the forecast's interruption model, when it has one (forecasts
 * of the local free pool or the no-forecast ablation have nothing to learn). Mutates the model.
 */
export function learnFrom(forecast: AllocationForecast, event: ControllerEvent, nowSeconds: number): void {
  if (!(forecast instanceof MarketAllocationForecast)) return;
  const pools = new Map(forecast.pools.map((p, i) => [p.key, forecast.marketPool(i)]));
  applyObservations(forecast.model, pools, event, forecast.startMs + nowSeconds * 1000);
  forecast.refresh();
}

/** The event's exposure, interruptions and refusals, recorded in `model` (pools by key). */
export function applyObservations(
  model: InterruptionModel,
  pools: ReadonlyMap<string, Pool>,
  event: ControllerEvent,
  atMs: number,
): void {
  for (const o of event.observations ?? []) {
    const pool = pools.get(o.pool);
    if (pool) model.observe(pool, o.exposureSeconds, o.interruptions);
  }
  // An interruption or a refused launch: the pool has no capacity now (it comes back at the
  // model's recovery rate).
  // What the driver sees of capacity first; a refusal or an interruption at this instant wins.
  for (const [key, available] of Object.entries(event.capacity ?? {})) {
    const pool = pools.get(key);
    if (pool) model.observeAvailability(pool, atMs, available);
  }
  for (const key of [...(event.pools ?? []), ...(event.refusedPools ?? [])]) {
    const pool = pools.get(key);
    if (pool) model.observeAvailability(pool, atMs, false);
  }
}

/**
 * Penalises the pools of the event from now on: those that interrupted for `penaltySeconds`, those
 * that refused a launch (no capacity, or a price above the MaxPrice) until the next decision at
 * least, so that a refusal is not asked for again at the same instant. Returns the pools still
 * penalised.
 */
export function penalise(
  memory: ControllerMemory,
  event: ControllerEvent,
  nowSeconds: number,
  penaltySeconds = PENALTY_SECONDS,
  refusalSeconds = 0,
): string[] {
  const until = (pool: string, seconds: number) => {
    if (seconds > 0) memory.penalties[pool] = Math.max(memory.penalties[pool] ?? 0, nowSeconds + seconds);
  };
  for (const pool of event.pools ?? []) until(pool, penaltySeconds);
  for (const pool of event.refusedPools ?? []) until(pool, refusalSeconds);
  for (const [pool, until] of Object.entries(memory.penalties))
    if (until <= nowSeconds) delete memory.penalties[pool];
  return Object.keys(memory.penalties).sort();
}
