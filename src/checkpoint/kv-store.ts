import { randomBytes } from 'node:crypto';
import { ArtifactError } from '../artifacts/errors';
import type { ArtifactRef, ArtifactScope, ArtifactStore } from '../artifacts/types';
import { asBuffer, mapLimit, readBlob, sha256, writeBlob, type BlobRead } from './blob';
import {
  CheckpointBackendError,
  CheckpointCorruptError,
  CheckpointError,
  CheckpointStoreConfigError,
  CheckpointTooLargeError,
  FencedWriteError,
  ResultAlreadyWrittenError,
} from './errors';
import { blobIdOf, blobTokenOf, KeyLayout, type SubTaskKeys } from './keys';
import { ABSENT, type KvBackend, type KvEntry } from './kv';
import {
  decodeFinished,
  decodeHead,
  decodeResult,
  decodeToken,
  EMPTY_HEAD,
  encodeRecord,
  encodeToken,
  type BlobRef,
  type CheckpointRecord,
  type HeadRecord,
  type ResultRecord,
} from './records';
import { backoffMs, DEFAULT_RETRY_DEADLINE_MS, RetryingKv, sleep } from './retry';
import type {
  BackendKind,
  CheckpointDescriptor,
  CheckpointStore,
  CheckpointStoreOptions,
  DocumentRef,
  ResultDescriptor,
  SubTaskState,
  WriteCheckpointOptions,
} from './types';

export const DEFAULT_HISTORY_LIMIT = 5;
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** Values above this go to the artifact store when there is one; the KV keeps a pointer. */
export const DEFAULT_INLINE_LIMIT_BYTES = 256 * 1024;

/** For tests: lets a test stop a write between its chunks and its head record, like a sudden kill. */
export interface CheckpointStoreHooks {
  afterChunksWritten?(info: { jobId: string; subTaskId: string; blobPrefix: string }): Promise<void> | void;
}

export interface KvCheckpointStoreOptions extends CheckpointStoreOptions {
  hooks?: CheckpointStoreHooks;
  /** Where large values go (closed with this store); without one they are chunked into the KV. */
  artifacts?: ArtifactStore;
}

function describe(record: CheckpointRecord): CheckpointDescriptor {
  const { seq, token, digest, bytes, createdAtMs, good } = record;
  return { seq, token, digest, bytes, createdAtMs, good };
}

function describeResult(record: ResultRecord): ResultDescriptor {
  const { token, digest, bytes, createdAtMs } = record;
  return { token, digest, bytes, createdAtMs };
}

/**
 * The checkpoint semantics over any `KvBackend`. Every multi-key invariant is kept by one
 * conditional commit (`KvBackend.commit`), never by read-then-write:
 * - a token claim commits only if the token key is unchanged since it was read;
 * - a checkpoint (result) becomes visible by committing the head (result) record, conditional on
 *   the token key being unchanged since the token was checked, after all its chunks are written.
 */
export class KvCheckpointStore implements CheckpointStore {
  readonly kind: BackendKind;
  /** The backend, retrying transient failures. Exposed for tests and tools (contract tests corrupt chunks). */
  readonly kv: KvBackend;
  readonly layout: KeyLayout;
  readonly historyLimit: number;
  readonly maxBytes: number;
  readonly chunkBytes: number;
  readonly artifacts?: ArtifactStore;
  readonly inlineLimitBytes: number;
  private readonly retryDeadlineMs: number;
  private readonly log: (message: string) => void;
  private readonly hooks: CheckpointStoreHooks;

