/**
 * A benchmark scenario on a compressed clock, for running the same market twice: in the simulator
 * and as a real job on local instances (`spotdag bench twin`). `timeScale` market seconds pass in
 * one real second: trace ticks and price steps shrink by that factor, prices per hour and hazards
 * per hour grow by it, so that a job measured in real seconds pays what it would over the market
 * time it spans. Everything here is in job seconds (from the job's start) of that compressed clock:
 * the simulator runs it as is, and the local fleet replays it (src/provision/replay-market.ts).
 */
import { StepFunction, type MarketAllocationForecast } from '../allocate/market-forecast';
import type { InterruptionModelJSON } from '../forecast/interruption';
import type { MarketView, PoolView } from '../job/types';
import type { AvailabilityTrace } from '../market';
import { CyclicTrace, SimMarket, type SimPool } from './market';
import type { Scenario } from './scenario';

export interface ReplayScenario {
  /** Actual prices and availability, in job seconds of the compressed clock. */
  market: SimMarket;
  /** What planning is told at the start: forecast prices and rates per pool (a view made at second 0). */
  pools: PoolView[];
  /** The interruption model at the start; its times are ms relative to the job's start. */
  model: InterruptionModelJSON;
  timeScale: number;
}

/**
 * Compresses `scenario` (market seconds) by `timeScale`, keeping the pools in `keys` (all when
 * omitted), with forecasts over `horizonSeconds` of market time.
 */
export function compressScenario(
  scenario: Scenario,
  options: { timeScale: number; keys?: string[]; horizonSeconds: number },
): ReplayScenario {
  const k = options.timeScale;
  if (!(k > 0)) throw new RangeError(`timeScale must be > 0, got ${k}`);
  const forecast: MarketAllocationForecast = scenario.forecast();
  const wanted = options.keys ? new Set(options.keys) : undefined;
  const chosen = scenario.market.pools
    .map((pool, i) => ({ pool, i }))
    .filter(({ pool }) => !wanted || wanted.has(pool.option.key));
  if (wanted && chosen.length !== wanted.size) {
    const have = new Set(chosen.map((c) => c.pool.option.key));
    throw new Error(`the scenario has no pool ${[...wanted].filter((key) => !have.has(key)).join(', ')}`);
  }
  const pools: SimPool[] = chosen.map(({ pool }) => ({
    option: { ...pool.option, onDemandPricePerHour: pool.option.onDemandPricePerHour * k },
    price: new StepFunction(
      pool.price.originSeconds / k,
      pool.price.stepSeconds / k,
      Array.from(pool.price.values, (v) => v * k),
    ),
    trace: new CyclicTrace(compressTrace(pool.trace.trace, k)),
    offsetTicks: pool.offsetTicks,
    traceName: pool.traceName,
  }));
  const step = 3600;
  const steps = Math.max(1, Math.ceil(options.horizonSeconds / step));
  const views: PoolView[] = chosen.map(({ pool, i }) => {
    const f = forecast.pools.findIndex((p) => p.key === pool.option.key);
    if (f < 0) throw new Error(`the scenario's forecast has no pool ${pool.option.key}`);
    const mean: number[] = [];
    const upper: number[] = [];
    for (let s = 0; s < steps; s++) {
      mean.push(forecast.spotPrice(f, s * step, (s + 1) * step) * k);
      upper.push(forecast.spotPriceUpper(f, s * step, (s + 1) * step) * k);
    }
    void i;
    return {
      key: pool.option.key,
      instanceType: pool.option.instanceType,
      zone: pool.option.zone,
      region: pool.option.region,
      market: 'spot',
      vcpu: pool.option.vcpu,
      memoryMiB: pool.option.memoryMiB,
      pricePerHour: mean,
      upperPricePerHour: upper,
      stepSeconds: step / k,
      interruptionsPerHour: forecast.hazardPerHour(f) * k,
      onDemandPricePerHour: pool.option.onDemandPricePerHour * k,
    };
  });
  return {
    market: new SimMarket(pools),
    pools: views,
    model: compressModel(forecast.model.toJSON(), k, scenario.startMs),
    timeScale: k,
  };
}

function compressTrace(trace: AvailabilityTrace, k: number): AvailabilityTrace {
  return { ...trace, gapSeconds: trace.gapSeconds / k };
}

