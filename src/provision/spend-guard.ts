import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { shortHash } from '../util/hash';
import { InstanceCapExceededError, SpendCapExceededError } from './ec2-errors';

export interface SpendLimits {
  /** Instances of one job running at once. */
  maxInstances: number;
  /** Worst-case spend of one job over all its launches. */
  maxSpendUsd: number;
}

/** The worst-case spend committed to one launch (price bound × lifetime), by a key stable across retries. */
export interface Reservation {
  key: string;
  usd: number;
  atMs: number;
}

/**
 * Where reservations live. They are never given back: an instance that ended early still counts
 * its whole worst case, so the sum only over-estimates what was spent.
 */
export interface SpendLedger {
  reservations(jobId: string): Reservation[];
  add(jobId: string, reservations: Reservation[]): void;
}

export class MemorySpendLedger implements SpendLedger {
  private readonly byJob = new Map<string, Reservation[]>();
  reservations(jobId: string): Reservation[] {
    return [...(this.byJob.get(jobId) ?? [])];
  }
  add(jobId: string, reservations: Reservation[]): void {
    this.byJob.set(jobId, [...this.reservations(jobId), ...reservations]);
  }
}

/**
 * One JSON file per job under `dir`, written atomically (rename), synchronously so that a check and
 * its reservation cannot interleave with another in this process. Control workers on several
 * machines must share `dir` (or one of them provisions), or each would keep its own sum.
 */
export class FileSpendLedger implements SpendLedger {
  constructor(private readonly dir: string) {}

  reservations(jobId: string): Reservation[] {
    try {
      return (JSON.parse(readFileSync(this.file(jobId), 'utf8')) as { reservations: Reservation[] })
        .reservations;
    } catch {
      return [];
    }
  }

  add(jobId: string, reservations: Reservation[]): void {
    mkdirSync(this.dir, { recursive: true });
    const file = this.file(jobId);
    const all = [...this.reservations(jobId), ...reservations];
    writeFileSync(`${file}.tmp`, JSON.stringify({ jobId, reservations: all }, null, 2));
    renameSync(`${file}.tmp`, file);
  }

  private file(jobId: string): string {
    return path.join(
      this.dir,
      `${shortHash(jobId)}-${jobId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 80)}.json`,
    );
  }
}

/**
 * The hard caps of one job. `admit` checks a batch of launches against both caps and reserves their
 * worst-case spend in one step, before anything is launched; a refused batch launches nothing.
 * `serialize` runs a job's check-and-launch sections one at a time, so that two concurrent launches
 * in this process cannot both pass a check that only one of them would.
 */
export class SpendGuard {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    readonly limits: SpendLimits,
    private readonly ledger: SpendLedger = new MemorySpendLedger(),
  ) {}

  /** USD reserved so far for the job. */
  committedUsd(jobId: string): number {
    return this.ledger.reservations(jobId).reduce((sum, r) => sum + r.usd, 0);
  }

  /**
   * Admits launches of `launches` more instances with `live` already running. A key already reserved
   * (a retry of the same launch) is not counted again. Throws InstanceCapExceededError or
   * SpendCapExceededError, reserving nothing.
   */
  admit(jobId: string, live: number, launches: Array<{ key: string; usd: number }>): void {
    if (live + launches.length > this.limits.maxInstances)
      throw new InstanceCapExceededError(jobId, this.limits.maxInstances, live, launches.length);
    const reserved = new Set(this.ledger.reservations(jobId).map((r) => r.key));
    const fresh = launches.filter((l) => !reserved.has(l.key));
    const committed = this.committedUsd(jobId);
    const requested = fresh.reduce((sum, l) => sum + l.usd, 0);
    // A tiny tolerance for floating-point sums of exact-looking prices.
    if (committed + requested > this.limits.maxSpendUsd + 1e-9)
      throw new SpendCapExceededError(jobId, this.limits.maxSpendUsd, committed, requested);
    if (fresh.length > 0)
      this.ledger.add(
        jobId,
        fresh.map((l) => ({ ...l, atMs: Date.now() })),
      );
  }

  serialize<T>(jobId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(jobId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(jobId, tail);
    void tail.then(() => {
      if (this.queues.get(jobId) === tail) this.queues.delete(jobId);
    });
    return run;
  }
}