  constructor(backend: KvBackend, options: KvCheckpointStoreOptions = {}) {
    this.kind = backend.kind;
    this.retryDeadlineMs = options.retryDeadlineMs ?? DEFAULT_RETRY_DEADLINE_MS;
    this.kv = new RetryingKv(backend, { deadlineMs: this.retryDeadlineMs });
    this.layout = new KeyLayout(options.prefix);
    this.historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.chunkBytes = Math.min(options.chunkBytes ?? backend.maxValueBytes, backend.maxValueBytes);
    this.log = options.log ?? ((message) => process.emitWarning(message, 'SpotdagCheckpointWarning'));
    this.hooks = options.hooks ?? {};
    this.artifacts = options.artifacts;
    this.inlineLimitBytes = options.inlineLimitBytes ?? DEFAULT_INLINE_LIMIT_BYTES;
    if (!Number.isInteger(this.historyLimit) || this.historyLimit < 1)
      throw new CheckpointStoreConfigError(
        `historyLimit must be a positive integer, got ${this.historyLimit}`,
      );
    if (!(this.chunkBytes > 0)) throw new CheckpointStoreConfigError(`chunkBytes must be positive`);
  }

  // ---- tokens ---------------------------------------------------------------------------------

  async claimToken(jobId: string, subTaskId: string): Promise<number> {
    const keys = this.layout.subTask(jobId, subTaskId);
    const token = await this.casLoop('claimToken', async () => {
      const current = await this.kv.get(keys.token);
      const next = this.tokenOf(current) + 1;
      const ok = await this.kv.commit(
        [{ key: keys.token, version: current?.version ?? ABSENT }],
        [{ key: keys.token, value: encodeToken(next) }],
      );
      return ok ? next : undefined;
    });
    // A new attempt is the moment to drop what a killed older attempt left half-written.
    await this.collectOrphans(keys, token).catch((err: unknown) =>
      this.log(`checkpoint store: could not remove orphaned chunks of ${jobId}/${subTaskId}: ${String(err)}`),
    );
    return token;
  }

  async currentToken(jobId: string, subTaskId: string): Promise<number> {
    return this.tokenOf(await this.kv.get(this.layout.subTask(jobId, subTaskId).token));
  }

  // ---- checkpoints ----------------------------------------------------------------------------

  async writeCheckpoint(
    jobId: string,
    subTaskId: string,
    token: number,
    state: Uint8Array,
    options: WriteCheckpointOptions = {},
  ): Promise<CheckpointDescriptor> {
    const data = asBuffer(state);
    this.checkSize(jobId, subTaskId, data.length);
    const keys = this.layout.subTask(jobId, subTaskId);
    // Fail fast before uploading megabytes; the commit below checks again, atomically.
    this.assertToken(jobId, subTaskId, token, await this.kv.get(keys.token));
    const blob = newBlobId(token);
    const digest = sha256(data);
    const stored = await this.storeBytes({ jobId, subTaskId }, keys, blob, data);
    await this.hooks.afterChunksWritten?.({ jobId, subTaskId, blobPrefix: keys.blob(blob) });

    let dropped: CheckpointRecord[] = [];
    let keptAfter: CheckpointRecord[] = [];
    const record = await this.ownBlobOnFence(keys, blob, () =>
      this.casLoop('writeCheckpoint', async () => {
        const [tokenEntry, headEntry] = await Promise.all([this.kv.get(keys.token), this.kv.get(keys.head)]);
        const head = this.headOf(jobId, subTaskId, headEntry);
        const mine = head.checkpoints.find((c) => c.blob === blob);
        if (mine) return mine; // an earlier commit went through but its reply was lost
        this.assertToken(jobId, subTaskId, token, tokenEntry);
        const added: CheckpointRecord = {
          seq: head.nextSeq,
          token,
          digest,
          bytes: data.length,
          createdAtMs: Date.now(),
          good: true,
          blob,
          ...stored,
          ...(options.artifacts?.length ? { artifacts: options.artifacts } : {}),
        };
        const all = [...head.checkpoints, added];
        const kept = all.slice(-this.historyLimit);
        const next: HeadRecord = { v: 1, nextSeq: added.seq + 1, checkpoints: kept };
        const ok = await this.kv.commit(
          [
            { key: keys.token, version: tokenEntry?.version ?? ABSENT },
            { key: keys.head, version: headEntry?.version ?? ABSENT },
          ],
          [{ key: keys.head, value: encodeRecord(next) }],
        );
        if (!ok) return undefined;
        dropped = all.slice(0, all.length - kept.length);
        keptAfter = kept;
        return added;
      }),
    );
    await this.deleteBlobs(
      keys,
      dropped.filter((c) => !c.inArtifacts).map((c) => c.blob),
    );
    await this.deleteCheckpointArtifacts({ jobId, subTaskId }, dropped, keptAfter);
    return describe(record);
  }

