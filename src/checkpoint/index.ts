// The checkpoint store: one port (`CheckpointStore`), backends chosen by URL.
export type * from './types';
export * from './errors';
export { openCheckpointStore, createBackend, artifactStoreFor, DEFAULT_REQUEST_TIMEOUT_MS } from './open';
export { parseCheckpointStoreUrl, type CheckpointStoreLocation } from './url';
export {
  KvCheckpointStore,
  DEFAULT_HISTORY_LIMIT,
  DEFAULT_MAX_BYTES,
  DEFAULT_INLINE_LIMIT_BYTES,
  type KvCheckpointStoreOptions,
  type CheckpointStoreHooks,
} from './kv-store';
export { DEFAULT_RETRY_DEADLINE_MS } from './retry';
export type { KvBackend, KvEntry, KvCondition, KvPut } from './kv';
export { SqliteKv } from './sqlite-kv';
export { EtcdKv, type EtcdKvSettings } from './etcd-kv';
export { ConsulKv, type ConsulKvSettings } from './consul-kv';
