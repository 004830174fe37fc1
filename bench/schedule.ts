/**
 * Scheduling benchmark: every workflow × price/trace window × seed, every policy, in the
 * trace-driven simulator (src/sim). See docs/allocation.md for the model and the mapping.
 *
 *   npx tsc && node dist/cli/main.js bench schedule --workflows ../shared/data/workflows \
 *     --traces ../shared/data/spot-traces --prices ../shared/data/spot-prices/spotlake-2024-01-01-to-24.csv \
 *     [--runtime-scale 30] [--deadline-factor 1.5] [--seeds 5] [--windows 3] --json out.json
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SingleBar } from 'cli-progress';
import { preferencesSchema } from '../src/allocate/preferences';
import { historyBefore, loadMarket, type MarketSetup } from '../src/allocate/plan';
import { dagArrays, type DagArrays } from '../src/allocate/rank';
import { resolveFleet, type AllocationForecast, type ResolvedFleet } from '../src/allocate/types';
import { loadWorkflowFile } from '../src/dag';
import { forecastAll, type PriceForecast } from '../src/forecast';
import { loadSkyPilotTrace, loadSkyPilotTraces, type AvailabilityTrace } from '../src/market';
import { OracleForecast } from '../src/sim/oracle';
import {
  eagerNextZonePolicy,
  greedyFailoverPolicy,
  lowerBoundCost,
  onDemandHeftPolicy,
  priceCapacityOptimizedPolicy,
  spotdagPolicy,
  uniformProgressPolicy,
  type PolicyEnv,
} from '../src/sim/policies';
import { buildScenario, type Scenario } from '../src/sim/scenario';
import { simulate, type SimPolicy, type SimResult } from '../src/sim/simulator';
import { pushAll } from '../src/util/array';

export const ALL_POLICIES = [
  'spotdag',
  'on-demand-heft',
  'greedy-failover',
  'eager-next-zone',
  'price-capacity-optimized',
  'uniform-progress',
  'oracle-informed-heuristic',
  'spotdag-heft-order',
  'spotdag-topo-order',
  'spotdag-no-forecast',
] as const;
/** A built-in policy, the bound, or a caller's (`extraPolicies`). */
export type PolicyName = (typeof ALL_POLICIES)[number] | 'lower-bound' | (string & {});

/** A policy a caller adds to the run (`bench order`'s PageRank mixes): same scenarios, same table. */
export interface ExtraPolicy {
  name: string;
  make: (env: PolicyEnv, scenario: Scenario) => SimPolicy;
}

export interface ScheduleBenchmarkOptions {
  workflows: string[];
  /** Trace files or directories (every .json under them), pooled. */
  traces: string | string[];
  prices: string;
  /** Spot Advisor JSON: instance shapes beyond the built-in table (c5/m5/r5/t3/p2/p3). */
  advisor?: string;
  runtimeScale?: number;
  deadlineFactor?: number;
  seeds?: number;
  windows?: number;
  /** Price history required before the first window (default 8 days, less if the file is shorter). */
  historyDays?: number;
  maxInstances?: number;
  policies?: string[];
  extraPolicies?: ExtraPolicy[];
  json?: string;
  progress?: boolean;
  print?: boolean;
  /** Workflows already in memory (real jobs' DAGs, `learn update`), as they are: no runtime scale. */
  dags?: Array<{ name: string; d: DagArrays }>;
  /** Sees every run as it ends, with the DAG it ran (a caller's own progress, episodes). */
  onRun?: (run: ScheduleRun, d: DagArrays) => void;
}

export interface ScheduleRun {
  workflow: string;
  subTasks: number;
  window: number;
  startIso: string;
  seed: number;
  policy: PolicyName;
  costUsd: number;
  makespanSeconds: number | null;
  deadlineSeconds: number;
  deadlineMet: boolean | null;
  interruptions: number;
  launchFailures: number;
  lostWorkHours: number;
  replans: number;
  instances: number;
  onDemandTaskFraction: number;
  predictedCostUsd: number | null;
  costVsOnDemand: number;
  makespanVsHeft: number | null;
  wallMs: number;
  /** oracle-informed-heuristic: which of its runs is reported. */
  variant?: string;
  error?: string;
}

