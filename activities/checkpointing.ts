import { ApplicationFailure } from '@temporalio/activity';
import type { ArtifactRef } from '../src/artifacts';
import { FencedWriteError, type CheckpointStore } from '../src/checkpoint';
import type { AttemptCheckpoints, CheckpointDescriptor, SavedState } from './instance';

/** Error type of a write rejected by fencing: a newer attempt owns the sub-task. */
export const FENCED = 'FencedWrite';

const encode = (value: unknown) => Buffer.from(JSON.stringify(value ?? null));
const decode = (bytes: Buffer): unknown => JSON.parse(bytes.toString('utf8'));

/**
 * One execution attempt of a sub-task against the checkpoint store: it claims a fencing token,
 * resumes from the last good checkpoint, writes checkpoints and the result with its token (a
 * stale attempt's writes are rejected), and on an application failure marks the checkpoint it
 * ran from bad, so that the next attempt rolls back past it.
 */
export class StoreAttempt implements AttemptCheckpoints {
  private lastSeq?: number;

  private constructor(
    private readonly store: CheckpointStore,
    private readonly jobId: string,
    private readonly subTaskId: string,
    readonly token: number,
  ) {}

  /** The result, when an earlier attempt already finished the sub-task (it never runs twice). */
  static async finishedOutput(
    store: CheckpointStore,
    jobId: string,
    subTaskId: string,
  ): Promise<{ output: unknown } | undefined> {
    const result = await store.readResult(jobId, subTaskId);
    return result && { output: decode(result.bytes) };
  }

  static async begin(store: CheckpointStore, jobId: string, subTaskId: string): Promise<StoreAttempt> {
    return new StoreAttempt(store, jobId, subTaskId, await store.claimToken(jobId, subTaskId));
  }

  /** When the checkpoint this attempt resumed from was written (lost work runs from there). */
  restoredAtMs?: number;

  async restore(): Promise<SavedState | undefined> {
    const latest = await this.store.latestGood(this.jobId, this.subTaskId);
    if (!latest) return undefined;
    this.lastSeq = latest.descriptor.seq;
    this.restoredAtMs = latest.descriptor.createdAtMs;
    return decode(latest.state) as SavedState;
  }

  /** Writes a checkpoint (fenced); `artifacts` are those the state points to (a command's archive). */
  async save(saved: SavedState, artifacts?: ArtifactRef[]): Promise<CheckpointDescriptor> {
    const descriptor = await fenced(() =>
      this.store.writeCheckpoint(this.jobId, this.subTaskId, this.token, encode(saved), { artifacts }),
    );
    this.lastSeq = descriptor.seq;
    return { seq: descriptor.seq, token: descriptor.token, digest: descriptor.digest };
  }

  async finish(output: unknown): Promise<void> {
    await fenced(() => this.store.writeResult(this.jobId, this.subTaskId, this.token, encode(output)));
  }

  /** The checkpoint just restored cannot be used: marks it bad, so the next restore goes further back. */
  async rejectRestored(): Promise<void> {
    await this.failed();
    this.lastSeq = undefined;
  }

  /** Rolls back: the checkpoint this attempt last wrote or resumed from is bad. */
  async failed(): Promise<void> {
    if (this.lastSeq !== undefined) await this.store.markBad(this.jobId, this.subTaskId, this.lastSeq);
  }
}

async function fenced<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof FencedWriteError) throw ApplicationFailure.nonRetryable(err.message, FENCED);
    throw err;
  }
}
