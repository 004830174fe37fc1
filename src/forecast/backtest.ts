import type { AvailabilityTrace, Pool, PriceSeries } from '../market';
import { formatDuration } from '../util/duration';
import {
  backtestInterruptions,
  type InterruptionBacktest,
  type InterruptionBacktestOptions,
} from './backtest-interruptions';
import { backtestPrices, type PriceBacktest, type PriceBacktestOptions } from './backtest-prices';

export type BacktestOptions = {
  prices: PriceSeries[];
  traces?: AvailabilityTrace[];
  testSeconds?: number;
  horizonSeconds?: number;
  originStrideSeconds?: number;
  forecast?: PriceBacktestOptions['forecast'];
  interruptions?: Omit<InterruptionBacktestOptions, 'traces' | 'priorBand'>;
  priorBand?: (pool: Pool) => number | undefined;
};

/** The backtest's result; the top-level figures are the overall ones on the test period. */
export type BacktestReport = {
  priceSmape: number;
  naiveSmape: number;
  priceMae: number;
  naiveMae: number;
  /** priceSmape / naiveSmape (goal ≤ 0.85). */
  smapeRatio: number;
  /** Interruption Brier score and the constant-rate baseline's (null without traces). */
  brier: number | null;
  climatologyBrier: number | null;
  /** brier / climatologyBrier (goal ≤ 0.9). */
  brierRatio: number | null;
  logLoss: number | null;
  climatologyLogLoss: number | null;
  prices: PriceBacktest;
  interruptions: InterruptionBacktest | null;
};

/** Runs the price backtest and, given traces, the interruption backtest. Pure over loaded data. */
export function runBacktest(options: BacktestOptions): BacktestReport {
  const prices = backtestPrices({
    series: options.prices,
    testSeconds: options.testSeconds,
    horizonSeconds: options.horizonSeconds,
    originStrideSeconds: options.originStrideSeconds,
    forecast: options.forecast,
  });
  const interruptions =
    options.traces && options.traces.length > 0
      ? backtestInterruptions({
          ...options.interruptions,
          traces: options.traces,
          priorBand: options.priorBand,
        })
      : null;
  return {
    priceSmape: prices.ensemble.smape,
    naiveSmape: prices.naive.smape,
    priceMae: prices.ensemble.mae,
    naiveMae: prices.naive.mae,
    smapeRatio: prices.ensemble.smape / prices.naive.smape,
    brier: interruptions?.model.brier ?? null,
    climatologyBrier: interruptions?.climatology.brier ?? null,
    brierRatio: interruptions ? interruptions.model.brier / interruptions.climatology.brier : null,
    logLoss: interruptions?.model.logLoss ?? null,
    climatologyLogLoss: interruptions?.climatology.logLoss ?? null,
    prices,
    interruptions,
  };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(3)}%` : '—');
const num = (x: number, digits = 4) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

/** Human-readable tables of a backtest report. */
export function formatBacktestReport(report: BacktestReport): string {
  const p = report.prices;
  const out: string[] = [];
  out.push(
    `Prices: ${p.pools} pools, test ${new Date(p.testStartMs).toISOString()} → ${new Date(p.testEndMs).toISOString()}, ` +
      `${p.origins} origins, horizon ${formatDuration(p.horizonSteps * p.stepSeconds)} (${p.horizonSteps} steps), ${p.forecasts} scored forecasts`,
    '',
  );
  const rows = Object.entries(p.byModel).map(([name, e]) => [
    name,
    pct(e.smape),
    num(e.mae, 6),
    num(e.smape / p.naive.smape, 3),
    num(p.meanWeights[name] ?? 0, 3),
  ]);
  rows.push([
    'ensemble (weighted)',
    pct(p.ensemble.smape),
    num(p.ensemble.mae, 6),
    num(report.smapeRatio, 3),
    '',
  ]);
  out.push(table(['model', 'sMAPE', 'MAE $/h', 'vs naive', 'mean weight'], rows), '');
  out.push(
    `Overall: sMAPE ${pct(report.priceSmape)} vs naive ${pct(report.naiveSmape)} (ratio ${num(report.smapeRatio, 3)}); ` +
      `${Math.round(p.nominalCoverage * 100)}% interval coverage ${pct(p.intervalCoverage)}`,
  );
  const i = report.interruptions;
  if (i) {
    out.push(
      '',
      `Interruptions: ${i.traces} traces, P(interrupted within ${formatDuration(i.durationSeconds)}), ${i.forecasts} held-out forecasts, event rate ${num(i.eventRate, 3)}`,
      '',
      table(
        ['forecast', 'Brier', 'log loss'],
        [
          ['hazard model (prior + online)', num(i.model.brier), num(i.model.logLoss)],
          [
            `climatology (${num(i.climatology.ratePerHour, 3)}/h)`,
            num(i.climatology.brier),
            num(i.climatology.logLoss),
          ],
          ['per-pool constant rate', num(i.poolConstant.brier), num(i.poolConstant.logLoss)],
        ],
      ),
      '',
      `Brier ratio vs climatology: ${num(report.brierRatio ?? NaN, 3)}; ` +
        `availability at +${formatDuration(i.durationSeconds)}: Brier ${num(i.availability.brier)} vs ${num(i.availability.climatologyBrier)}`,
      '',
      'Calibration:',
      table(
        ['predicted', 'count', 'mean p', 'observed'],
        i.calibration
          .filter((b) => b.count > 0)
          .map((b) => [
            `${b.from.toFixed(1)}–${b.to.toFixed(1)}`,
            String(b.count),
            num(b.meanPredicted, 3),
            num(b.observedRate, 3),
          ]),
      ),
    );
  }
  return out.join('\n');
}