export interface PolicySummary {
  policy: PolicyName;
  runs: number;
  meanCost: number;
  /** Mean over runs of cost / cost of on-demand-heft in the same scenario. */
  costVsOnDemand: number;
  /** Mean over runs of makespan / makespan of on-demand-heft. */
  makespanVsHeft: number | null;
  deadlineMetPct: number | null;
  lostWorkHours: number;
  interruptions: number;
  /** Mean over runs of cost / cost of uniform-progress, of the oracle-informed heuristic, of the lower bound. */
  costVsUniformProgress: number | null;
  costVsOracleHeuristic: number | null;
  /** For spotdag: the gap to the limit. */
  costVsLowerBound: number | null;
  errors: number;
}

export interface ScheduleBenchmarkResult {
  options: Required<
    Omit<
      ScheduleBenchmarkOptions,
      'json' | 'progress' | 'print' | 'policies' | 'advisor' | 'extraPolicies' | 'onRun' | 'dags'
    >
  > & {
    policies: string[];
  };
  windows: Array<{ window: number; startIso: string }>;
  runs: ScheduleRun[];
  summary: PolicySummary[];
  elapsedSeconds: number;
}

/** Every `.json` file under the given files or directories (recursively), sorted. */
export function expandFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p, { recursive: true }) as string[])
        if (f.endsWith('.json')) out.push(path.join(p, f));
    } else out.push(p);
  }
  return [...new Set(out)].sort();
}

function loadTraces(paths: string | string[]): AvailabilityTrace[] {
  const out: AvailabilityTrace[] = [];
  for (const p of typeof paths === 'string' ? [paths] : paths)
    pushAll(out, statSync(p).isDirectory() ? loadSkyPilotTraces(p) : [loadSkyPilotTrace(p)]);
  return out;
}

/**
 * Window start times: `windows` points evenly spaced over the part of the price data that has
 * `historyDays` of history before it and 2 days after it (both shrunk when the data is shorter).
 */
export function windowStarts(market: MarketSetup, windows: number, historyDays: number): number[] {
  let first = Infinity;
  let last = -Infinity;
  for (const s of market.series) {
    first = Math.min(first, s.startMs);
    last = Math.max(last, s.startMs + s.values.length * s.stepSeconds * 1000);
  }
  const span = last - first;
  const history = Math.min(historyDays * 86_400_000, span / 2);
  const after = Math.min(2 * 86_400_000, (span - history) / 2);
  const lo = first + history;
  const hi = Math.max(lo, last - after);
  const hour = 3_600_000;
  return Array.from(
    { length: windows },
    (_, w) => Math.floor((windows === 1 ? lo : lo + ((hi - lo) * w) / (windows - 1)) / hour) * hour,
  );
}

export interface Progress {
  start(total: number, value: number, payload: { detail: string }): void;
  increment(by: number, payload?: { detail: string }): void;
  stop(): void;
}

/**
 * cli-progress on a terminal. The benchmarks run synchronously, so cli-progress's timers never
 * fire when stderr is not a terminal: there, a plain line every 10 s instead.
 */
