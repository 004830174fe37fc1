import type { AvailabilityTrace, Pool, PriceSeries } from '../market';
import { formatDuration } from '../util/duration';
import {
  backtestInterruptions,
  type InterruptionBacktest,
  type InterruptionBacktestOptions,
} from './backtest-interruptions';
import {
  backtestLeaveOneGroupOut,
  type LeaveOneGroupOutBacktest,
  type LeaveOneGroupOutOptions,
} from './backtest-logo';
import { backtestPrices, type PriceBacktest, type PriceBacktestOptions } from './backtest-prices';
import type { FittedInterruptionOptions } from './interruption-fit';
import type { InterruptionModelOptions } from './interruption';
import type { ProbabilityScores } from './metrics';

export type BacktestOptions = {
  /** Price series to backtest (none: no price section). */
  prices?: PriceSeries[];
  traces?: AvailabilityTrace[];
  testSeconds?: number;
  horizonSeconds?: number;
  originStrideSeconds?: number;
  forecast?: PriceBacktestOptions['forecast'];
  interruptions?: Omit<InterruptionBacktestOptions, 'traces' | 'priorBand'>;
  /** Also hold out each trace group in turn (needs traces in ≥ 2 folders). */
  leaveOneGroupOut?: boolean | Pick<LeaveOneGroupOutOptions, 'warmupFraction' | 'groupOf'>;
  priorBand?: (pool: Pool) => number | undefined;
  /** Progress lines for long runs (e.g. to stderr). */
  onProgress?: (message: string) => void;
};

/** The backtest's result; the top-level figures are the overall ones on the test period (null when not run). */
export type BacktestReport = {
  priceSmape: number | null;
  naiveSmape: number | null;
  priceMae: number | null;
  naiveMae: number | null;
  /** priceSmape / naiveSmape. */
  smapeRatio: number | null;
  /** Share of test prices inside the 90 % interval. */
  intervalCoverage: number | null;
  /** Interruption Brier score of the model, time split. */
  brier: number | null;
  /** Climatology: the training event frequency for the same duration. */
  climatologyBrier: number | null;
  /** brier / climatologyBrier. */
  brierRatio: number | null;
  /** Per-pool constant: each pool's own training frequency. */
  poolConstantBrier: number | null;
  /** brier / poolConstantBrier. */
  brierRatioPoolConstant: number | null;
  logLoss: number | null;
  climatologyLogLoss: number | null;
  poolConstantLogLoss: number | null;
  prices: PriceBacktest | null;
  interruptions: InterruptionBacktest | null;
  leaveOneGroupOut: LeaveOneGroupOutBacktest | null;
};

/** Runs the price backtest given prices, and given traces the interruption backtests. Pure over loaded data. */
export function runBacktest(options: BacktestOptions): BacktestReport {
  const progress = options.onProgress ?? (() => {});
  let prices: PriceBacktest | null = null;
  if (options.prices) {
    let lastShown = 0;
    prices = backtestPrices({
      series: options.prices,
      testSeconds: options.testSeconds,
      horizonSeconds: options.horizonSeconds,
      originStrideSeconds: options.originStrideSeconds,
      forecast: options.forecast,
      onPool: (done, total) => {
        if (done === total || done - lastShown >= Math.max(1, Math.ceil(total / 10))) {
          lastShown = done;
          progress(`prices: ${done}/${total} pools scored`);
        }
      },
    });
  }
  const traces = options.traces && options.traces.length > 0 ? options.traces : undefined;
  let interruptions: InterruptionBacktest | null = null;
  if (traces) {
    progress(`interruptions: fitting on the first part of ${traces.length} traces, scoring the rest`);
    interruptions = backtestInterruptions({
      ...options.interruptions,
      traces,
      priorBand: options.priorBand,
    });
  }
  let leaveOneGroupOut: LeaveOneGroupOutBacktest | null = null;
  if (options.leaveOneGroupOut) {
    if (!traces) throw new RangeError('leave-one-group-out needs traces');
    const logo = options.leaveOneGroupOut === true ? {} : options.leaveOneGroupOut;
    leaveOneGroupOut = backtestLeaveOneGroupOut({
      ...logo,
      traces,
      durationSeconds: options.interruptions?.durationSeconds,
      evalStrideSeconds: options.interruptions?.evalStrideSeconds,
      priorBand: options.priorBand,
      onGroup: (group, i, n) => progress(`leave-one-group-out ${i + 1}/${n}: holding out ${group}`),
    });
  }
  const i = interruptions;
  return {
    priceSmape: prices?.ensemble.smape ?? null,
    naiveSmape: prices?.naive.smape ?? null,
    priceMae: prices?.ensemble.mae ?? null,
    naiveMae: prices?.naive.mae ?? null,
    smapeRatio: prices ? prices.ensemble.smape / prices.naive.smape : null,
    intervalCoverage: prices?.intervalCoverage ?? null,
    brier: i?.model.brier ?? null,
    climatologyBrier: i?.climatology.brier ?? null,
    brierRatio: i ? i.model.brier / i.climatology.brier : null,
    poolConstantBrier: i?.poolConstant.brier ?? null,
    brierRatioPoolConstant: i ? i.model.brier / i.poolConstant.brier : null,
    logLoss: i?.model.logLoss ?? null,
    climatologyLogLoss: i?.climatology.logLoss ?? null,
    poolConstantLogLoss: i?.poolConstant.logLoss ?? null,
    prices,
    interruptions,
    leaveOneGroupOut,
  };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => rows.reduce((w, r) => Math.max(w, r[c]!.length), h.length));
  const line = (cells: string[]) =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const pct = (x: number, digits = 3) => (Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : '—');
