import type { AvailabilityTrace, Pool } from '../market';
import { defaultOptionsModel, replayTrace } from './backtest-interruptions';
import { InterruptionModel } from './interruption';
import { fitInterruptionModel, type InterruptionFit } from './interruption-fit';
import {
  evalWindows,
  eventFrequency,
  smoothedFrequency,
  tracePool,
  tracePrefix,
  windowSpec,
} from './interruption-windows';
import { Mean, ProbabilityScore, type ProbabilityScores } from './metrics';

export type LeaveOneGroupOutOptions = {
  traces: AvailabilityTrace[];
  /** Sub-task duration d: the event is "interrupted within d" (default 1 h). */
  durationSeconds?: number;
  /** Spacing of the forecasts (default 10 min, rounded to ticks). */
  evalStrideSeconds?: number;
  /**
   * Share at the start of each held-out trace that is observed but not scored (default 0.3): the only
   * data the per-pool constant can have about a pool it has never seen.
   */
  warmupFraction?: number;
  /** The group of a trace (default: its folder, e.g. `availability/1-node/aws-10-26-2022`). */
  groupOf?: (trace: AvailabilityTrace) => string;
  /** Prior band per pool for the default-options model (e.g. from the Spot Advisor). */
  priorBand?: (pool: Pool) => number | undefined;
  /** Called before each held-out group is evaluated. */
  onGroup?: (group: string, index: number, total: number) => void;
};

/** Scores on the held-out windows; see `ReferenceScores` for the two references. */
export type GroupScores = {
  forecasts: number;
  eventRate: number;
  model: ProbabilityScores;
  defaultModel: ProbabilityScores;
  climatology: ProbabilityScores;
  poolConstant: ProbabilityScores;
};

export type HeldOutGroup = GroupScores & {
  group: string;
  traces: number;
  /** Traces the prior, memory and climatology were learned from (all other groups). */
  trainingTraces: number;
  fit: InterruptionFit;
  /** Climatology's probability: the training groups' event frequency for d, over this many windows. */
  climatologyFrequency: { probability: number; windows: number };
};

export type LeaveOneGroupOutBacktest = {
  durationSeconds: number;
  warmupFraction: number;
  groups: HeldOutGroup[];
  /** Every held-out forecast of every group pooled. */
  overall: GroupScores;
  /** Each score averaged over the groups, every group weighing the same however many forecasts it has. */
  groupMean: { model: ProbabilityScores; climatology: ProbabilityScores; poolConstant: ProbabilityScores };
};

/** A trace's folder: the name up to its last '/', or '.' for a name without one. */
export function traceFolder(trace: AvailabilityTrace): string {
  const i = trace.name.replace(/\\/g, '/').lastIndexOf('/');
  return i < 0 ? '.' : trace.name.slice(0, i).replace(/\\/g, '/');
}

type Scorers = {
  model: ProbabilityScore;
  defaultModel: ProbabilityScore;
  climatology: ProbabilityScore;
  poolConstant: ProbabilityScore;
  events: Mean;
};

const scorers = (): Scorers => ({
  model: new ProbabilityScore(),
  defaultModel: new ProbabilityScore(),
  climatology: new ProbabilityScore(),
  poolConstant: new ProbabilityScore(),
  events: new Mean(),
});

function summary(s: Scorers): GroupScores {
  return {
    forecasts: s.model.n,
    eventRate: s.events.value,
    model: s.model.value,
    defaultModel: s.defaultModel.value,
    climatology: s.climatology.value,
    poolConstant: s.poolConstant.value,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const meanScores = (xs: ProbabilityScores[]): ProbabilityScores => ({
  brier: mean(xs.map((x) => x.brier)),
  logLoss: mean(xs.map((x) => x.logLoss)),
});

/**
 * Generalisation to pools and periods the model has never seen: each group of traces (a folder: one
 * collection campaign, with its own dates, zones and instance types) is held out in turn. On the other
 * groups: the model's prior and memory are fitted (`fitInterruptionModel`) and climatology is their
 * event frequency for d. On the held-out group, the first `warmupFraction` of every trace is observed
 * but not scored; the rest is scored. The model starts from the fitted prior at the trace's first tick
 * and learns online; the per-pool constant is the trace's own frequency over the warm-up (all it can
 * know about a new pool); climatology stays fixed. All three are scored on the same windows.
 */
export function backtestLeaveOneGroupOut(options: LeaveOneGroupOutOptions): LeaveOneGroupOutBacktest {
  const spec = windowSpec(options.durationSeconds, options.evalStrideSeconds);
  const d = spec.durationSeconds;
  const warmup = options.warmupFraction ?? 0.3;
  const groupOf = options.groupOf ?? traceFolder;
  const names = [...new Set(options.traces.map(groupOf))].sort();
  if (names.length < 2) {
    throw new RangeError(
      `leave-one-group-out needs traces in at least 2 groups (folders); found ${names.length}` +
        (names.length ? ` (${names[0]})` : ''),
    );
  }

  const all = scorers();
  const groups: HeldOutGroup[] = names.map((group, index) => {
    options.onGroup?.(group, index, names.length);
    const heldOut = options.traces.filter((t) => groupOf(t) === group);
    const training = options.traces.filter((t) => groupOf(t) !== group);
    const fit = fitInterruptionModel(training, spec);
    const clim = eventFrequency(training.map((t) => evalWindows(t, spec)));
    const local = scorers();
    for (const trace of heldOut) {
      const pool = tracePool(trace);
      const cut = Math.floor(trace.unavailable.length * warmup);
      const pPool = smoothedFrequency(eventFrequency([evalWindows(tracePrefix(trace, cut), spec)]));
      const model = new InterruptionModel(fit.options);
      const reference = defaultOptionsModel(pool, options.priorBand);
      replayTrace(trace, [model, reference], evalWindows(trace, spec, cut), (w) => {
        const p = model.probabilityInterrupted(pool, d);
        const q = reference.probabilityInterrupted(pool, d);
        for (const s of [local, all]) {
          s.model.add(p, w.interrupted);
          s.defaultModel.add(q, w.interrupted);
          s.climatology.add(clim.frequency, w.interrupted);
          s.poolConstant.add(pPool, w.interrupted);
          s.events.add(w.interrupted ? 1 : 0);
        }
      });
    }
    return {
      group,
      traces: heldOut.length,
      trainingTraces: training.length,
      fit,
      climatologyFrequency: { probability: clim.frequency, windows: clim.windows },
      ...summary(local),
    };
  });

  return {
    durationSeconds: d,
    warmupFraction: warmup,
    groups,
    overall: summary(all),
    groupMean: {
      model: meanScores(groups.map((g) => g.model)),
      climatology: meanScores(groups.map((g) => g.climatology)),
      poolConstant: meanScores(groups.map((g) => g.poolConstant)),
    },
  };
}