  async latestGood(
    jobId: string,
    subTaskId: string,
  ): Promise<{ descriptor: CheckpointDescriptor; state: Buffer } | undefined> {
    const keys = this.layout.subTask(jobId, subTaskId);
    const head = this.headOf(jobId, subTaskId, await this.kv.get(keys.head));
    for (const record of [...head.checkpoints].reverse()) {
      if (!record.good) continue;
      const read = await this.readBytes({ jobId, subTaskId }, keys, record);
      if (read.ok) return { descriptor: describe(record), state: read.data };
      this.log(
        `checkpoint ${record.seq} of job ${jobId} sub-task ${subTaskId} is corrupt (${read.reason}); ` +
          'marking it bad and rolling back to the previous one',
      );
      await this.markBad(jobId, subTaskId, record.seq);
    }
    return undefined;
  }

  async listCheckpoints(jobId: string, subTaskId: string): Promise<CheckpointDescriptor[]> {
    const keys = this.layout.subTask(jobId, subTaskId);
    return this.headOf(jobId, subTaskId, await this.kv.get(keys.head)).checkpoints.map(describe);
  }

  async markBad(jobId: string, subTaskId: string, seq: number): Promise<boolean> {
    const keys = this.layout.subTask(jobId, subTaskId);
    return this.casLoop('markBad', async () => {
      const headEntry = await this.kv.get(keys.head);
      const head = this.headOf(jobId, subTaskId, headEntry);
      const record = head.checkpoints.find((c) => c.seq === seq);
      if (!record) return false;
      if (!record.good) return true;
      const next: HeadRecord = {
        ...head,
        checkpoints: head.checkpoints.map((c) => (c.seq === seq ? { ...c, good: false } : c)),
      };
      const ok = await this.kv.commit(
        [{ key: keys.head, version: headEntry!.version }],
        [{ key: keys.head, value: encodeRecord(next) }],
      );
      return ok ? true : undefined;
    });
  }

  /** Chunk keys of a kept checkpoint; for tests and tools that inspect or damage stored data. */
  async chunkKeysOf(jobId: string, subTaskId: string, seq: number): Promise<string[]> {
    const keys = this.layout.subTask(jobId, subTaskId);
    const record = this.headOf(jobId, subTaskId, await this.kv.get(keys.head)).checkpoints.find(
      (c) => c.seq === seq,
    );
    return record ? Array.from({ length: record.chunks }, (_, i) => keys.chunk(record.blob, i)) : [];
  }

  // ---- results --------------------------------------------------------------------------------

  async writeResult(
    jobId: string,
    subTaskId: string,
    token: number,
    bytes: Uint8Array,
  ): Promise<ResultDescriptor> {
    const data = asBuffer(bytes);
    this.checkSize(jobId, subTaskId, data.length);
    const keys = this.layout.subTask(jobId, subTaskId);
    const digest = sha256(data);
    const settled = (existing: ResultRecord): ResultDescriptor => {
      if (existing.digest === digest && existing.bytes === data.length) return describeResult(existing);
      throw new ResultAlreadyWrittenError(jobId, subTaskId, existing.digest, digest);
    };
    const before = await this.kv.get(keys.result);
    if (before) return settled(this.resultOf(jobId, subTaskId, before));
    this.assertToken(jobId, subTaskId, token, await this.kv.get(keys.token));

    const blob = newBlobId(token);
    const stored = await this.storeBytes({ jobId }, keys, blob, data);
    let ours = false;
    const record = await this.ownBlobOnFence(keys, blob, () =>
      this.casLoop('writeResult', async () => {
        const [tokenEntry, resultEntry] = await Promise.all([
          this.kv.get(keys.token),
          this.kv.get(keys.result),
        ]);
        if (resultEntry) {
          const existing = this.resultOf(jobId, subTaskId, resultEntry);
          ours = existing.blob === blob; // an earlier commit went through but its reply was lost
          return existing;
        }
        this.assertToken(jobId, subTaskId, token, tokenEntry);
        const added: ResultRecord = {
          v: 1,
          token,
          digest,
          bytes: data.length,
          createdAtMs: Date.now(),
          blob,
          ...stored,
        };
        const ok = await this.kv.commit(
          [
            { key: keys.token, version: tokenEntry?.version ?? ABSENT },
            { key: keys.result, version: ABSENT },
          ],
          [{ key: keys.result, value: encodeRecord(added) }],
        );
        ours = ok;
        return ok ? added : undefined;
      }),
    );
    if (!ours) await this.deleteBlobs(keys, [blob]);
    return settled(record);
  }

