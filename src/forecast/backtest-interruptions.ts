import type { AvailabilityTrace, Pool } from '../market';
import { InterruptionModel, type InterruptionModelOptions } from './interruption';
import { brierTerm, Calibration, logLossTerm, Mean, type CalibrationBin } from './metrics';
import { traceCounts } from './trace-counts';

export type InterruptionBacktestOptions = {
  traces: AvailabilityTrace[];
  /** Share of each trace held out at its end (default 0.3). */
  testFraction?: number;
  /** Sub-task duration d: the event is "interrupted within d" (default 1 h). */
  durationSeconds?: number;
  /** Spacing of the forecasts in the held-out stretch (default 10 min, rounded to ticks). */
  evalStrideSeconds?: number;
  /** Prior band index per trace pool (e.g. from the Spot Advisor); absent → the model's default prior. */
  priorBand?: (pool: Pool) => number | undefined;
  model?: InterruptionModelOptions;
};

export type ProbabilityScores = { brier: number; logLoss: number };

export type InterruptionBacktest = {
  traces: number;
  durationSeconds: number;
  forecasts: number;
  /** Observed share of forecasts followed by an interruption within d. */
  eventRate: number;
  model: ProbabilityScores;
  /** One constant rate for every pool: total training interruptions / total training exposure. */
  climatology: ProbabilityScores & { ratePerHour: number };
  /** Stronger reference: each pool's own constant training rate (no prior, no online updates). */
  poolConstant: ProbabilityScores;
  calibration: CalibrationBin[];
  /** P(available at t + d) from the state at t, against the pooled training availability share. */
  availability: { forecasts: number; brier: number; climatologyBrier: number };
  byTrace: { name: string; forecasts: number; eventRate: number; brier: number; climatologyBrier: number }[];
};

function poolOf(trace: AvailabilityTrace): Pool {
  return trace.pool ?? { instanceType: trace.name, region: 'unknown', zone: trace.name };
}

/**
 * Held-out evaluation on traces. Each trace is split in time: the first (1 − testFraction) of its ticks
 * train, the rest are held out. In the held-out stretch, at every `evalStride` tick where capacity is
 * available (where a sub-task could start), the model forecasts P(interrupted within d); the outcome is
 * whether any of the next d/gap ticks is unavailable. Only windows that end inside the trace count.
 * The model starts from its prior plus the training counts and then observes the held-out stretch
 * online, up to the forecast tick only — as spotdag observes its own instances. The baselines are
 * fixed constant rates estimated on the training stretches.
 */
export function backtestInterruptions(options: InterruptionBacktestOptions): InterruptionBacktest {
  const d = options.durationSeconds ?? 3600;
  const testFraction = options.testFraction ?? 0.3;
  const stats = {
    m: new Mean(),
    c: new Mean(),
    p: new Mean(),
    ml: new Mean(),
    cl: new Mean(),
    pl: new Mean(),
    ev: new Mean(),
  };
  const avail = { m: new Mean(), c: new Mean() };
  const calibration = new Calibration(10);

  // Climatology from all training stretches together.
  const splits = options.traces.map((t) => Math.floor(t.unavailable.length * (1 - testFraction)));
  let exposure = 0;
  let events = 0;
  let upTicks = 0;
  let allTicks = 0;
  options.traces.forEach((t, i) => {
    const c = traceCounts(t, 0, splits[i]! - 1);
    exposure += c.exposureSeconds / 3600;
    events += c.interruptions;
    for (let k = 0; k < splits[i]!; k++) if (!t.unavailable[k]) upTicks++;
    allTicks += splits[i]!;
  });
  const climRate = exposure > 0 ? events / exposure : 0;
  const climAvailable = allTicks > 0 ? upTicks / allTicks : 1;
  const pClim = 1 - Math.exp(-climRate * (d / 3600));

  const byTrace: InterruptionBacktest['byTrace'] = [];
  options.traces.forEach((trace, i) => {
    const pool = poolOf(trace);
    const u = trace.unavailable;
    const cut = splits[i]!;
    const dTicks = Math.max(1, Math.round(d / trace.gapSeconds));
    const stride = Math.max(1, Math.round((options.evalStrideSeconds ?? 600) / trace.gapSeconds));
    const model = new InterruptionModel(options.model);
    const band = options.priorBand?.(pool);
    if (band !== undefined) model.setPriorBand(pool, band);
    const train = traceCounts(trace, 0, cut - 1);
    model.observe(pool, train.exposureSeconds, train.interruptions);
    model.observeRecovery(pool, train.downSeconds, train.recoveries);
    const poolRate = train.exposureSeconds > 0 ? train.interruptions / (train.exposureSeconds / 3600) : 0;
    const pPool = 1 - Math.exp(-poolRate * (d / 3600));
    const local = { m: new Mean(), c: new Mean(), ev: new Mean() };

    let seen = cut - 1;
    for (let t = cut; t + dTicks < u.length; t += stride) {
      const c = traceCounts(trace, seen, t); // online: everything up to tick t, nothing after
      model.observe(pool, c.exposureSeconds, c.interruptions);
      model.observeRecovery(pool, c.downSeconds, c.recoveries);
      seen = t;
      const atMs = trace.startMs + t * trace.gapSeconds * 1000;
      model.observeAvailability(pool, atMs, !u[t]);
      const pa = model.probabilityAvailable(pool, atMs + d * 1000);
      const upLater = !u[t + dTicks];
      avail.m.add(brierTerm(pa, upLater));
      avail.c.add(brierTerm(climAvailable, upLater));
      if (u[t]) continue;
      let hit = false;
      for (let k = 1; k <= dTicks && !hit; k++) hit = u[t + k]!;
      const p = model.probabilityInterrupted(pool, d);
      stats.m.add(brierTerm(p, hit));
      stats.c.add(brierTerm(pClim, hit));
      stats.p.add(brierTerm(pPool, hit));
      stats.ml.add(logLossTerm(p, hit));
      stats.cl.add(logLossTerm(pClim, hit));
      stats.pl.add(logLossTerm(pPool, hit));
      stats.ev.add(hit ? 1 : 0);
      local.m.add(brierTerm(p, hit));
      local.c.add(brierTerm(pClim, hit));
      local.ev.add(hit ? 1 : 0);
      calibration.add(p, hit);
    }
    byTrace.push({
      name: trace.name,
      forecasts: local.m.n,
      eventRate: local.ev.value,
      brier: local.m.value,
      climatologyBrier: local.c.value,
    });
  });
  return {
    traces: options.traces.length,
    durationSeconds: d,
    forecasts: stats.m.n,
    eventRate: stats.ev.value,
    model: { brier: stats.m.value, logLoss: stats.ml.value },
    climatology: { brier: stats.c.value, logLoss: stats.cl.value, ratePerHour: climRate },
    poolConstant: { brier: stats.p.value, logLoss: stats.pl.value },
    calibration: calibration.table(),
    availability: { forecasts: avail.m.n, brier: avail.m.value, climatologyBrier: avail.c.value },
    byTrace,
  };
}
