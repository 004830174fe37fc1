import type { AvailabilityTrace, Pool } from '../market';
import { InterruptionModel, type InterruptionModelOptions } from './interruption';
import { fitInterruptionModel, type InterruptionFit } from './interruption-fit';
import {
  evalWindows,
  eventFrequency,
  smoothedFrequency,
  tracePool,
  tracePrefix,
  windowGrid,
  windowSpec,
} from './interruption-windows';
import {
  brierTerm,
  Calibration,
  Mean,
  ProbabilityScore,
  type CalibrationBin,
  type ProbabilityScores,
} from './metrics';

export type InterruptionBacktestOptions = {
  traces: AvailabilityTrace[];
  /** Share of each trace held out at its end (default 0.3). */
  testFraction?: number;
  /** Sub-task duration d: the event is "interrupted within d" (default 1 h). */
  durationSeconds?: number;
  /** Spacing of the forecasts (default 10 min, rounded to ticks). */
  evalStrideSeconds?: number;
  /** Prior band index per pool for the default-options model (e.g. from the Spot Advisor). */
  priorBand?: (pool: Pool) => number | undefined;
  /** Options for the evaluated model instead of fitting them on the training stretches. */
  model?: InterruptionModelOptions;
};

/** The references every interruption forecast is compared with, on the same windows. */
export type ReferenceScores = {
  /**
   * Climatology: the training period's event frequency for the same duration d, one probability for
   * every pool (share of training windows in which capacity was lost within d).
   */
  climatology: ProbabilityScores & { probability: number; windows: number };
  /** Per-pool constant: each pool's own training frequency, (k + ½) / (n + 1). */
  poolConstant: ProbabilityScores;
};

export type InterruptionBacktest = ReferenceScores & {
  traces: number;
  durationSeconds: number;
  testFraction: number;
  forecasts: number;
  /** Observed share of forecasts followed by an interruption within d. */
  eventRate: number;
  /**
   * The Gamma–Poisson model with its prior and memory fitted on the training stretches of all traces
   * (`fitInterruptionModel`), running online through each trace.
   */
  model: ProbabilityScores & { options: InterruptionModelOptions; fit: InterruptionFit | null };
  /** The same class with its constructor defaults and the band priors (the configuration before the fit). */
  defaultModel: ProbabilityScores;
  /** Reliability of the model's forecasts. */
  calibration: CalibrationBin[];
  /** P(available at t + d) from the state at t, against the pooled training availability share. */
  availability: { forecasts: number; brier: number; climatologyBrier: number };
  byTrace: {
    name: string;
    forecasts: number;
    eventRate: number;
    brier: number;
    climatologyBrier: number;
    poolConstantBrier: number;
  }[];
};

/**
 * Runs models online through a trace from its first tick: before each grid point they have observed
 * every transition up to that tick and nothing after it, as spotdag observes its own instances.
 */
export function replayTrace<P extends { tick: number }>(
  trace: AvailabilityTrace,
  models: InterruptionModel[],
  points: P[],
  visit: (point: P) => void,
): void {
  const pool = tracePool(trace);
  let seen = 0;
  for (const point of points) {
    for (const m of models) m.observeTrace(pool, trace, seen, point.tick);
    seen = point.tick;
    visit(point);
  }
}

/** The model with the reference configuration: constructor defaults and the pool's band prior, if any. */
export function defaultOptionsModel(
  pool: Pool,
  priorBand?: (pool: Pool) => number | undefined,
): InterruptionModel {
  const model = new InterruptionModel();
  const band = priorBand?.(pool);
  if (band !== undefined) model.setPriorBand(pool, band);
  return model;
}

/**
 * Held-out evaluation, time split: the first (1 − testFraction) of every trace's ticks train, the rest
 * is the test. Training fixes the references (climatology over all training windows, each pool's own
 * training frequency) and the model's prior and memory (fitted on all training stretches together).
 * In the test stretch, at every available tick on the window grid, each forecasts P(interrupted within
 * d); the models have observed the trace up to that tick, the references stay fixed.
 */
