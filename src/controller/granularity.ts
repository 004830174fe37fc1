/**
 * Dynamic decomposition at runtime: which sub-tasks to cut, and into how many pieces.
 *
 * - **Hazard.** A sub-task placed on spot whose remaining work is longer than twice the expected
 *   time between interruptions of its pool is cut into pieces of about half that time, so that
 *   pieces run side by side on several instances and an interruption costs one small piece's
 *   progress. A pending sub-task is cut as soon as that holds; a running one only when its pool's
 *   hazard has risen to at least 1.5× what it was when the sub-task started (otherwise the plan
 *   that started it already knew), at most once per `cooldownSeconds`.
 * - **Parallelism.** When instance slots sit idle, nothing else is ready, and a long splittable
 *   sub-task holds up the job, its remainder is cut to fill the idle slots.
 * - **Floor.** No piece is shorter than `minPieceSeconds`: a hundred times the per-sub-task engine
 *   overhead, so overhead stays under 1 % of a piece (measure it with `spotdag bench engine`).
 * - Nothing that has started is merged, and a running sub-task is cut only at the unit position of
 *   its last checkpoint (its step must report one), from which its remainder is the suffix.
 */
import type { DagArrays } from '../allocate/rank';
import type { AllocationForecast, SpotdagSchedule } from '../allocate/types';
import type { TaskDag } from '../dag';
import type { ControllerMemory, ControllerState, Resplit } from './types';

export interface GranularityOptions {
  /** Shortest piece worth its engine overhead (seconds of work). */
  minPieceSeconds: number;
  /** A running sub-task is not cut again within this long (job seconds). */
  cooldownSeconds: number;
  /** Most pieces one cut makes. */
  maxParts?: number;
}

export interface GranularityInput {
  dag: TaskDag;
  d: DagArrays;
  forecast: AllocationForecast;
  state: ControllerState;
  /** The current plan: where each pending sub-task would run. */
  plan?: SpotdagSchedule;
  memory: ControllerMemory;
  /** Pool key of each instance id (the state's and the plan's). */
  poolOf: (instanceId: string) => string | undefined;
  marketOf: (instanceId: string) => 'spot' | 'on-demand' | undefined;
  /** Free slots on instances that are up and have nothing queued. */
  idleSlots: number;
  options: GranularityOptions;
}

/** Units of a splittable sub-task and where they start, or undefined when it cannot be cut. */
function unitsOf(dag: TaskDag, id: string): { base: number; units: number } | undefined {
  if (!dag.hasNode(id)) return undefined;
  const a = dag.getNodeAttributes(id);
  if (a.range) return { base: a.range.start, units: a.range.end - a.range.start + 1 };
  if (a.kind === 'split' && Array.isArray(a.input)) return { base: 0, units: a.input.length };
  return undefined;
}

/** The cut of a sub-task's remaining work into pieces of about `pieceSeconds`, if worth making. */
function cut(
  input: GranularityInput,
  id: string,
  pieceSeconds: number,
  running: boolean,
  reason: Resplit['reason'],
  position?: number,
  wantParts?: number,
): Resplit | undefined {
  const u = unitsOf(input.dag, id);
  if (!u) return undefined;
  const duration = input.dag.getNodeAttribute(id, 'durationSeconds');
  const done = position === undefined ? 0 : position - u.base;
  if (done < 0 || done >= u.units) return undefined;
  const todo = u.units - done;
  const remaining = (duration * todo) / u.units;
  const size = Math.max(pieceSeconds, input.options.minPieceSeconds);
  const parts = Math.min(
    todo,
    input.options.maxParts ?? 64,
    Math.floor(remaining / input.options.minPieceSeconds),
    wantParts ?? Math.ceil(remaining / size),
  );
  if (parts < 2) return undefined;
  return {
    subTaskId: id,
    ...(done > 0 ? { remainder: { start: u.base + done, end: u.base + u.units - 1 } } : {}),
    parts,
    running,
    reason,
  };
}

