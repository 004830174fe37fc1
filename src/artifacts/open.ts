import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { ArtifactStoreConfigError } from './errors';
import { FileArtifactStore } from './file-store';
import { S3ArtifactStore } from './s3-store';
import type { ArtifactStore } from './types';

/** Where an artifact store lives, from its URL (docs/artifacts.md). */
export type ArtifactStoreLocation =
  | { kind: 'file'; root: string }
  | { kind: 's3'; bucket: string; prefix: string; endpoint?: string; region?: string };

const SCHEMES = 'file:///abs/path, file:rel/path, s3://bucket[/prefix][?endpoint=URL&region=R]';
const S3_PARAMS = new Set(['endpoint', 'region']);
// S3 bucket names: 3–63 of lower-case letters, digits, dots and hyphens.
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseArtifactStoreUrl(url: string): ArtifactStoreLocation {
  if (url.startsWith('file:')) {
    const root = url.startsWith('file://') ? fileURLToPath(url) : url.slice('file:'.length);
    if (!root) throw new ArtifactStoreConfigError(`artifact store URL ${url} names no folder`);
    return { kind: 'file', root: path.resolve(root) };
  }
  if (!url.startsWith('s3://'))
    throw new ArtifactStoreConfigError(`unknown artifact store URL ${url}; use one of ${SCHEMES}`);
  const parsed = new URL(url);
  if (parsed.username || parsed.password)
    throw new ArtifactStoreConfigError(
      'artifact store URL: credentials in the URL are not accepted; use the AWS credential chain (AWS_ACCESS_KEY_ID, a profile, an instance role)',
    );
  const bucket = parsed.hostname;
  if (!BUCKET_RE.test(bucket))
    throw new ArtifactStoreConfigError(`artifact store URL ${url}: "${bucket}" is not an S3 bucket name`);
  for (const key of parsed.searchParams.keys())
    if (!S3_PARAMS.has(key))
      throw new ArtifactStoreConfigError(
        `artifact store URL ${url}: unknown parameter "${key}" (known: endpoint, region)`,
      );
  const prefix = decodeURIComponent(parsed.pathname).replace(/^\/+/, '').replace(/\/*$/, '');
  return {
    kind: 's3',
    bucket,
    prefix: prefix ? `${prefix}/` : '',
    ...(parsed.searchParams.get('endpoint') ? { endpoint: parsed.searchParams.get('endpoint')! } : {}),
    ...(parsed.searchParams.get('region') ? { region: parsed.searchParams.get('region')! } : {}),
  };
}

export interface OpenArtifactStoreOptions {
  /** S3 client settings (credentials, retries); the URL's endpoint and region win. */
  s3?: S3ClientConfig;
  /** Multipart part size for S3 (default 8 MiB). */
  partBytes?: number;
  /** Where defaults are read from (default `process.env`): AWS_ENDPOINT_URL_S3, AWS_REGION. */
  env?: Record<string, string | undefined>;
}

/**
 * Opens the artifact store a URL names: `file://<folder>` (the embedded default) or
 * `s3://bucket/prefix` (`?endpoint=` for S3-compatible servers; credentials from the AWS chain).
 */
export function openArtifactStore(url: string, options: OpenArtifactStoreOptions = {}): ArtifactStore {
  const location = parseArtifactStoreUrl(url);
  if (location.kind === 'file') return new FileArtifactStore(location.root);
  const env = options.env ?? process.env;
  const endpoint = location.endpoint ?? env.AWS_ENDPOINT_URL_S3;
  const region = location.region ?? options.s3?.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  return new S3ArtifactStore({
    bucket: location.bucket,
    prefix: location.prefix,
    url,
    partBytes: options.partBytes,
    clientConfig: {
      maxAttempts: 5,
      ...options.s3,
      region,
      // An endpoint of one's own (moto, MinIO) rarely has per-bucket DNS names.
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    },
  });
}

/**
 * The artifact store that goes with a checkpoint store by default: `SPOTDAG_ARTIFACT_STORE`, else
 * an `artifacts` folder beside a sqlite file (the embedded default), else none.
 */
export function defaultArtifactStoreUrl(
  checkpointStoreUrl: string | undefined,
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  if (env.SPOTDAG_ARTIFACT_STORE) return env.SPOTDAG_ARTIFACT_STORE;
  const file = checkpointStoreUrl?.startsWith('sqlite:')
    ? checkpointStoreUrl.slice('sqlite:'.length).replace(/^\/\//, '')
    : undefined;
  if (!file || file === ':memory:') return undefined;
  return `file://${path.join(path.dirname(path.resolve(file)), 'artifacts')}`;
}
