import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { temporalTargetFromEnv } from '../workers/connection';
import { EXIT } from './errors';
import { stateDir } from './state';

export class NoServerError extends Error {
  readonly exitCode = EXIT.environment;
}

/**
 * A client for commands that only talk to Temporal (status, cancel, report): the configured
 * server, or the local dev server spotdag started. Never starts one.
 */
export async function connectClient(): Promise<{ client: Client; uiUrl?: string; close(): Promise<void> }> {
  const target = temporalTargetFromEnv();
  let options = target.connectionOptions as ConnectionOptions;
  let uiUrl = process.env.TEMPORAL_UI_URL;
  if (!target.address) {
    const stateFile = path.join(stateDir(), 'server.json');
    if (!existsSync(stateFile)) {
      throw new NoServerError(
        'no Temporal server: set TEMPORAL_ADDRESS, or run `spotdag server start` / a job first',
      );
    }
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { address: string; uiUrl?: string };
    options = { ...options, address: state.address };
    uiUrl = state.uiUrl;
  }
  const connection = await Connection.connect(options);
  return {
    client: new Client({ connection, namespace: target.namespace }),
    uiUrl,
    close: () => connection.close(),
  };
}
