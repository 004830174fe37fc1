import type { AvailabilityTrace, Pool } from '../market';

/**
 * What an interruption forecast is scored on: a tick of a trace where capacity is available (where a
 * sub-task could start) and whether it is lost within the duration d, i.e. whether any of the next
 * d/gap ticks is unavailable.
 */
export type EvalWindow = { tick: number; interrupted: boolean };

export type WindowSpec = {
  /** Sub-task duration d (default 1 h). */
  durationSeconds?: number;
  /** Spacing of the windows (default 10 min, rounded to ticks). */
  strideSeconds?: number;
};

/** A spec with its defaults filled in: d = 1 h, a window every 10 min. */
export function windowSpec(durationSeconds = 3600, strideSeconds = 600): Required<WindowSpec> {
  return { durationSeconds, strideSeconds };
}

/** The window length and spacing in ticks of a trace. */
export function windowTicks(trace: AvailabilityTrace, spec: WindowSpec = {}): { d: number; stride: number } {
  return {
    d: Math.max(1, Math.round((spec.durationSeconds ?? 3600) / trace.gapSeconds)),
    stride: Math.max(1, Math.round((spec.strideSeconds ?? 600) / trace.gapSeconds)),
  };
}

/** A tick on the window grid, available or not, with the state d later (for availability forecasts). */
export type GridPoint = EvalWindow & { available: boolean; availableAfter: boolean };

/**
 * The ticks from, from + stride, … (before `to`) whose window of d ticks ends inside the trace. At an
 * unavailable tick `interrupted` is false (nothing runs there to be interrupted).
 */
export function windowGrid(
  trace: AvailabilityTrace,
  spec: WindowSpec = {},
  from = 0,
  to = trace.unavailable.length,
): GridPoint[] {
  const u = trace.unavailable;
  const { d, stride } = windowTicks(trace, spec);
  const out: GridPoint[] = [];
  for (let t = Math.max(0, from); t < to && t + d < u.length; t += stride) {
    let hit = false;
    if (!u[t]) for (let k = 1; k <= d && !hit; k++) hit = u[t + k]!;
    out.push({ tick: t, interrupted: hit, available: !u[t], availableAfter: !u[t + d] });
  }
  return out;
}

/** The windows of the grid at available ticks: where a forecast of P(interrupted within d) is scored. */
export function evalWindows(
  trace: AvailabilityTrace,
  spec: WindowSpec = {},
  from = 0,
  to = trace.unavailable.length,
): EvalWindow[] {
  return windowGrid(trace, spec, from, to)
    .filter((g) => g.available)
    .map(({ tick, interrupted }) => ({ tick, interrupted }));
}

/** How often the event happened in a set of windows. */
export type EventFrequency = { windows: number; events: number; frequency: number };

export function eventFrequency(windows: EvalWindow[][]): EventFrequency {
  let n = 0;
  let k = 0;
  for (const list of windows) {
    n += list.length;
    for (const w of list) if (w.interrupted) k++;
  }
  return { windows: n, events: k, frequency: n > 0 ? k / n : NaN };
}

/**
 * A per-pool constant from a handful of windows: (k + ½) / (n + 1), the Jeffreys (Krichevsky–Trofimov)
 * estimate. It is the plain frequency k/n up to a half event, but never exactly 0 or 1, so a pool whose
 * few early windows all went one way does not get an infinite log loss from a single surprise.
 */
export function smoothedFrequency(f: EventFrequency): number {
  return (f.events + 0.5) / (f.windows + 1);
}

/** The pool a trace stands for (its name when the file name does not say). */
export function tracePool(trace: AvailabilityTrace): Pool {
  return trace.pool ?? { instanceType: trace.name, region: 'unknown', zone: trace.name };
}

/** The trace's first `ticks` ticks, as a trace of its own (a training stretch). */
export function tracePrefix(trace: AvailabilityTrace, ticks: number): AvailabilityTrace {
  return {
    ...trace,
    unavailable: trace.unavailable.slice(0, ticks),
    prices: trace.prices?.slice(0, ticks),
  };
}
