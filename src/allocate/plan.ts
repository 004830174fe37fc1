/**
 * Planning from files (the thin I/O adapter behind `spotdag plan <job> --schedule`) and the
 * human-readable schedule table.
 */
import { loadPlanFile, type TaskDag } from '../dag';
import { forecastAll, InterruptionModel, spotLakeIfBandToAdvisorBand, type PriceForecast } from '../forecast';
import {
  InstanceCatalog,
  loadPriceFile,
  loadSpotAdvisor,
  resample,
  type PriceObservation,
  type PriceSeries,
  type SpotLakeRecord,
} from '../market';
import { maxOf, pushAll } from '../util/array';
import { formatDuration } from '../util/duration';
import { allocate, type AllocateOptions } from './allocate';
import { marketForecast, type MarketAllocationForecast } from './market-forecast';
import { horizonSeconds, preferencesSchema, type Preferences, type PreferencesInput } from './preferences';
import type { AllocationFleet, SpotdagSchedule } from './types';

/** Latest on-demand price per `instanceType@region` from SpotLake rows. */
export function onDemandPrices(rows: SpotLakeRecord[]): Map<string, number> {
  const latest = new Map<string, { t: number; price: number }>();
  for (const r of rows) {
    if (!(r.onDemandPrice > 0)) continue;
    const key = `${r.pool.instanceType}@${r.pool.region}`;
    const prev = latest.get(key);
    if (!prev || r.timeMs >= prev.t) latest.set(key, { t: r.timeMs, price: r.onDemandPrice });
  }
  return new Map([...latest].map(([k, v]) => [k, v.price]));
}

export interface MarketSetup {
  /** Regular price series per pool (hourly by default). */
  series: PriceSeries[];
  /** On-demand $/h by `instanceType@region`; pools without one are priced at 3 × their highest spot price. */
  onDemand: Map<string, number>;
  /** SpotLake interruption bands by pool key (priors of the interruption model). */
  ifBands?: Map<string, number>;
  catalog?: InstanceCatalog;
}

/** Loads a price file (SpotLake .csv, history .tsv, AWS .json) into a MarketSetup. */
export function loadMarket(
  pricesFile: string,
  options: { stepSeconds?: number; advisor?: string } = {},
): MarketSetup {
  const file = loadPriceFile(pricesFile);
  const observations: PriceObservation[] = file.observations;
  if (observations.length === 0) throw new Error(`${pricesFile}: no Linux/UNIX spot prices`);
  let last = -Infinity;
  for (const o of observations) if (o.timeMs > last) last = o.timeMs;
  const series = resample(observations, { stepSeconds: options.stepSeconds ?? 3600, endMs: last + 1 });
  const onDemand = onDemandPrices(file.spotLake ?? []);
  const catalog = options.advisor
    ? InstanceCatalog.fromSources({ spotAdvisor: loadSpotAdvisor(options.advisor), spotLake: file.spotLake })
    : undefined;
  return { series, onDemand, ifBands: file.ifBands, catalog };
}

/** The series cut to observations strictly before `atMs` (what was known then). */
export function historyBefore(series: PriceSeries[], atMs: number): PriceSeries[] {
  const out: PriceSeries[] = [];
  for (const s of series) {
    const n = Math.min(s.values.length, Math.floor((atMs - s.startMs) / (s.stepSeconds * 1000)));
    if (n >= 1) out.push({ ...s, values: s.values.slice(0, n) });
  }
  return out;
}

/** An interruption model with SpotLake band priors for every pool of the market. */
export function interruptionModelFor(market: MarketSetup): InterruptionModel {
  const model = new InterruptionModel();
  for (const s of market.series) {
    const band = market.ifBands?.get(`${s.pool.instanceType}@${s.pool.zone}`);
    if (band !== undefined) model.setPriorBand(s.pool, spotLakeIfBandToAdvisorBand(band));
  }
  return model;
}

/** Forecasts every pool from its history before `startMs` and wraps them for the allocator. */
export function forecastMarket(
  market: MarketSetup,
  startMs: number,
  options: { horizonSeconds?: number; model?: InterruptionModel; forecasts?: PriceForecast[] } = {},
): MarketAllocationForecast {
  const history = historyBefore(market.series, startMs);
  const forecasts =
    options.forecasts ?? forecastAll(history, { horizonSeconds: options.horizonSeconds ?? 48 * 3600 });
  const maxSpot = new Map<string, number>();
  for (const s of history) {
    const key = `${s.pool.instanceType}@${s.pool.region}`;
    maxSpot.set(key, Math.max(maxSpot.get(key) ?? 0, maxOf(s.values)));
  }
  return marketForecast({
    forecasts,
    interruptions: options.model ?? interruptionModelFor(market),
    onDemandPrice: (pool) =>
      market.onDemand.get(`${pool.instanceType}@${pool.region}`) ??
      market.catalog?.get(pool.instanceType).onDemandPrice(pool.region) ??
      (maxSpot.get(`${pool.instanceType}@${pool.region}`) ?? 0) * 3,
    catalog: market.catalog,
    startMs,
  });
}

