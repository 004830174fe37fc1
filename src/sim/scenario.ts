/**
 * One benchmark scenario: a price window (job start time), a seed (trace-to-pool mapping), the
 * simulated market built from them, and what spotdag knows at the start — price forecasts from the
 * history before the start and an interruption model trained on each pool's trace before its
 * offset (default 3 days of it), with SpotLake interruption bands as priors.
 */
import { forecastMarket, historyBefore, interruptionModelFor, type MarketSetup } from '../allocate/plan';
import { StepFunction, staticForecast, type MarketAllocationForecast } from '../allocate/market-forecast';
import type { AllocationForecast } from '../allocate/types';
import { InterruptionModel, bandRatePerHour, traceCounts, type PriceForecast } from '../forecast';
import type { AvailabilityTrace, Pool } from '../market';
import { CyclicTrace, mapTraces, SimMarket, type SimPool } from './market';

export interface ScenarioInput {
  market: MarketSetup;
  traces: AvailabilityTrace[];
  /** Job start (ms since epoch) in the price data. */
  startMs: number;
  seed: number;
  window?: number;
  windowStrideSeconds?: number;
  /** Trace history the interruption model learns from (default 3 days). */
  historySeconds?: number;
  /** Price forecasts made at `startMs` (shared by scenarios of the same window). */
  forecasts?: PriceForecast[];
  horizonSeconds?: number;
}

export interface Scenario {
  market: SimMarket;
  /** A fresh forecast (its own interruption model, since policies update it online). */
  forecast(): MarketAllocationForecast;
  /** The "without forecasts" ablation: last observed price, one default hazard, all pools available. */
  noForecast(): AllocationForecast;
  /** Interruption-rate estimate per pool at the start (capacity signal of the PCO emulation). */
  hazardAtStart: number[];
  startMs: number;
}

const traceCache = new WeakMap<AvailabilityTrace, CyclicTrace>();
function cyclic(trace: AvailabilityTrace): CyclicTrace {
  let c = traceCache.get(trace);
  if (!c) traceCache.set(trace, (c = new CyclicTrace(trace)));
  return c;
}

/**
 * Teaches an interruption model what a pool's trace shows in the `historySeconds` before tick
 * `offsetTicks` (the job's start, at `startMs`): exposure and interruptions, recoveries, and
 * whether capacity was there at the last tick.
 */
export function learnTraceHistory(
  model: InterruptionModel,
  pool: Pool,
  trace: AvailabilityTrace,
  offsetTicks: number,
  historySeconds: number,
  startMs: number,
): void {
  const from = Math.max(0, offsetTicks - Math.round(historySeconds / trace.gapSeconds));
  const to = offsetTicks - 1;
  if (!(to > from)) return;
  const c = traceCounts(trace, from, to);
  model.observe(pool, c.exposureSeconds, c.interruptions);
  model.observeRecovery(pool, c.downSeconds, c.recoveries);
  model.observeAvailability(pool, startMs - trace.gapSeconds * 1000, !trace.unavailable[to]!);
}

export function buildScenario(input: ScenarioInput): Scenario {
  const base = forecastMarket(input.market, input.startMs, {
    forecasts: input.forecasts,
    horizonSeconds: input.horizonSeconds,
  });
  const options = base.pools;
  const seriesByKey = new Map(input.market.series.map((s) => [`${s.pool.instanceType}@${s.pool.zone}`, s]));
  const mapping = mapTraces(
    options.map((o) => o.key),
    input.traces,
    { seed: input.seed, window: input.window, windowStrideSeconds: input.windowStrideSeconds },
  );
  const pools: SimPool[] = options.map((option, i) => {
    const s = seriesByKey.get(option.key)!;
    const { trace, offsetTicks } = mapping[i]!;
    return {
      option,
      price: new StepFunction((s.startMs - input.startMs) / 1000, s.stepSeconds, s.values),
      trace: cyclic(input.traces[trace]!),
      offsetTicks,
      traceName: input.traces[trace]!.name,
    };
  });
  const market = new SimMarket(pools);

  // The interruption model: band priors, then each pool's trace history before its offset.
  const trained = interruptionModelFor(input.market);
  const history = input.historySeconds ?? 3 * 86400;
  pools.forEach((p, i) =>
    learnTraceHistory(trained, base.marketPool(i), p.trace.trace, p.offsetTicks, history, input.startMs),
  );
  const modelJson = trained.toJSON();
  const hazardAtStart = pools.map((_, i) => trained.hazardPerHour(base.marketPool(i)));
  const forecasts = input.forecasts;

  return {
    market,
    startMs: input.startMs,
    hazardAtStart,
    forecast: () =>
      forecastMarket(input.market, input.startMs, {
        forecasts: forecasts ?? undefined,
        horizonSeconds: input.horizonSeconds,
        model: InterruptionModel.fromJSON(modelJson),
      }),
    noForecast: () => {
      const hist = historyBefore(input.market.series, input.startMs);
      const last = new Map(
        hist.map((s) => [`${s.pool.instanceType}@${s.pool.zone}`, s.values[s.values.length - 1]!]),
      );
      return staticForecast(
        options.map((pool) => ({ pool, spotPricePerHour: last.get(pool.key) ?? pool.onDemandPricePerHour })),
        bandRatePerHour(1),
      );
    },
  };
}
