import type { BackendKind } from './types';

/**
 * The small transactional key-value interface every backend implements. The checkpoint semantics
 * (fencing, chunking, history, results) are written once on top of it, in `kv-store.ts`.
 *
 * Versions are opaque strings that change on every write of a key and never repeat for it (etcd
 * mod revision, Consul ModifyIndex, a sqlite revision counter). `ABSENT` is the version of a key
 * that does not exist.
 */
export const ABSENT = '0';

export interface KvEntry {
  value: Buffer;
  version: string;
}

export interface KvCondition {
  key: string;
  /** The version the key must still have; `ABSENT`: the key must not exist. */
  version: string;
}

export interface KvPut {
  key: string;
  value: Buffer;
}

export interface KvBackend {
  readonly kind: BackendKind;
  /** The largest value one put may carry, with room to spare below the backend's own limit. */
  readonly maxValueBytes: number;
  get(key: string): Promise<KvEntry | undefined>;
  /** Unconditional put, for chunk data and markers. */
  put(key: string, value: Buffer): Promise<void>;
  /** Atomically: if every condition holds, apply the puts and return true; otherwise change nothing. */
  commit(conditions: KvCondition[], puts: KvPut[]): Promise<boolean>;
  /** Keys (not values) with the prefix. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  deletePrefix(prefix: string): Promise<void>;
  /** Whether an error from this backend is worth retrying (connection lost, timeout, busy). */
  isTransient(err: unknown): boolean;
  /** Strings that must never appear in an error message (passwords, tokens). */
  readonly secrets: readonly string[];
  close(): Promise<void>;
}