export function progressBar(label: string, unit: string, total: number): Progress {
  if (process.stderr.isTTY) {
    return new SingleBar({
      format: `${label} [{bar}] {value}/{total} ${unit} | {eta_formatted} left | {detail}`,
      stream: process.stderr,
      hideCursor: true,
    });
  }
  let value = 0;
  let last = 0;
  const t0 = performance.now();
  let detail = '';
  return {
    start: () => undefined,
    increment(by, p) {
      value += by;
      if (p) detail = p.detail;
      const now = performance.now();
      if (now - last >= 10_000 || value === total) {
        last = now;
        const eta = value > 0 ? ((now - t0) / value) * (total - value) : 0;
        process.stderr.write(
          `${label} ${value}/${total} ${unit}, ${((now - t0) / 1000).toFixed(0)} s, ~${(eta / 1000).toFixed(0)} s left (${detail})\n`,
        );
      }
    },
    stop: () => undefined,
  };
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** The oracle-informed heuristic is the best of spotdag's allocator fed the actual future in these orders. */
const ORACLE_ORDERS = ['pagerank', 'heft', 'topological'] as const;

/**
 * The policies a benchmark policy runs: one, or for `oracle-informed-heuristic` one per order of
 * ORACLE_ORDERS (the cheapest run that meets the deadline is reported; none does: the earliest).
 */
function makePolicies(
  name: (typeof ALL_POLICIES)[number],
  env: PolicyEnv,
  scenario: Scenario,
  checkpointForecast: AllocationForecast,
): SimPolicy[] {
  if (name === 'oracle-informed-heuristic')
    return ORACLE_ORDERS.map((order) =>
      spotdagPolicy(env, { name: `${name}/${order}`, order, forecast: new OracleForecast(scenario.market) }),
    );
  return [makePolicy(name, env, scenario, checkpointForecast)];
}

function bestOf(results: SimResult[]): SimResult {
  const met = results.filter((r) => r.deadlineMet);
  if (met.length) return met.reduce((a, b) => (b.costUsd < a.costUsd ? b : a));
  return results.reduce((a, b) => (b.makespanSeconds < a.makespanSeconds ? b : a));
}

function makePolicy(
  name: Exclude<(typeof ALL_POLICIES)[number], 'oracle-informed-heuristic'>,
  env: PolicyEnv,
  scenario: Scenario,
  checkpointForecast: AllocationForecast,
): SimPolicy {
  switch (name) {
    case 'spotdag':
      return spotdagPolicy(env, { forecast: scenario.forecast() });
    case 'spotdag-heft-order':
      return spotdagPolicy(env, { name, order: 'heft', forecast: scenario.forecast() });
    case 'spotdag-topo-order':
      return spotdagPolicy(env, { name, order: 'topological', forecast: scenario.forecast() });
    case 'spotdag-no-forecast':
      return spotdagPolicy(env, { name, forecast: scenario.noForecast() });
    case 'on-demand-heft':
      return onDemandHeftPolicy(env);
    case 'greedy-failover':
      return greedyFailoverPolicy(env);
    case 'eager-next-zone':
      return eagerNextZonePolicy(env);
    case 'price-capacity-optimized':
      return priceCapacityOptimizedPolicy(env, (i) => scenario.hazardAtStart[i]!);
    case 'uniform-progress':
      return uniformProgressPolicy(env, { checkpointForecast });
  }
}

/** Per policy, over `runs` (of any scenarios, each policy's ratios paired within its scenario). */
export function summariseRuns(runs: ScheduleRun[], names: PolicyName[]): PolicySummary[] {
  const byScenario = new Map<string, Map<string, ScheduleRun>>();
  for (const r of runs) {
    const key = `${r.workflow}|${r.window}|${r.seed}`;
    let m = byScenario.get(key);
    if (!m) byScenario.set(key, (m = new Map()));
    m.set(r.policy, r);
  }
  return names.map((policy) => {
    const mine = runs.filter((r) => r.policy === policy);
    const ok = mine.filter((r) => !r.error);
    const ratio = (other: string) => {
      const xs: number[] = [];
      for (const r of ok) {
        const o = byScenario.get(`${r.workflow}|${r.window}|${r.seed}`)?.get(other);
        if (o && !o.error && o.costUsd > 0) xs.push(r.costUsd / o.costUsd);
      }
      return xs.length ? mean(xs) : null;
    };
    const makespans = ok.map((r) => r.makespanVsHeft).filter((x): x is number => x !== null);
    const met = ok.map((r) => r.deadlineMet).filter((x): x is boolean => x !== null);
    return {
      policy,
      runs: mine.length,
      meanCost: mean(ok.map((r) => r.costUsd)),
      costVsOnDemand: mean(ok.map((r) => r.costVsOnDemand).filter((x) => Number.isFinite(x))),
      makespanVsHeft: makespans.length ? mean(makespans) : null,
      deadlineMetPct: met.length
        ? (100 * met.filter(Boolean).length) / (met.length + mine.length - ok.length)
        : null,
      lostWorkHours: mean(ok.map((r) => r.lostWorkHours)),
      interruptions: mean(ok.map((r) => r.interruptions)),
      costVsUniformProgress: ratio('uniform-progress'),
      costVsOracleHeuristic: ratio('oracle-informed-heuristic'),
      costVsLowerBound: ratio('lower-bound'),
      errors: mine.length - ok.length,
    };
  });
}

export function runScheduleBenchmark(options: ScheduleBenchmarkOptions): ScheduleBenchmarkResult {
  const t0 = performance.now();
  const runtimeScale = options.runtimeScale ?? 30;
  const deadlineFactor = options.deadlineFactor ?? 1.5;
  const seeds = options.seeds ?? 5;
  const windows = options.windows ?? 3;
  const historyDays = options.historyDays ?? 8;
  const maxInstances = options.maxInstances ?? 64;
  const policies = (options.policies?.length ? options.policies : [...ALL_POLICIES]) as Array<
    (typeof ALL_POLICIES)[number]
  >;
  for (const p of policies)
    if (!(ALL_POLICIES as readonly string[]).includes(p)) throw new Error(`unknown policy ${p}`);
  const fleet: ResolvedFleet = resolveFleet({ maxInstances });

  const files = expandFiles(options.workflows);
  const workflows: Array<{ name: string; d: DagArrays }> = files.map((f) => ({
    name: path.basename(f, '.json'),
    d: dagArrays(loadWorkflowFile(f, { runtimeScale })),
  }));
  pushAll(workflows, options.dags ?? []);
  if (workflows.length === 0) throw new Error('no workflow files');
  const market = loadMarket(options.prices, { advisor: options.advisor });
  const traces = loadTraces(options.traces);
  const starts = windowStarts(market, windows, historyDays);

  const extras = options.extraPolicies ?? [];
  const total = starts.length * seeds * workflows.length * (policies.length + extras.length);
  const bar = options.progress !== false ? progressBar('bench schedule', 'runs', total) : undefined;
  bar?.start(total, 0, { detail: '' });

  const runs: ScheduleRun[] = [];
  starts.forEach((startMs, window) => {
    const forecasts: PriceForecast[] = forecastAll(historyBefore(market.series, startMs), {
      horizonSeconds: 48 * 3600,
    });
    for (let seed = 0; seed < seeds; seed++) {
      const scenario = buildScenario({
        market,
        traces,
        startMs,
        seed,
        window,
        windowStrideSeconds: 86400,
        forecasts,
      });
      // Every policy checkpoints by the same rule from the forecast made at the start (src/sim/simulator.ts).
      const checkpointForecast = scenario.forecast();
      for (const wf of workflows) {
        const basePrefs = preferencesSchema.parse({ objective: 'minimize-cost' });
        const baseEnv: PolicyEnv = { d: wf.d, fleet, preferences: basePrefs, market: scenario.market };
        const heftPlan = onDemandHeftPolicy(baseEnv).plan();
        const deadline = deadlineFactor * heftPlan.predictedMakespanSeconds;
        const preferences = preferencesSchema.parse({ objective: 'minimize-cost', deadline });
        const env: PolicyEnv = { ...baseEnv, preferences };
        const results = new Map<string, ScheduleRun>();
        const made = (name: string) => {
          const extra = extras.find((e) => e.name === name);
          if (extra) return [extra.make(env, scenario)];
          return makePolicies(name as (typeof ALL_POLICIES)[number], env, scenario, checkpointForecast);
        };
        for (const name of [...policies, ...extras.map((e) => e.name)]) {
          bar?.increment(0, { detail: `${wf.name.slice(0, 28)} w${window} s${seed} ${name}` });
          const started = performance.now();
          let run: ScheduleRun;
          try {
            const r = bestOf(
              made(name).map((policy) =>
                simulate({
                  d: wf.d,
                  market: scenario.market,
                  fleet,
                  preferences,
                  checkpointForecast,
                  policy,
                }),
              ),
            );
            run = {
              workflow: wf.name,
              subTasks: wf.d.ids.length,
              window,
              startIso: new Date(startMs).toISOString(),
              seed,
              policy: name,
              costUsd: r.costUsd,
              makespanSeconds: r.makespanSeconds,
              deadlineSeconds: deadline,
              deadlineMet: r.deadlineMet,
              interruptions: r.interruptions,
              launchFailures: r.launchFailures,
              lostWorkHours: r.lostWorkHours,
              replans: r.replans,
              instances: r.instancesLaunched,
              onDemandTaskFraction: r.onDemandTaskFraction,
              predictedCostUsd: r.predictedCostUsd,
              costVsOnDemand: NaN,
              makespanVsHeft: null,
              wallMs: performance.now() - started,
              ...(r.policy !== name ? { variant: r.policy } : {}),
            };
          } catch (err) {
            run = {
              workflow: wf.name,
              subTasks: wf.d.ids.length,
              window,
              startIso: new Date(startMs).toISOString(),
              seed,
              policy: name,
              costUsd: NaN,
              makespanSeconds: null,
              deadlineSeconds: deadline,
              deadlineMet: false,
              interruptions: 0,
              launchFailures: 0,
              lostWorkHours: 0,
              replans: 0,
              instances: 0,
              onDemandTaskFraction: 0,
              predictedCostUsd: null,
              costVsOnDemand: NaN,
              makespanVsHeft: null,
              wallMs: performance.now() - started,
              error: (err as Error).message,
            };
          }
          results.set(name, run);
          runs.push(run);
          options.onRun?.(run, wf.d);
          bar?.increment(1);
        }
        const lb: ScheduleRun = {
          workflow: wf.name,
          subTasks: wf.d.ids.length,
          window,
          startIso: new Date(startMs).toISOString(),
          seed,
          policy: 'lower-bound',
          costUsd: lowerBoundCost(env, deadline),
          makespanSeconds: null,
          deadlineSeconds: deadline,
          deadlineMet: null,
          interruptions: 0,
          launchFailures: 0,
          lostWorkHours: 0,
          replans: 0,
          instances: 0,
          onDemandTaskFraction: 0,
          predictedCostUsd: null,
          costVsOnDemand: NaN,
          makespanVsHeft: null,
          wallMs: 0,
        };
        results.set('lower-bound', lb);
        runs.push(lb);
        // The bound holds for every run that ends by its makespan, deadline met or not.
        for (const r of results.values()) {
          if (r.error || r.makespanSeconds === null) continue;
          const bound = lowerBoundCost(env, r.makespanSeconds);
          if (r.costUsd < bound - 1e-9)
            throw new Error(`${r.policy} on ${wf.name} costs ${r.costUsd}, below the lower bound ${bound}`);
        }
        const od = results.get('on-demand-heft');
        for (const r of results.values()) {
          if (od && od.costUsd > 0) r.costVsOnDemand = r.costUsd / od.costUsd;
          if (od?.makespanSeconds && r.makespanSeconds !== null)
            r.makespanVsHeft = r.makespanSeconds / od.makespanSeconds;
        }
      }
    }
  });
  bar?.stop();

  const names: PolicyName[] = [...policies, ...extras.map((e) => e.name), 'lower-bound'];
  const summary = summariseRuns(runs, names);
  const result: ScheduleBenchmarkResult = {
    options: {
      workflows: files,
      traces: options.traces,
      prices: options.prices,
      runtimeScale,
      deadlineFactor,
      seeds,
      windows,
      historyDays,
      maxInstances,
      policies,
    },
    windows: starts.map((s, window) => ({ window, startIso: new Date(s).toISOString() })),
    runs,
    summary,
    elapsedSeconds: (performance.now() - t0) / 1000,
  };
  if (options.json) writeFileSync(options.json, `${JSON.stringify(result, null, 1)}\n`);
  if (options.print !== false) process.stdout.write(formatScheduleBenchmark(result));
  return result;
}

const fmt = (x: number | null, digits = 3) => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(digits));

