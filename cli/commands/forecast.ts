import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { formatBacktestReport, runBacktest, type BacktestReport } from '../../src/forecast';
import {
  advisorBand,
  loadPriceFile,
  loadSkyPilotTraces,
  loadSpotAdvisor,
  resample,
  type PriceSeries,
  type SpotAdvisorData,
} from '../../src/market';
import { parseDurationSeconds } from '../../src/util/duration';
import { positiveNumber } from '../args';

/** Options that make no sense for the data given (too short for the test period, …). */
class BacktestInputError extends Error {
  readonly exitCode = 2;
}

function duration(value: string): number {
  try {
    const s = parseDurationSeconds(value);
    if (s <= 0) throw new RangeError('must be > 0');
    return s;
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function fraction(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('expected a number between 0 and 1');
  return n;
}

export interface BacktestCliOptions {
  prices?: string;
  traces?: string;
  advisor?: string;
  testDays: number;
  horizon: number;
  step: number;
  duration: number;
  traceTestFraction: number;
  leaveOneGroupOut?: boolean;
  warmupFraction: number;
  json?: string;
}

/** Loads a price file of any supported format as regular series that all end at its last observation. */
export function loadPriceSeries(file: string, stepSeconds: number): PriceSeries[] {
  const { observations } = loadPriceFile(file);
  if (observations.length === 0) throw new BacktestInputError(`${file}: no (Linux/UNIX) price records`);
  // A loop, not Math.max(...): a spread of a million observations overflows the call stack.
  let lastMs = -Infinity;
  for (const o of observations) if (o.timeMs > lastMs) lastMs = o.timeMs;
  return resample(observations, { stepSeconds, endMs: lastMs + 1 });
}

/** `spotdag forecast backtest` without the printing: loads the files and runs the backtests. */
export function runForecastBacktest(
  opts: BacktestCliOptions,
  progress: (message: string) => void = () => {},
): BacktestReport {
  if (!opts.prices && !opts.traces)
    throw new BacktestInputError('give --prices <file>, --traces <dir> or both');
  if (opts.leaveOneGroupOut && !opts.traces)
    throw new BacktestInputError('--leave-one-group-out needs --traces <dir>');
  if (opts.prices) progress(`loading ${opts.prices}`);
  const series = opts.prices ? loadPriceSeries(opts.prices, opts.step) : undefined;
  const traces = opts.traces ? loadSkyPilotTraces(opts.traces) : undefined;
  if (opts.traces && traces!.length === 0)
    throw new BacktestInputError(`${opts.traces}: no .json trace files found`);
  const advisor: SpotAdvisorData | undefined = opts.advisor ? loadSpotAdvisor(opts.advisor) : undefined;
  try {
    return runBacktest({
      prices: series,
      traces,
      testSeconds: opts.testDays * 86_400,
      horizonSeconds: opts.horizon,
      interruptions: { durationSeconds: opts.duration, testFraction: opts.traceTestFraction },
      leaveOneGroupOut: opts.leaveOneGroupOut ? { warmupFraction: opts.warmupFraction } : false,
      priorBand: advisor ? (pool) => advisorBand(advisor, pool.region, pool.instanceType) : undefined,
      onProgress: progress,
    });
  } catch (err) {
    if (err instanceof RangeError) {
      const source = [opts.prices, opts.traces].filter(Boolean).join(', ');
      throw new BacktestInputError(`${source}: ${err.message}`);
    }
    throw err;
  }
}

export function registerForecast(program: Command): void {
  const forecast = program
    .command('forecast')
    .description('spot price forecasts and interruption probabilities');
  forecast
    .command('backtest')
    .description('measure the price forecasts and the interruption model on held-out data')
    .option(
      '--prices <file>',
      'spot prices: SpotLake .csv, history .tsv or describe-spot-price-history .json',
    )
    .option('--traces <dir>', 'SkyPilot availability/preemption traces (every .json under the directory)')
    .option('--advisor <file>', 'Spot Advisor JSON: band priors for the default-options reference model')
    .option('--test-days <n>', 'test period at the end of the price data, in days', positiveNumber, 7)
    .option('--horizon <duration>', 'forecast horizon', duration, 86_400)
    .option('--step <duration>', 'price grid step', duration, 3600)
    .option('--duration <duration>', 'sub-task duration d for P(interrupted within d)', duration, 3600)
    .option('--trace-test-fraction <f>', 'share held out at the end of each trace', fraction, 0.3)
    .option(
      '--leave-one-group-out',
      'also hold out each trace folder in turn: fit on the other folders, score the held-out one',
    )
    .option(
      '--warmup-fraction <f>',
      'leave-one-group-out: share at the start of each held-out trace observed but not scored',
      fraction,
      0.3,
    )
    .option('--json <out>', 'write the full report as JSON to this file')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  spotdag forecast backtest --prices spotlake.csv --traces spot-traces --test-days 7 --horizon 24h --json backtest.json\n' +
        '  spotdag forecast backtest --traces spot-traces --leave-one-group-out --json logo.json',
    )
    .action((opts: BacktestCliOptions) => {
      const report = runForecastBacktest(opts, (message) => process.stderr.write(`${message}\n`));
      console.log(formatBacktestReport(report));
      if (opts.json) {
        writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
        console.log(`\nWrote ${opts.json}`);
      }
    });
}
