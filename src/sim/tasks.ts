/** Per-sub-task state of a simulation (indexed like the DAG's arrays). */
import type { SimInstance } from './instance';

export enum TaskStatus {
  Pending = 0,
  Running = 1,
  Done = 2,
}

export class SubTasks {
  readonly status: Int8Array;
  /** The instance the current plan puts it on (pending sub-tasks). */
  readonly assigned: Array<SimInstance | undefined>;
  /** Checkpoint interval of the current attempt (0: no checkpoints). */
  readonly tau: Float64Array;
  /** Seconds of work saved by checkpoints (the whole duration once done). */
  readonly progress: Float64Array;
  /** Attempt number; a Done event of an earlier attempt is stale. */
  readonly attempt: Int32Array;
  readonly startAt: Float64Array;
  /** Restart cost paid at the start of the current attempt. */
  readonly restartOf: Float64Array;
  readonly finishAt: Float64Array;
  readonly runOn: Array<SimInstance | undefined>;
  readonly doneAt: Float64Array;
  readonly doneOn: Array<SimInstance | undefined>;
  readonly completions: Int32Array;
  doneCount = 0;
  onDemandDone = 0;

  constructor(readonly n: number) {
    this.status = new Int8Array(n);
    this.assigned = new Array(n);
    this.tau = new Float64Array(n);
    this.progress = new Float64Array(n);
    this.attempt = new Int32Array(n);
    this.startAt = new Float64Array(n);
    this.restartOf = new Float64Array(n);
    this.finishAt = new Float64Array(n);
    this.runOn = new Array(n);
    this.doneAt = new Float64Array(n).fill(NaN);
    this.doneOn = new Array(n);
    this.completions = new Int32Array(n);
  }

  /** The same state with `n` sub-tasks, the new ones pending (a policy cut some into pieces). */
  grown(n: number): SubTasks {
    if (n < this.n) throw new RangeError(`sub-tasks cannot go from ${this.n} to ${n}`);
    const next = new SubTasks(n);
    next.status.set(this.status);
    next.tau.set(this.tau);
    next.progress.set(this.progress);
    next.attempt.set(this.attempt);
    next.startAt.set(this.startAt);
    next.restartOf.set(this.restartOf);
    next.finishAt.set(this.finishAt);
    next.doneAt.set(this.doneAt);
    next.completions.set(this.completions);
    for (let v = 0; v < this.n; v++) {
      next.assigned[v] = this.assigned[v];
      next.runOn[v] = this.runOn[v];
      next.doneOn[v] = this.doneOn[v];
    }
    next.doneCount = this.doneCount;
    next.onDemandDone = this.onDemandDone;
    return next;
  }

  /** Pending and placed on `inst` by the current plan. */
  queuedOn(v: number, inst: SimInstance): boolean {
    return this.status[v] === TaskStatus.Pending && this.assigned[v] === inst;
  }
}