  async readResult(
    jobId: string,
    subTaskId: string,
  ): Promise<{ descriptor: ResultDescriptor; bytes: Buffer } | undefined> {
    const keys = this.layout.subTask(jobId, subTaskId);
    const entry = await this.kv.get(keys.result);
    if (!entry) return undefined;
    const record = this.resultOf(jobId, subTaskId, entry);
    const read = await this.readBytes({ jobId }, keys, record);
    if (!read.ok) throw new CheckpointCorruptError(jobId, subTaskId, 'result', read.reason);
    return { descriptor: describeResult(record), bytes: read.data };
  }

  // ---- job documents --------------------------------------------------------------------------

  async putDocument(jobId: string, bytes: Uint8Array): Promise<DocumentRef> {
    const data = asBuffer(bytes);
    this.checkSize(jobId, '(document)', data.length);
    const blob = `d.${randomBytes(8).toString('hex')}`;
    const stored = await this.storeBytes({ jobId }, this.layout.documents(jobId), blob, data);
    return { blob, ...stored, bytes: data.length, digest: sha256(data) };
  }

  async readDocument(jobId: string, ref: DocumentRef): Promise<Buffer> {
    const read = await this.readBytes({ jobId }, this.layout.documents(jobId), ref);
    if (!read.ok) throw new CheckpointCorruptError(jobId, '(document)', `document ${ref.blob}`, read.reason);
    return read.data;
  }

  // ---- records --------------------------------------------------------------------------------

  async readRecord(name: string): Promise<{ bytes: Buffer; version: string } | undefined> {
    const entry = await this.kv.get(this.layout.record(name));
    return entry && { bytes: entry.value, version: entry.version };
  }

  async writeRecord(name: string, bytes: Uint8Array, expectedVersion: string | undefined): Promise<boolean> {
    const data = asBuffer(bytes);
    if (data.length > this.kv.maxValueBytes)
      throw new CheckpointError(
        `record ${name} is ${data.length} bytes, above the backend's value limit of ${this.kv.maxValueBytes} bytes`,
      );
    const key = this.layout.record(name);
    return this.kv.commit([{ key, version: expectedVersion ?? ABSENT }], [{ key, value: data }]);
  }

  // ---- jobs -----------------------------------------------------------------------------------

  async listSubTaskStates(jobId: string): Promise<SubTaskState[]> {
    const keys = await this.kv.list(this.layout.subTasksOf(jobId));
    const ids = [...new Set(keys.map((key) => this.layout.subTaskIdOf(jobId, key)))].filter(
      (id): id is string => id !== undefined,
    );
    ids.sort();
    return mapLimit(ids, 8, async (subTaskId): Promise<SubTaskState> => {
      const k = this.layout.subTask(jobId, subTaskId);
      const [token, head, result] = await Promise.all([
        this.kv.get(k.token),
        this.kv.get(k.head),
        this.kv.get(k.result),
      ]);
      const checkpoints = this.headOf(jobId, subTaskId, head).checkpoints;
      const good = checkpoints.filter((c) => c.good);
      return {
        subTaskId,
        token: this.tokenOf(token),
        checkpoints: checkpoints.length,
        ...(checkpoints.length ? { latestSeq: checkpoints[checkpoints.length - 1]!.seq } : {}),
        ...(good.length ? { latestGoodSeq: good[good.length - 1]!.seq } : {}),
        ...(result ? { result: describeResult(this.resultOf(jobId, subTaskId, result)) } : {}),
      };
    });
  }

