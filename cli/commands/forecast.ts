import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { formatBacktestReport, runBacktest } from '../../src/forecast';
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

interface BacktestCliOptions {
  prices: string;
  traces?: string;
  advisor?: string;
  testDays: number;
  horizon: number;
  step: number;
  duration: number;
  traceTestFraction: number;
  json?: string;
}

/** Loads a price file of any supported format as regular series that all end at its last observation. */
export function loadPriceSeries(file: string, stepSeconds: number): PriceSeries[] {
  const { observations } = loadPriceFile(file);
  if (observations.length === 0) throw new BacktestInputError(`${file}: no (Linux/UNIX) price records`);
  const lastMs = Math.max(...observations.map((o) => o.timeMs));
  return resample(observations, { stepSeconds, endMs: lastMs + 1 });
}

export function registerForecast(program: Command): void {
  const forecast = program
    .command('forecast')
    .description('spot price forecasts and interruption probabilities');
  forecast
    .command('backtest')
    .description('measure the price forecasts and the interruption model on held-out data')
    .requiredOption(
      '--prices <file>',
      'spot prices: SpotLake .csv, history .tsv or describe-spot-price-history .json',
    )
    .option('--traces <dir>', 'SkyPilot availability/preemption traces (every .json under the directory)')
    .option('--advisor <file>', 'Spot Advisor JSON: interruption-band priors for the trace pools')
    .option('--test-days <n>', 'test period at the end of the price data, in days', positiveNumber, 7)
    .option('--horizon <duration>', 'forecast horizon', duration, 86_400)
    .option('--step <duration>', 'price grid step', duration, 3600)
    .option('--duration <duration>', 'sub-task duration d for P(interrupted within d)', duration, 3600)
    .option('--trace-test-fraction <f>', 'share held out at the end of each trace', fraction, 0.3)
    .option('--json <out>', 'write the full report as JSON to this file')
    .addHelpText(
      'after',
      '\nExample:\n  spotdag forecast backtest --prices spotlake.csv --traces spot-traces --test-days 7 --horizon 24h --json backtest.json',
    )
    .action((opts: BacktestCliOptions) => {
      const series = loadPriceSeries(opts.prices, opts.step);
      const traces = opts.traces ? loadSkyPilotTraces(opts.traces) : undefined;
      if (opts.traces && traces!.length === 0)
        throw new BacktestInputError(`${opts.traces}: no .json trace files found`);
      const advisor: SpotAdvisorData | undefined = opts.advisor ? loadSpotAdvisor(opts.advisor) : undefined;
      let report;
      try {
        report = runBacktest({
          prices: series,
          traces,
          testSeconds: opts.testDays * 86_400,
          horizonSeconds: opts.horizon,
          interruptions: { durationSeconds: opts.duration, testFraction: opts.traceTestFraction },
          priorBand: advisor ? (pool) => advisorBand(advisor, pool.region, pool.instanceType) : undefined,
        });
      } catch (err) {
        if (err instanceof RangeError) throw new BacktestInputError(`${opts.prices}: ${err.message}`);
        throw err;
      }
      console.log(formatBacktestReport(report));
      if (opts.json) {
        writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
        console.log(`\nWrote ${opts.json}`);
      }
    });
}