/** The model on the compressed clock: hours shrink by k, rates grow by k, times become relative. */
function compressModel(json: InterruptionModelJSON, k: number, startMs: number): InterruptionModelJSON {
  const o = json.options;
  return {
    options: {
      priorExposureHours: o.priorExposureHours / k,
      halfLifeHours: o.halfLifeHours / k,
      defaultRatePerHour: o.defaultRatePerHour * k,
      recoveryPriorHours: o.recoveryPriorHours / k,
    },
    pools: json.pools.map((p) => ({
      ...p,
      priorBeta: p.priorBeta / k,
      exposureHours: p.exposureHours / k,
      downHours: p.downHours / k,
      lastState: p.lastState && { ...p.lastState, atMs: (p.lastState.atMs - startMs) / k },
    })),
  };
}

/** The model with its relative times moved to a job that started at `jobStartMs`. */
export function modelAt(json: InterruptionModelJSON, jobStartMs: number): InterruptionModelJSON {
  return {
    options: { ...json.options },
    pools: json.pools.map((p) => ({
      ...p,
      lastState: p.lastState && { ...p.lastState, atMs: p.lastState.atMs + jobStartMs },
    })),
  };
}

/** The view planning gets of a replay scenario for a job that started at `jobStartMs`. */
export function replayView(
  scenario: Pick<ReplayScenario, 'pools'>,
  jobStartMs: number,
  horizonSeconds: number,
): MarketView {
  return { generatedAtMs: jobStartMs, horizonSeconds, pools: scenario.pools };
}

/** A pool of a hand-made scenario: constant prices, a trace of availability ticks (true = capacity). */
export interface HandMadePool {
  instanceType: string;
  zone: string;
  region: string;
  vcpu: number;
  memoryMiB: number;
  spotPricePerHour: number;
  onDemandPricePerHour: number;
  /** Availability per tick from the job's start (true: spot capacity), repeated cyclically. */
  available: boolean[];
  tickSeconds: number;
  /** The hazard planning assumes at the start (interruptions per hour of the compressed clock). */
  hazardPerHour: number;
}

/**
 * A scenario built by hand, already on the clock of the job (tests, the twin's crafted cases):
 * constant prices, the given availability, priors at the given hazards.
 */
export function handMadeScenario(pools: HandMadePool[], horizonSeconds = 3600): ReplayScenario {
  const simPools: SimPool[] = pools.map((p) => {
    const key = `${p.instanceType}@${p.zone}`;
    return {
      option: {
        key,
        instanceType: p.instanceType,
        region: p.region,
        zone: p.zone,
        vcpu: p.vcpu,
        memoryMiB: p.memoryMiB,
        onDemandPricePerHour: p.onDemandPricePerHour,
      },
      price: new StepFunction(0, horizonSeconds, [p.spotPricePerHour]),
      trace: new CyclicTrace({
        name: key,
        startMs: 0,
        gapSeconds: p.tickSeconds,
        unavailable: p.available.map((a) => !a),
      }),
      offsetTicks: 0,
      traceName: key,
    };
  });
  const priorHours = 1;
  return {
    market: new SimMarket(simPools),
    pools: pools.map((p) => ({
      key: `${p.instanceType}@${p.zone}`,
      instanceType: p.instanceType,
      zone: p.zone,
      region: p.region,
      market: 'spot' as const,
      vcpu: p.vcpu,
      memoryMiB: p.memoryMiB,
      pricePerHour: [p.spotPricePerHour],
      upperPricePerHour: [p.spotPricePerHour * 1.2],
      stepSeconds: horizonSeconds,
      interruptionsPerHour: p.hazardPerHour,
      onDemandPricePerHour: p.onDemandPricePerHour,
    })),
    model: {
      options: {
        priorExposureHours: priorHours,
        halfLifeHours: 1e9,
        defaultRatePerHour: 1,
        recoveryPriorHours: 0.01,
      },
      pools: pools.map((p) => ({
        pool: { instanceType: p.instanceType, region: p.region, zone: p.zone },
        priorAlpha: p.hazardPerHour * priorHours,
        priorBeta: priorHours,
        events: 0,
        exposureHours: 0,
        recoveries: 0,
        downHours: 0,
        lastState: { atMs: -1, available: p.available[0] ?? true },
      })),
    },
    timeScale: 1,
  };
}
