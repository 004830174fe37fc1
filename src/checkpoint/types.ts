/**
 * The checkpoint store port: fenced, versioned sub-task state and write-once results, kept in a
 * key-value store (sqlite embedded, etcd, Consul). Everything here is plain JSON-able data so that
 * descriptors can travel in heartbeats and workflow history.
 */

import type { ArtifactRef, ArtifactStore } from '../artifacts/types';

export type BackendKind = 'sqlite' | 'etcd' | 'consul';

/** One saved state of a sub-task. Small: it is what a heartbeat carries. */
export interface CheckpointDescriptor {
  /** Increases by one per checkpoint of the sub-task. */
  seq: number;
  /** Fencing token of the attempt that wrote it. */
  token: number;
  /** sha256 of the state bytes, lower-case hex. */
  digest: string;
  bytes: number;
  createdAtMs: number;
  /** False once marked bad (rolled back) or found corrupt. */
  good: boolean;
}

/** Where a job document's chunks are and how to check them. */
export interface DocumentRef {
  blob: string;
  chunks: number;
  bytes: number;
  /** sha256, lower-case hex. */
  digest: string;
  /** The document is in the artifact store under `digest` (large ones, when the store has one). */
  inArtifacts?: true;
}

export interface ResultDescriptor {
  token: number;
  digest: string;
  bytes: number;
  createdAtMs: number;
}

/** What a store knows about one sub-task (for status and for exactly-once checks). */
export interface SubTaskState {
  subTaskId: string;
  /** The latest fencing token claimed; 0 if none. */
  token: number;
  /** Checkpoints kept (good and bad). */
  checkpoints: number;
  latestSeq?: number;
  latestGoodSeq?: number;
  result?: ResultDescriptor;
}

/** Options of one checkpoint write. */
export interface WriteCheckpointOptions {
  /**
   * Artifacts (in the sub-task's scope) the state points to, such as a command's archived
   * checkpoint folder: the store deletes them when the checkpoint leaves the history, unless a
   * kept checkpoint points to the same content.
   */
  artifacts?: ArtifactRef[];
}

export interface CheckpointStore {
  readonly kind: BackendKind;
  /**
   * Where values above `inlineLimitBytes` go (states, results, documents), with only a pointer in
   * the KV; command steps keep their files there. Absent: everything is chunked into the KV.
   */
  readonly artifacts?: ArtifactStore;
  /** Claims the next fencing token for a new execution attempt (atomic compare-and-swap). */
  claimToken(jobId: string, subTaskId: string): Promise<number>;
  /** The latest claimed token, 0 if none. */
  currentToken(jobId: string, subTaskId: string): Promise<number>;
  /**
   * Saves state; visible as the latest only once completely written. Throws `FencedWriteError` when
   * `token` is not the latest claimed one, `CheckpointTooLargeError` above the size limit.
   */
  writeCheckpoint(
    jobId: string,
    subTaskId: string,
    token: number,
    state: Uint8Array,
    options?: WriteCheckpointOptions,
  ): Promise<CheckpointDescriptor>;
  /** The newest good checkpoint whose bytes match its digest; corrupt ones are marked bad and skipped. */
  latestGood(
    jobId: string,
    subTaskId: string,
  ): Promise<{ descriptor: CheckpointDescriptor; state: Buffer } | undefined>;
  /** Kept checkpoints, oldest first. */
  listCheckpoints(jobId: string, subTaskId: string): Promise<CheckpointDescriptor[]>;
  /** Marks a checkpoint bad so `latestGood` rolls back past it; false if it is not (or no longer) kept. */
  markBad(jobId: string, subTaskId: string, seq: number): Promise<boolean>;
  /**
   * Writes the sub-task's result once. Identical bytes again are accepted (idempotent, any token);
   * different bytes throw `ResultAlreadyWrittenError`; a stale token throws `FencedWriteError`.
   */
  writeResult(jobId: string, subTaskId: string, token: number, bytes: Uint8Array): Promise<ResultDescriptor>;
  readResult(
    jobId: string,
    subTaskId: string,
  ): Promise<{ descriptor: ResultDescriptor; bytes: Buffer } | undefined>;
  /**
   * Stores a job-wide document (the decomposed job, the schedule) as an immutable, chunked blob and
   * returns where it is; the reference is small enough to travel in workflow history.
   */
  putDocument(jobId: string, bytes: Uint8Array): Promise<DocumentRef>;
  /** A document's bytes, checked against the reference's length and digest (`CheckpointCorruptError`). */
  readDocument(jobId: string, ref: DocumentRef): Promise<Buffer>;
  /**
   * A small named record outside any job (e.g. a market's learned interruption model), with an
   * opaque version for compare-and-swap; undefined when absent.
   */
  readRecord(name: string): Promise<{ bytes: Buffer; version: string } | undefined>;
  /**
   * Writes a record if its version is still `expectedVersion` (`undefined`: it must not exist yet);
   * false when someone else wrote it first. Records are small: at most one backend value.
   */
  writeRecord(name: string, bytes: Uint8Array, expectedVersion: string | undefined): Promise<boolean>;
  /** Every sub-task of the job the store has keys for, sorted by id. */
  listSubTaskStates(jobId: string): Promise<SubTaskState[]>;
  /** Records that the job finished, for `cleanupFinishedJobs`. */
  markJobFinished(jobId: string, finishedAtMs?: number): Promise<void>;
  /** Deletes every key of the job. */
  cleanupJob(jobId: string): Promise<void>;
  /** Deletes jobs marked finished at least `olderThanMs` ago; returns their ids. */
  cleanupFinishedJobs(options: { olderThanMs: number; nowMs?: number }): Promise<string[]>;
  close(): Promise<void>;
}

/** Limits and behaviour shared by every backend. */
export interface CheckpointStoreOptions {
  /** Key prefix, default `spotdag/checkpoints`. */
  prefix?: string;
  /** Checkpoints kept per sub-task (default 5); older ones and their chunks are deleted. */
  historyLimit?: number;
  /** Largest checkpoint or result, bytes (default 64 MiB). */
  maxBytes?: number;
  /** Chunk size, bytes; capped at the backend's own limit (sqlite and etcd 1 MiB, Consul 256 KiB). */
  chunkBytes?: number;
  /** How long one backend operation is retried through transient failures (default 60 s). */
  retryDeadlineMs?: number;
  /** Timeout of one request to etcd or Consul (default 5 s); a hung server counts as a transient failure. */
  requestTimeoutMs?: number;
  /** Warnings (corrupt checkpoints, failed best-effort cleanup). Never receives secrets. */
  log?: (message: string) => void;
  /** Values larger than this go to the artifact store, when there is one (default 256 KiB). */
  inlineLimitBytes?: number;
}

/** TLS files for `etcds://` and `consuls://`. */
export interface TlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** Options of `openCheckpointStore`: store behaviour plus how to reach and authenticate to the backend. */
export interface OpenCheckpointStoreOptions extends CheckpointStoreOptions {
  tls?: TlsFiles;
  /** etcd user; default `ETCD_USERNAME`. */
  username?: string;
  /** etcd password; default `ETCD_PASSWORD`. */
  password?: string;
  /** Consul ACL token; default `CONSUL_HTTP_TOKEN`. */
  token?: string;
  /**
   * The artifact store (URL or an open store; `null`: none). Default `SPOTDAG_ARTIFACT_STORE`, else
   * a `file://` folder `artifacts` beside a sqlite file, else none.
   */
  artifactStore?: string | ArtifactStore | null;
  /** Where the defaults above are read from (default `process.env`). */
  env?: Record<string, string | undefined>;
}
