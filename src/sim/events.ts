/** The simulator's events and their queue (time order; ties in the order they were queued). */
import { Heap } from 'heap-js';
import type { SimInstance } from './instance';

export enum EventKind {
  /** An instance's launch time (or a waiting spot request's next chance) has come. */
  Launch,
  /** An instance finished booting. */
  Booted,
  /** The 2-minute notice before a spot instance is interrupted. */
  Notice,
  /** A spot instance is interrupted. */
  Terminate,
  /** A sub-task's attempt finished. */
  Done,
  /** A queued sub-task's inputs have arrived: look at the instance's queue again. */
  Wake,
  /** Re-plan now (after an interruption or a refused launch). */
  Replan,
  /** The policy's periodic re-plan. */
  Periodic,
}

export interface SimEvent {
  t: number;
  seq: number;
  kind: EventKind;
  /** Stale when it no longer matches the instance's version (or the sub-task's attempt). */
  version: number;
  inst?: SimInstance;
  task?: number;
}

export class EventQueue {
  private readonly heap = new Heap<SimEvent>((x, y) => x.t - y.t || x.seq - y.seq);
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(t: number, kind: EventKind, version = 0, inst?: SimInstance, task?: number): void {
    this.heap.push({ t, seq: this.seq++, kind, inst, task, version });
  }

  pop(): SimEvent {
    return this.heap.pop()!;
  }
}