/** Re-splits worth making now (at most one per sub-task). */
export function chooseResplits(input: GranularityInput): Resplit[] {
  const { d, forecast, state, memory, plan } = input;
  const now = state.nowSeconds;
  const poolIndex = new Map(forecast.pools.map((p, i) => [p.key, i]));
  const hazardOf = (instanceId: string) => {
    if (input.marketOf(instanceId) !== 'spot') return 0;
    const i = poolIndex.get(input.poolOf(instanceId) ?? '');
    return i === undefined ? 0 : forecast.hazardPerHour(i);
  };
  const out: Resplit[] = [];
  const pieceFor = (hazard: number) => 1800 / hazard; // half the expected uptime, in seconds

  // Pending sub-tasks planned on spot whose work outlasts two expected uptimes.
  for (const p of plan?.placements ?? []) {
    const hazard = hazardOf(p.instanceId);
    if (!(hazard > 0)) continue;
    const v = d.indexOf.get(p.subTaskId);
    if (v === undefined) continue;
    const saved = state.progress?.[p.subTaskId] ?? 0;
    const position = state.positions?.[p.subTaskId];
    if (saved > 0 && position === undefined) continue; // its remainder is not known in units
    if (d.duration[v]! - saved <= (2 * 3600) / hazard) continue;
    const r = cut(input, p.subTaskId, pieceFor(hazard), false, 'hazard', position);
    if (r) out.push(r);
  }

  // Running spot sub-tasks whose pool became riskier since they started.
  for (const r of state.running) {
    const position = state.positions?.[r.subTaskId];
    if (position === undefined) continue;
    if (now - (memory.resplitAt[r.subTaskId] ?? -Infinity) < input.options.cooldownSeconds) continue;
    const hazard = hazardOf(r.instanceId);
    const before = memory.startHazard[r.subTaskId];
    if (!(hazard > 0) || before === undefined || hazard < 1.5 * before) continue;
    const remaining = r.expectedFinish - now;
    if (remaining <= (2 * 3600) / hazard) continue;
    const c = cut(input, r.subTaskId, pieceFor(hazard), true, 'hazard', position);
    if (c) out.push(c);
  }

  // Idle slots and a long sub-task holding up the job: cut it to fill them.
  if (input.idleSlots > 0 && out.length === 0) {
    const readyOrRunning = candidatesOnCriticalPath(input);
    if (readyOrRunning) {
      const { id, running, position } = readyOrRunning;
      const c = cut(
        input,
        id,
        input.options.minPieceSeconds,
        running,
        'parallelism',
        position,
        input.idleSlots + 1,
      );
      if (c) out.push(c);
    }
  }
  return out;
}

/**
 * The longest pending-and-ready or running sub-task when nothing else is ready: the one holding up
 * the job. Undefined when other work is ready (idle slots will fill without cutting anything).
 */
function candidatesOnCriticalPath(
  input: GranularityInput,
): { id: string; running: boolean; position?: number } | undefined {
  const { d, state } = input;
  const done = new Set(state.done.map((x) => x.subTaskId));
  const running = new Map(state.running.map((r) => [r.subTaskId, r]));
  const ready: number[] = [];
  for (let v = 0; v < d.ids.length; v++) {
    const id = d.ids[v]!;
    if (done.has(id) || running.has(id)) continue;
    let ok = true;
    for (let i = d.predStart[v]!; i < d.predStart[v + 1]!; i++) if (!done.has(d.ids[d.pred[i]!]!)) ok = false;
    if (ok) ready.push(v);
  }
  if (ready.length > 1) return undefined;
  let best: { id: string; running: boolean; position?: number; remaining: number } | undefined;
  for (const v of ready) {
    const id = d.ids[v]!;
    const saved = state.progress?.[id] ?? 0;
    const position = state.positions?.[id];
    if (saved > 0 && position === undefined) continue;
    const remaining = d.duration[v]! - saved;
    if (!best || remaining > best.remaining) best = { id, running: false, position, remaining };
  }
  for (const r of state.running) {
    const position = state.positions?.[r.subTaskId];
    if (position === undefined) continue;
    if (state.nowSeconds - (input.memory.resplitAt[r.subTaskId] ?? -Infinity) < input.options.cooldownSeconds)
      continue;
    const remaining = r.expectedFinish - state.nowSeconds;
    if (!best || remaining > best.remaining) best = { id: r.subTaskId, running: true, position, remaining };
  }
  if (!best || best.remaining < 2 * input.options.minPieceSeconds) return undefined;
  return best;
}
