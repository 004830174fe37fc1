import { readFileSync } from 'node:fs';
import { defaultArtifactStoreUrl, openArtifactStore } from '../artifacts/open';
import type { ArtifactStore } from '../artifacts/types';
import { ConsulKv } from './consul-kv';
import { CheckpointStoreConfigError } from './errors';
import { EtcdKv } from './etcd-kv';
import type { KvBackend } from './kv';
import { KvCheckpointStore } from './kv-store';
import { SqliteKv } from './sqlite-kv';
import type { OpenCheckpointStoreOptions, TlsFiles } from './types';
import { parseCheckpointStoreUrl, type CheckpointStoreLocation } from './url';

export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

function readTls(tls: TlsFiles | undefined): { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined {
  if (!tls) return undefined;
  const read = (name: keyof TlsFiles): Buffer | undefined => {
    const file = tls[name];
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new CheckpointStoreConfigError(`tls.${name} ${file} cannot be read: ${(err as Error).message}`);
    }
  };
  const files = { ca: read('caFile'), cert: read('certFile'), key: read('keyFile') };
  if (Boolean(files.cert) !== Boolean(files.key))
    throw new CheckpointStoreConfigError(
      'tls.certFile and tls.keyFile go together (a client certificate and its key)',
    );
  return files;
}

/** The backend for a location, with credentials from the options or the environment. */
export function createBackend(
  location: CheckpointStoreLocation,
  options: OpenCheckpointStoreOptions = {},
): KvBackend {
  const env = options.env ?? process.env;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (location.kind !== 'sqlite' && options.tls && !location.secure)
    throw new CheckpointStoreConfigError(
      `TLS files were given for a plain ${location.kind}:// URL; use ${location.kind}s:// for TLS`,
    );
  switch (location.kind) {
    case 'sqlite':
      return new SqliteKv(location.file);
    case 'etcd': {
      const username = options.username ?? env.ETCD_USERNAME;
      const password = options.password ?? env.ETCD_PASSWORD;
      if (Boolean(username) !== Boolean(password))
        throw new CheckpointStoreConfigError('etcd authentication needs both a username and a password');
      const tls = readTls(options.tls);
      return new EtcdKv({
        hosts: location.hosts,
        requestTimeoutMs,
        ...(tls ? { tls } : {}),
        ...(username && password ? { auth: { username, password } } : {}),
      });
    }
    case 'consul': {
      const token = options.token ?? env.CONSUL_HTTP_TOKEN;
      const tls = readTls(options.tls);
      return new ConsulKv({
        host: location.host,
        port: location.port,
        secure: location.secure,
        requestTimeoutMs,
        ...(tls ? { tls } : {}),
        ...(token ? { token } : {}),
      });
    }
  }
}

/** The artifact store the options name, or the default that goes with the checkpoint store's URL. */
export function artifactStoreFor(
  url: string,
  options: OpenCheckpointStoreOptions = {},
): ArtifactStore | undefined {
  const given = options.artifactStore;
  if (given === null) return undefined;
  if (given !== undefined && typeof given !== 'string') return given;
  const artifactUrl = given ?? defaultArtifactStoreUrl(url, options.env ?? process.env);
  return artifactUrl ? openArtifactStore(artifactUrl, { env: options.env }) : undefined;
}

/**
 * Opens the checkpoint store a URL names: `sqlite:<path>` (or `sqlite::memory:`), `etcd://host:port[,…]`
 * (`etcds://` for TLS), `consul://host:port` (`consuls://`), with its artifact store (large values;
 * `artifactStore`, default `SPOTDAG_ARTIFACT_STORE` or a folder beside a sqlite file). Nothing is
 * contacted until first use, so a store opened during an outage works once the backend is back.
 */
export async function openCheckpointStore(
  url: string,
  options: OpenCheckpointStoreOptions = {},
): Promise<KvCheckpointStore> {
  const backend = createBackend(parseCheckpointStoreUrl(url), options);
  return new KvCheckpointStore(backend, { ...options, artifacts: artifactStoreFor(url, options) });
}