export interface PlanScheduleOptions {
  /** JobSpec or WfFormat file. */
  file: string;
  /** Price file (SpotLake .csv, history .tsv, AWS .json). */
  prices: string;
  /** Spot Advisor JSON: instance shapes and on-demand prices beyond the built-in table. */
  advisor?: string;
  /** Multiplies WfFormat runtimes (default 1). */
  runtimeScale?: number;
  preferences?: PreferencesInput;
  fleet?: AllocationFleet;
  /** Job start (ms); default: one price step after the last observation. */
  startMs?: number;
  allocateOptions?: AllocateOptions;
  /**
   * Makes the schedule from the DAG and the forecast (default: the allocator). `spotdag plan`
   * passes the runtime controller's first decision, the schedule a job would start from.
   */
  planner?: (
    dag: TaskDag,
    forecast: MarketAllocationForecast,
    fleet: AllocationFleet | undefined,
    preferences: Preferences,
  ) => SpotdagSchedule;
}

export interface PlannedSchedule {
  name: string;
  dag: TaskDag;
  /** The WfFormat import's warnings (assumed values), for the caller to show. */
  warnings: string[];
  schedule: SpotdagSchedule;
  forecast: MarketAllocationForecast;
  startMs: number;
}

/** Loads a job and a price file, forecasts, and allocates. */
export function planSchedule(options: PlanScheduleOptions): PlannedSchedule {
  const plan = loadPlanFile(options.file, { runtimeScale: options.runtimeScale });
  const market = loadMarket(options.prices, { advisor: options.advisor });
  let end = -Infinity;
  for (const s of market.series) end = Math.max(end, s.startMs + s.values.length * s.stepSeconds * 1000);
  const startMs = options.startMs ?? end;
  const preferences = preferencesSchema.parse(
    options.preferences ?? (plan.kind === 'jobspec' ? plan.spec.preferences : {}),
  );
  const forecast = forecastMarket(market, startMs, { horizonSeconds: horizonSeconds(preferences) });
  const schedule = options.planner
    ? options.planner(plan.dag, forecast, options.fleet, preferences)
    : allocate(plan.dag, forecast, options.fleet, preferences, options.allocateOptions);
  const name =
    plan.kind === 'jobspec' ? plan.spec.name : String(plan.dag.getAttribute('name') ?? options.file);
  return { name, dag: plan.dag, warnings: plan.warnings, schedule, forecast, startMs };
}

function table(rows: string[][], right: Set<number> = new Set()): string[] {
  const widths = rows[0]!.map((_, c) => maxOf(rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    `  ${r.map((cell, c) => (right.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ')}`.trimEnd(),
  );
}

/**
 * The schedule as text: totals, one row per instance (pool, market, MaxPrice, predicted price,
 * launch and release, sub-tasks, predicted cost) and the first `maxPlacements` placements.
 */
export function formatScheduleTable(
  schedule: SpotdagSchedule,
  options: { maxPlacements?: number } = {},
): string {
  const spot = schedule.instances.filter((i) => i.market === 'spot').length;
  const perInstance = new Map<string, number>();
  for (const p of schedule.placements)
    perInstance.set(p.instanceId, (perInstance.get(p.instanceId) ?? 0) + 1);
  const bytes = schedule.transfers.reduce((a, t) => a + t.bytes, 0);
  const lines = [
    `predicted cost      $${schedule.predictedCostUsd.toFixed(4)}`,
    `predicted finish    ${formatDuration(schedule.predictedMakespanSeconds)} (${schedule.predictedMakespanSeconds.toFixed(0)} s)` +
      (schedule.deadlineSeconds !== undefined
        ? `, deadline ${formatDuration(schedule.deadlineSeconds)}`
        : ''),
    `instances           ${schedule.instances.length} (${spot} spot, ${schedule.instances.length - spot} on-demand); ` +
      `${(100 * schedule.onDemandFraction).toFixed(0)} % of sub-tasks on on-demand`,
    `order / objective   ${schedule.order} / ${schedule.objective}; expected interruptions ${schedule.predictedInterruptions.toFixed(2)}`,
    `transfers           ${schedule.transfers.length} (${(bytes / 1e6).toFixed(1)} MB)`,
    '',
    ...table(
      [
        ['instance', 'pool', 'market', 'max $/h', 'pred $/h', 'launch', 'release', 'sub-tasks', 'cost $'],
        ...schedule.instances.map((i) => [
          i.id,
          i.pool,
          i.market,
          i.maxPricePerHour.toFixed(4),
          i.predictedPricePerHour.toFixed(4),
          formatDuration(Math.max(0, i.launchAt)),
          formatDuration(i.releaseAt),
          String(perInstance.get(i.id) ?? 0),
          i.predictedCostUsd.toFixed(4),
        ]),
      ],
      new Set([3, 4, 7, 8]),
    ),
  ];
  const max = options.maxPlacements ?? 20;
  if (max > 0 && schedule.placements.length > 0) {
    lines.push(
      '',
      `placements${schedule.placements.length > max ? ` (first ${max} of ${schedule.placements.length})` : ''}`,
    );
    pushAll(
      lines,
      table(
        [
          ['sub-task', 'instance', 'start', 'finish', 'rank', 'P(int)', 'ckpt every'],
          ...schedule.placements
            .slice(0, max)
            .map((p) => [
              p.subTaskId,
              p.instanceId,
              formatDuration(p.start),
              formatDuration(p.finish),
              p.rank.toFixed(3),
              p.interruptionProbability.toFixed(3),
              p.checkpointIntervalSeconds > 0 ? formatDuration(p.checkpointIntervalSeconds) : '-',
            ]),
        ],
        new Set([4, 5]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
