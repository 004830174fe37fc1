// Benchmark: forecast every pool of a price file over a horizon and time it.
//   node dist/bench/forecast.js --prices <file> [--json out] [--horizon 24h] [--repeats 5]
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { forecastAll } from '../src/forecast';
import { loadPriceFile, resample } from '../src/market';
import { parseDurationSeconds } from '../src/util/duration';

export type ForecastBenchmarkOptions = {
  prices: string;
  horizonSeconds?: number;
  stepSeconds?: number;
  repeats?: number;
  json?: string;
};

export type ForecastBenchmarkResult = {
  prices: string;
  pools: number;
  historySteps: number;
  horizonSeconds: number;
  stepSeconds: number;
  repeats: number;
  loadMs: number;
  resampleMs: number;
  forecastMs: { min: number; median: number; max: number };
  perPoolMs: number;
  node: string;
};

export function runForecastBenchmark(options: ForecastBenchmarkOptions): ForecastBenchmarkResult {
  const horizonSeconds = options.horizonSeconds ?? 86_400;
  const stepSeconds = options.stepSeconds ?? 3600;
  const repeats = options.repeats ?? 5;
  let t = performance.now();
  const file = loadPriceFile(options.prices);
  const loadMs = performance.now() - t;
  t = performance.now();
  // Loops, not Math.max(...): spreading a large file's observations overflows the call stack.
  let lastMs = -Infinity;
  for (const o of file.observations) if (o.timeMs > lastMs) lastMs = o.timeMs;
  const series = resample(file.observations, { stepSeconds, endMs: lastMs + 1 });
  const resampleMs = performance.now() - t;
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    t = performance.now();
    const forecasts = forecastAll(series, { horizonSeconds });
    times.push(performance.now() - t);
    if (forecasts.length !== series.length)
      throw new Error('forecastAll returned the wrong number of forecasts');
  }
  times.sort((a, b) => a - b);
  const result: ForecastBenchmarkResult = {
    prices: options.prices,
    pools: series.length,
    historySteps: series.reduce((n, s) => Math.max(n, s.values.length), 0),
    horizonSeconds,
    stepSeconds,
    repeats,
    loadMs,
    resampleMs,
    forecastMs: {
      min: times[0]!,
      median: times[Math.floor(times.length / 2)]!,
      max: times[times.length - 1]!,
    },
    perPoolMs: times[Math.floor(times.length / 2)]! / series.length,
    node: process.version,
  };
  if (options.json) writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

export function formatForecastBenchmark(r: ForecastBenchmarkResult): string {
  const rows: [string, string][] = [
    ['price file', r.prices],
    ['pools', String(r.pools)],
    ['history (steps)', String(r.historySteps)],
    ['horizon / step', `${r.horizonSeconds / 3600} h / ${r.stepSeconds / 60} min`],
    ['load + parse', `${r.loadMs.toFixed(0)} ms`],
    ['resample', `${r.resampleMs.toFixed(0)} ms`],
    [`forecastAll (median of ${r.repeats})`, `${r.forecastMs.median.toFixed(1)} ms`],
    ['forecastAll min / max', `${r.forecastMs.min.toFixed(1)} / ${r.forecastMs.max.toFixed(1)} ms`],
    ['per pool', `${r.perPoolMs.toFixed(3)} ms`],
    ['goal: all pools < 1 s', r.forecastMs.median < 1000 ? 'met' : 'NOT met'],
  ];
  const w = rows.reduce((n, [k]) => Math.max(n, k.length), 0);
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const prices = arg(argv, '--prices');
  if (!prices) {
    process.stderr.write(
      'usage: node dist/bench/forecast.js --prices <file> [--json out] [--horizon 24h] [--repeats 5]\n',
    );
    process.exit(2);
  }
  const horizon = arg(argv, '--horizon');
  const repeats = arg(argv, '--repeats');
  const result = runForecastBenchmark({
    prices,
    json: arg(argv, '--json'),
    horizonSeconds: horizon ? parseDurationSeconds(horizon) : undefined,
    repeats: repeats ? Number(repeats) : undefined,
  });
  console.log(formatForecastBenchmark(result));
}
