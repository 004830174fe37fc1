/**
 * One long job on one spot trace, in the tick model of Can't Be Late (NSDI'24) — the model of
 * `spotdag bench single`:
 *
 * - time advances in ticks of the trace's `gap_seconds`; at each tick the policy chooses what the
 *   job runs on during the next tick: spot, on-demand or nothing (wait);
 * - spot can be chosen only at a tick where the trace has capacity (a trace value of 1 means none);
 *   a running spot instance is preempted at the first tick without capacity;
 * - starting an instance, or switching between spot and on-demand, costs the restart overhead d:
 *   billed time without progress at the start of the new instance (a preempted instance that is
 *   replaced pays it again); progress survives preemptions (the job checkpoints continuously);
 * - billing is per second at the fixed spot or on-demand price, up to the instant the work is done.
 *
 * `advance` is the model's only definition of a tick; the runner and the exact optimum
 * (omniscient.ts) both use it.
 */
import type { Choice } from '../uniform-progress';

export type { Choice };

export interface SingleJob {
  /** C: seconds of work. */
  workSeconds: number;
  deadlineSeconds: number;
  /** d: restart overhead, seconds. */
  overheadSeconds: number;
  spotPricePerHour: number;
  onDemandPricePerHour: number;
  gapSeconds: number;
  /** Spot capacity per tick from the job's start (1: available); ticks past its end have none. */
  available: Uint8Array;
}

/** The job at a tick boundary. */
export interface JobState {
  tick: number;
  /** Work done (seconds). */
  done: number;
  /** What the job runs on now (after a preemption at this tick: 'none'). */
  on: Choice;
  /** Restart overhead still to pay on the current instance (seconds). */
  overheadLeft: number;
  costUsd: number;
  /** Seconds from the start at which the work was done (undefined: not yet). */
  finishedAt?: number;
  preemptions: number;
}

export const initialState = (): JobState => ({
  tick: 0,
  done: 0,
  on: 'none',
  overheadLeft: 0,
  costUsd: 0,
  preemptions: 0,
});

export function spotAvailable(job: SingleJob, tick: number): boolean {
  return tick < job.available.length && job.available[tick] === 1;
}

/** Seconds the job may still be on the last tick when done (floating-point slack). */
const EPS = 1e-6;

/** The job one tick later, after running on `choice` during the tick. */
export function advance(job: SingleJob, s: JobState, choice: Choice): JobState {
  if (s.finishedAt !== undefined) return s;
  if (choice === 'spot' && !spotAvailable(job, s.tick))
    throw new Error(`tick ${s.tick}: spot chosen while the trace has no capacity`);
  const next: JobState = {
    tick: s.tick + 1,
    done: s.done,
    on: s.on,
    overheadLeft: s.overheadLeft,
    costUsd: s.costUsd,
    preemptions: s.preemptions,
  };
  if (choice === 'none') {
    next.on = 'none';
    next.overheadLeft = 0;
    return next;
  }
  const gap = job.gapSeconds;
  const price = choice === 'spot' ? job.spotPricePerHour : job.onDemandPricePerHour;
  const overhead = choice === s.on ? s.overheadLeft : job.overheadSeconds;
  const need = overhead + (job.workSeconds - s.done);
  if (need <= gap + EPS) {
    next.done = job.workSeconds;
    next.on = choice;
    next.overheadLeft = 0;
    next.costUsd += (price * need) / 3600;
    next.finishedAt = s.tick * gap + need;
    return next;
  }
  next.done = s.done + Math.max(0, gap - overhead);
  next.overheadLeft = Math.max(0, overhead - gap);
  next.costUsd += (price * gap) / 3600;
  next.on = choice;
  if (choice === 'spot' && !spotAvailable(job, next.tick)) {
    next.on = 'none';
    next.overheadLeft = 0;
    next.preemptions++;
  }
  return next;
}

/** What a policy sees at a tick. */
export interface JobView {
  job: SingleJob;
  state: JobState;
  spotAvailable: boolean;
}

export interface SinglePolicy {
  readonly name: string;
  /** What to run on during the next tick ('spot' only when `spotAvailable`). */
  decide(view: JobView): Choice;
}

export interface SingleRun {
  policy: string;
  costUsd: number;
  /** Hours from the start until the work was done (null: never, within the trace and a margin). */
  finishHours: number | null;
  deadlineMet: boolean;
  preemptions: number;
  /** The choice at every tick until the end. */
  choices: Choice[];
}

/** Runs a policy until the work is done (or gives up once even on-demand from there could not help). */
export function runSingleJob(job: SingleJob, policy: SinglePolicy): SingleRun {
  let s = initialState();
  const choices: Choice[] = [];
  const limit =
    Math.max(job.available.length, Math.ceil(job.deadlineSeconds / job.gapSeconds)) +
    Math.ceil((job.workSeconds + job.overheadSeconds) / job.gapSeconds) +
    1;
  while (s.finishedAt === undefined && s.tick < limit) {
    const choice = policy.decide({ job, state: s, spotAvailable: spotAvailable(job, s.tick) });
    choices.push(choice);
    s = advance(job, s, choice);
  }
  const finished = s.finishedAt !== undefined;
  return {
    policy: policy.name,
    costUsd: s.costUsd,
    finishHours: finished ? s.finishedAt! / 3600 : null,
    deadlineMet: finished && s.finishedAt! <= job.deadlineSeconds + EPS,
    preemptions: s.preemptions,
    choices,
  };
}