  async markJobFinished(jobId: string, finishedAtMs = Date.now()): Promise<void> {
    await this.kv.put(this.layout.finished(jobId), encodeRecord({ v: 1, finishedAtMs }));
  }

  async cleanupJob(jobId: string): Promise<void> {
    await this.artifacts?.cleanupJob(jobId);
    await this.kv.deletePrefix(this.layout.job(jobId));
    // The marker goes last: a cleanup cut short is found and finished by the next retention pass.
    await this.kv.delete(this.layout.finished(jobId));
  }

  async cleanupFinishedJobs(options: { olderThanMs: number; nowMs?: number }): Promise<string[]> {
    const cutoff = (options.nowMs ?? Date.now()) - options.olderThanMs;
    const removed: string[] = [];
    for (const key of await this.kv.list(this.layout.finishedPrefix)) {
      const jobId = this.layout.jobIdOfFinished(key);
      const entry = await this.kv.get(key);
      if (jobId === undefined || !entry) continue;
      const marker = decodeFinished(entry.value);
      // An unreadable marker still says "finished"; without a time it is kept for a person to look at.
      if (!marker || marker.finishedAtMs > cutoff) continue;
      await this.cleanupJob(jobId);
      removed.push(jobId);
    }
    return removed;
  }

  async close(): Promise<void> {
    await this.kv.close();
    await this.artifacts?.close();
  }

  // ---- helpers --------------------------------------------------------------------------------

  /**
   * Writes a value's bytes: to the artifact store above the inline limit (when there is one), so
   * the KV keeps only the record pointing to them; else as chunks into the KV.
   */
  private async storeBytes(
    scope: ArtifactScope,
    keys: Pick<SubTaskKeys, 'chunk'>,
    blob: string,
    data: Buffer,
  ): Promise<{ chunks: number; inArtifacts?: true }> {
    if (this.artifacts && data.length > this.inlineLimitBytes) {
      await this.artifacts.putBytes(scope, data);
      return { chunks: 0, inArtifacts: true };
    }
    return { chunks: await writeBlob(this.kv, keys, blob, data, this.chunkBytes) };
  }

  /** A value's bytes, checked; a missing or damaged artifact reads as corrupt, like a bad chunk. */
  private async readBytes(
    scope: ArtifactScope,
    keys: Pick<SubTaskKeys, 'chunk'>,
    ref: BlobRef,
  ): Promise<BlobRead> {
    if (!ref.inArtifacts) return readBlob(this.kv, keys, ref);
    if (!this.artifacts)
      throw new CheckpointStoreConfigError(
        `a value of job ${scope.jobId} is in the artifact store, and this checkpoint store has none (set SPOTDAG_ARTIFACT_STORE)`,
      );
    try {
      return { ok: true, data: await this.artifacts.getBytes(scope, ref) };
    } catch (err) {
      if (err instanceof ArtifactError) return { ok: false, reason: err.message };
      throw err;
    }
  }

  /** Best effort: artifacts of checkpoints that left the history, unless a kept one shares them. */
  private async deleteCheckpointArtifacts(
    scope: ArtifactScope,
    dropped: CheckpointRecord[],
    kept: CheckpointRecord[],
  ): Promise<void> {
    if (!this.artifacts || dropped.length === 0) return;
    const refsOf = (c: CheckpointRecord): ArtifactRef[] => [
      ...(c.inArtifacts ? [{ digest: c.digest, bytes: c.bytes }] : []),
      ...(c.artifacts ?? []),
    ];
    const keep = new Set(kept.flatMap(refsOf).map((r) => r.digest));
    const gone = new Set(dropped.flatMap(refsOf).map((r) => r.digest));
    for (const digest of gone) {
      if (keep.has(digest)) continue;
      await this.artifacts.delete(scope, digest).catch((err: unknown) => {
        this.log(`checkpoint store: could not delete artifact ${digest} of ${scope.jobId}: ${String(err)}`);
      });
    }
  }