export function formatScheduleBenchmark(result: ScheduleBenchmarkResult): string {
  const o = result.options;
  const rows = [
    [
      'policy',
      'runs',
      'mean cost $',
      'vs on-demand',
      'vs UP',
      'vs oracle',
      'vs bound',
      'makespan/HEFT',
      'deadline met %',
      'lost work h',
      'interruptions',
      'errors',
    ],
    ...result.summary.map((s) => [
      s.policy,
      String(s.runs),
      fmt(s.meanCost, 4),
      fmt(s.costVsOnDemand),
      fmt(s.costVsUniformProgress),
      fmt(s.costVsOracleHeuristic),
      fmt(s.costVsLowerBound),
      fmt(s.makespanVsHeft),
      fmt(s.deadlineMetPct, 1),
      fmt(s.lostWorkHours, 2),
      fmt(s.interruptions, 1),
      String(s.errors),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => rows.reduce((w, r) => Math.max(w, r[c]!.length), 0));
  const lines = rows.map((r) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  );
  const spotdag = result.summary.find((x) => x.policy === 'spotdag');
  const gap = spotdag?.costVsLowerBound
    ? `gap to the limit: spotdag costs ${fmt(spotdag.costVsLowerBound)} × the lower bound (mean of per-scenario ratios)\n`
    : '';
  return (
    `workflows ${o.workflows.length}, windows ${o.windows} (${result.windows.map((w) => w.startIso.slice(0, 13)).join(', ')}), ` +
    `seeds ${o.seeds}, runtime ×${o.runtimeScale}, deadline ${o.deadlineFactor} × HEFT on-demand makespan, ` +
    `≤ ${o.maxInstances} instances; ${result.elapsedSeconds.toFixed(0)} s\n` +
    `${lines.join('\n')}\n` +
    'vs on-demand / vs UP / vs oracle / vs bound / makespan: means over runs of per-scenario ratios\n' +
    'oracle: oracle-informed-heuristic, a heuristic that knows the future (no exact optimum is computable for\n' +
    'these DAGs; `bench single` has one); bound: the proven lower bound (docs/allocation.md)\n' +
    gap
  );
}
