import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

/**
 * Where Temporal is, following @temporalio/envconfig: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and the TOML config file. `address` is
 * undefined when nothing is configured; spotdag then starts a local dev server.
 */
export interface TemporalTarget {
  address?: string;
  namespace: string;
  connectionOptions: NativeConnectionOptions;
}

export function temporalTargetFromEnv(): TemporalTarget {
  const config = loadClientConnectConfig({ profile: process.env.TEMPORAL_PROFILE });
  return {
    address: config.connectionOptions.address,
    namespace: config.namespace ?? 'default',
    connectionOptions: config.connectionOptions,
  };
}

/** A description of the target that is safe to print: never the API key or TLS material. */
export function describeTarget(target: TemporalTarget): string {
  const secure = target.connectionOptions.tls ? ', TLS' : '';
  const auth = target.connectionOptions.apiKey ? ', API key' : '';
  return `${target.address ?? '(local dev server)'} namespace ${target.namespace}${secure}${auth}`;
}