const num = (x: number, digits = 4) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
const hours = (x: number) => (Number.isFinite(x) ? `${x} h` : '∞');

/** "prior 0.4/h × 1 h, half-life 1 h" */
export function describeFittedOptions(o: FittedInterruptionOptions | InterruptionModelOptions): string {
  return `prior ${o.defaultRatePerHour}/h × ${hours(o.priorExposureHours ?? NaN)}, half-life ${hours(o.halfLifeHours ?? NaN)}`;
}

function scoreRow(name: string, s: ProbabilityScores, clim: ProbabilityScores, pool: ProbabilityScores) {
  return [name, num(s.brier), num(s.logLoss), num(s.brier / clim.brier, 3), num(s.brier / pool.brier, 3)];
}

function formatPrices(p: PriceBacktest, ratio: number): string[] {
  const out = [
    `Prices: ${p.pools} pools, test ${new Date(p.testStartMs).toISOString()} → ${new Date(p.testEndMs).toISOString()}, ` +
      `${p.origins} origins, horizon ${formatDuration(p.horizonSteps * p.stepSeconds)} (${p.horizonSteps} steps), ${p.forecasts} scored forecasts`,
    '',
  ];
  const rows = Object.entries(p.byModel).map(([name, e]) => [
    name,
    pct(e.smape),
    num(e.mae, 6),
    num(e.smape / p.naive.smape, 3),
    num(p.meanWeights[name] ?? 0, 3),
  ]);
  rows.push([
    'weighted, every step',
    pct(p.ensembleWithoutFallback.smape),
    num(p.ensembleWithoutFallback.mae, 6),
    num(p.ensembleWithoutFallback.smape / p.naive.smape, 3),
    '',
  ]);
  rows.push(['forecast (fallback)', pct(p.ensemble.smape), num(p.ensemble.mae, 6), num(ratio, 3), '']);
  out.push(table(['model', 'sMAPE', 'MAE $/h', 'vs naive', 'mean weight'], rows), '');
  const shown = p.byHorizon.filter((b) => [1, 2, 3, 6, 12, 24].includes(b.h) || b.h === p.horizonSteps);
  out.push(
    table(
      ['step h', 'sMAPE', 'naive', 'vs naive', 'coverage', 'pools on ensemble'],
      shown.map((b) => [
        String(b.h),
        pct(b.smape),
        pct(b.naiveSmape),
        num(b.smape / b.naiveSmape, 3),
        pct(b.coverage, 1),
        pct(b.ensembleShare, 1),
      ]),
    ),
    '',
  );
  let worst = p.byHorizon[0]!;
  for (const b of p.byHorizon) if (b.smape / b.naiveSmape > worst.smape / worst.naiveSmape) worst = b;
  const nominal = Math.round(p.nominalCoverage * 100);
  out.push(
    `Overall: sMAPE ${pct(p.ensemble.smape)} vs naive ${pct(p.naive.smape)} (ratio ${num(ratio, 3)}); ` +
      `worst step h=${worst.h} at ${num(worst.smape / worst.naiveSmape, 3)} × naive`,
    `${nominal}% intervals (calibrated across pools): coverage ${pct(p.intervalCoverage, 1)}, ` +
      `mean width ${pct(p.intervalWidth, 2)} of the price; each pool's own quantiles would cover ${pct(p.ownIntervalCoverage, 1)}`,
  );
  const ac = p.changeAutocorrelation;
  const randomWalk = Math.abs(ac.lag1) < 0.1 && Math.abs(ac.lag24) < 0.1;
  out.push(
    `Training prices: autocorrelation of hourly changes ${num(ac.lag1, 3)} at lag 1, ${num(ac.lag24, 3)} at lag 24` +
      (randomWalk ? ' — close to a random walk, where the last price is hard to beat' : ''),
  );
  return out;
}