export function backtestInterruptions(options: InterruptionBacktestOptions): InterruptionBacktest {
  const spec = windowSpec(options.durationSeconds, options.evalStrideSeconds);
  const d = spec.durationSeconds;
  const testFraction = options.testFraction ?? 0.3;
  const cuts = options.traces.map((t) => Math.floor(t.unavailable.length * (1 - testFraction)));
  const training = options.traces.map((t, i) => tracePrefix(t, cuts[i]!));
  const trainingWindows = training.map((t) => evalWindows(t, spec));

  const fit = options.model ? null : fitInterruptionModel(training, spec);
  const modelOptions: InterruptionModelOptions = options.model ?? fit!.options;
  const climatology = eventFrequency(trainingWindows);
  let upTicks = 0;
  let allTicks = 0;
  for (const t of training) {
    for (const u of t.unavailable) if (!u) upTicks++;
    allTicks += t.unavailable.length;
  }
  const climAvailable = allTicks > 0 ? upTicks / allTicks : 1;

  const score = {
    model: new ProbabilityScore(),
    defaultModel: new ProbabilityScore(),
    climatology: new ProbabilityScore(),
    poolConstant: new ProbabilityScore(),
  };
  const events = new Mean();
  const avail = { model: new Mean(), climatology: new Mean() };
  const calibration = new Calibration(10);
  const byTrace: InterruptionBacktest['byTrace'] = [];

  options.traces.forEach((trace, i) => {
    const pool = tracePool(trace);
    const model = new InterruptionModel(modelOptions);
    const reference = defaultOptionsModel(pool, options.priorBand);
    const pPool = smoothedFrequency(eventFrequency([trainingWindows[i]!]));
    const local = {
      model: new Mean(),
      climatology: new Mean(),
      poolConstant: new Mean(),
      events: new Mean(),
    };

    replayTrace(trace, [model, reference], windowGrid(trace, spec, cuts[i]!), (g) => {
      const atMs = trace.startMs + g.tick * trace.gapSeconds * 1000;
      avail.model.add(brierTerm(model.probabilityAvailable(pool, atMs + d * 1000), g.availableAfter));
      avail.climatology.add(brierTerm(climAvailable, g.availableAfter));
      if (!g.available) return;
      const p = model.probabilityInterrupted(pool, d);
      const hit = g.interrupted;
      score.model.add(p, hit);
      score.defaultModel.add(reference.probabilityInterrupted(pool, d), hit);
      score.climatology.add(climatology.frequency, hit);
      score.poolConstant.add(pPool, hit);
      calibration.add(p, hit);
      events.add(hit ? 1 : 0);
      local.model.add(brierTerm(p, hit));
      local.climatology.add(brierTerm(climatology.frequency, hit));
      local.poolConstant.add(brierTerm(pPool, hit));
      local.events.add(hit ? 1 : 0);
    });
    byTrace.push({
      name: trace.name,
      forecasts: local.model.n,
      eventRate: local.events.value,
      brier: local.model.value,
      climatologyBrier: local.climatology.value,
      poolConstantBrier: local.poolConstant.value,
    });
  });

  return {
    traces: options.traces.length,
    durationSeconds: d,
    testFraction,
    forecasts: score.model.n,
    eventRate: events.value,
    model: { ...score.model.value, options: modelOptions, fit },
    defaultModel: score.defaultModel.value,
    climatology: {
      ...score.climatology.value,
      probability: climatology.frequency,
      windows: climatology.windows,
    },
    poolConstant: score.poolConstant.value,
    calibration: calibration.table(),
    availability: {
      forecasts: avail.model.n,
      brier: avail.model.value,
      climatologyBrier: avail.climatology.value,
    },
    byTrace,
  };
}
