/**
 * The artifact store port: bytes (outputs, checkpoint archives, logs, large results and plans)
 * kept by their SHA-256, written once. The checkpoint store's KV keeps only pointers to them,
 * their digests and the fencing that decides which pointer counts (docs/artifacts.md).
 */

/** Stored bytes, named by their content. Small enough to travel in heartbeats and workflow history. */
export interface ArtifactRef {
  /** sha256 of the bytes, lower-case hex. */
  digest: string;
  bytes: number;
}

/**
 * Whose artifacts: a job's (outputs, results, logs, plans; kept until the job is cleaned up), or
 * one sub-task's checkpoint archives (also deleted as its checkpoint history moves on).
 */
export interface ArtifactScope {
  jobId: string;
  subTaskId?: string;
}

export type ArtifactBackendKind = 'file' | 's3';

export interface ArtifactStore {
  readonly kind: ArtifactBackendKind;
  /** The store's URL, without secrets (it never holds any). */
  readonly url: string;
  /**
   * Stores bytes under their digest; content already there is not written again. With `expected`,
   * bytes whose digest differs are rejected (`ArtifactDigestMismatchError`) and nothing is stored.
   */
  putBytes(scope: ArtifactScope, data: Uint8Array, expected?: string): Promise<ArtifactRef>;
  /** Stores a file, streamed (it is never held in memory whole); as `putBytes` otherwise. */
  putFile(scope: ArtifactScope, file: string, expected?: string): Promise<ArtifactRef>;
  /** The bytes, checked against the ref (`ArtifactDigestMismatchError`, `ArtifactNotFoundError`). */
  getBytes(scope: ArtifactScope, ref: ArtifactRef): Promise<Buffer>;
  /** Downloads to `dest`, streamed and checked; `dest` appears only once complete and correct. */
  getFile(scope: ArtifactScope, ref: ArtifactRef, dest: string): Promise<void>;
  has(scope: ArtifactScope, digest: string): Promise<boolean>;
  /** Deletes one artifact of the scope (absent: nothing to do). */
  delete(scope: ArtifactScope, digest: string): Promise<void>;
  /** Deletes every artifact of the job, its sub-tasks' included. */
  cleanupJob(jobId: string): Promise<void>;
  close(): Promise<void>;
}