function formatInterruptions(i: InterruptionBacktest): string[] {
  const d = formatDuration(i.durationSeconds);
  const fitted = i.model.fit ? `fitted: ${describeFittedOptions(i.model.fit.options)}` : 'given options';
  return [
    `Interruptions, time split: ${i.traces} traces, first ${pct(1 - i.testFraction, 0)} of each trains, ` +
      `P(interrupted within ${d}), ${i.forecasts} held-out forecasts, event rate ${num(i.eventRate, 3)}`,
    '',
    table(
      ['forecast', 'Brier', 'log loss', 'vs climatology', 'vs per-pool'],
      [
        scoreRow(`hazard model (${fitted})`, i.model, i.climatology, i.poolConstant),
        scoreRow('default options (band prior, 24 h)', i.defaultModel, i.climatology, i.poolConstant),
        scoreRow(
          `climatology (training frequency ${num(i.climatology.probability, 3)})`,
          i.climatology,
          i.climatology,
          i.poolConstant,
        ),
        scoreRow('per-pool constant (own training frequency)', i.poolConstant, i.climatology, i.poolConstant),
      ],
    ),
    '',
    `Availability at +${d}: Brier ${num(i.availability.brier)} vs ${num(i.availability.climatologyBrier)} (training availability share)`,
    '',
    'Calibration of the hazard model:',
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
  ];
}

/** The leave-one-group-out tables: Brier and log loss per held-out group, pooled, and averaged over groups. */
export function formatLeaveOneGroupOut(l: LeaveOneGroupOutBacktest): string[] {
  const rows = (pick: (s: ProbabilityScores) => number, digits: number) => [
    ...l.groups.map((g) => [
      g.group,
      String(g.traces),
      String(g.forecasts),
      num(g.eventRate, 3),
      num(pick(g.model), digits),
      num(pick(g.climatology), digits),
      num(pick(g.poolConstant), digits),
      num(pick(g.defaultModel), digits),
    ]),
    [
      'all held-out forecasts',
      String(l.groups.reduce((n, g) => n + g.traces, 0)),
      String(l.overall.forecasts),
      num(l.overall.eventRate, 3),
      num(pick(l.overall.model), digits),
      num(pick(l.overall.climatology), digits),
      num(pick(l.overall.poolConstant), digits),
      num(pick(l.overall.defaultModel), digits),
    ],
    [
      'mean over groups',
      '',
      '',
      '',
      num(pick(l.groupMean.model), digits),
      num(pick(l.groupMean.climatology), digits),
      num(pick(l.groupMean.poolConstant), digits),
      '',
    ],
  ];
  const header = (metric: string) => [
    `held-out group (${metric})`,
    'traces',
    'forecasts',
    'events',
    'model',
    'climatology',
    'per-pool',
    'default opts',
  ];
  return [
    `Leave one group out: P(interrupted within ${formatDuration(l.durationSeconds)}); each group held out in turn, ` +
      `the model's prior and memory and climatology learned on the others; the first ${pct(l.warmupFraction, 0)} ` +
      'of each held-out trace is observed (the per-pool constant is its frequency there), the rest scored',
    '',
    table(
      header('Brier'),
      rows((s) => s.brier, 4),
    ),
    '',
    table(
      header('log loss'),
      rows((s) => s.logLoss, 4),
    ),
    '',
    table(
      ['held-out group', 'fitted on the others', 'climatology p'],
      l.groups.map((g) => [
        g.group,
        describeFittedOptions(g.fit.options),
        num(g.climatologyFrequency.probability, 3),
      ]),
    ),
    '',
    `Brier ratio, all held-out forecasts: ${num(l.overall.model.brier / l.overall.climatology.brier, 3)} of climatology, ` +
      `${num(l.overall.model.brier / l.overall.poolConstant.brier, 3)} of the per-pool constant`,
  ];
}

/** Human-readable tables of a backtest report. */
export function formatBacktestReport(report: BacktestReport): string {
  const sections: string[][] = [];
  if (report.prices) sections.push(formatPrices(report.prices, report.smapeRatio!));
  if (report.interruptions) sections.push(formatInterruptions(report.interruptions));
  if (report.leaveOneGroupOut) sections.push(formatLeaveOneGroupOut(report.leaveOneGroupOut));
  return sections.map((lines) => lines.join('\n')).join('\n\n');
}