  private checkSize(jobId: string, subTaskId: string, bytes: number): void {
    if (bytes > this.maxBytes) throw new CheckpointTooLargeError(jobId, subTaskId, bytes, this.maxBytes);
  }

  private tokenOf(entry: KvEntry | undefined): number {
    try {
      return decodeToken(entry?.value);
    } catch (err) {
      throw new CheckpointBackendError(this.kind, 'read token', (err as Error).message);
    }
  }

  private assertToken(jobId: string, subTaskId: string, token: number, entry: KvEntry | undefined): void {
    const current = this.tokenOf(entry);
    if (current !== token) throw new FencedWriteError(jobId, subTaskId, token, current);
  }

  private headOf(jobId: string, subTaskId: string, entry: KvEntry | undefined): HeadRecord {
    if (!entry) return EMPTY_HEAD;
    const head = decodeHead(entry.value);
    if (!head)
      throw new CheckpointCorruptError(jobId, subTaskId, 'checkpoint head record', 'it does not parse');
    return head;
  }

  private resultOf(jobId: string, subTaskId: string, entry: KvEntry): ResultRecord {
    const record = decodeResult(entry.value);
    if (!record) throw new CheckpointCorruptError(jobId, subTaskId, 'result record', 'it does not parse');
    return record;
  }

  /**
   * Repeats a read-compare-commit step until it commits (returns a value). Conflicts mean someone
   * else committed in between; they are retried with a short jittered backoff until the deadline.
   */
  private async casLoop<T>(operation: string, step: () => Promise<T | undefined>): Promise<T> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const result = await step();
      if (result !== undefined) return result;
      if (Date.now() - started > this.retryDeadlineMs)
        throw new CheckpointBackendError(
          this.kind,
          operation,
          `gave up after ${attempt + 1} conflicting updates`,
        );
      await sleep(backoffMs(Math.min(attempt, 6), 2, 200));
    }
  }

  /** A write refused by fencing will never be committed: its chunks go at once. */
  private async ownBlobOnFence<T>(keys: SubTaskKeys, blob: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof FencedWriteError) await this.deleteBlobs(keys, [blob]);
      throw err;
    }
  }

  /** Best effort: a chunk left behind costs space, not correctness, and the next claim collects it. */
  private async deleteBlobs(keys: SubTaskKeys, blobs: string[]): Promise<void> {
    for (const blob of blobs) {
      await this.kv.deletePrefix(keys.blob(blob)).catch((err: unknown) => {
        if (!(err instanceof CheckpointError)) throw err;
        this.log(`checkpoint store: could not delete chunks ${keys.blob(blob)}: ${err.message}`);
      });
    }
  }

  /**
   * Deletes blobs no record points to whose writer's token is older than `token`: their writes can
   * no longer commit, because the claim of `token` changed the token key they compare against.
   */
  private async collectOrphans(keys: SubTaskKeys, token: number): Promise<void> {
    const blobIds = new Set((await this.kv.list(keys.blobs)).map((key) => blobIdOf(keys, key)));
    if (blobIds.size === 0) return;
    const [headEntry, resultEntry] = await Promise.all([this.kv.get(keys.head), this.kv.get(keys.result)]);
    const head = headEntry ? decodeHead(headEntry.value) : EMPTY_HEAD;
    const result = resultEntry ? decodeResult(resultEntry.value) : undefined;
    // With a record that does not parse, nobody can tell what is referenced: delete nothing.
    if (!head || (resultEntry && !result)) return;
    const referenced = new Set([...head.checkpoints.map((c) => c.blob), ...(result ? [result.blob] : [])]);
    const orphans = [...blobIds].filter(
      (id): id is string => id !== undefined && !referenced.has(id) && blobTokenOf(id) < token,
    );
    await this.deleteBlobs(keys, orphans);
  }
}

function newBlobId(token: number): string {
  return `${token}.${randomBytes(6).toString('hex')}`;
}
