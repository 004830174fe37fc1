import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../src/names';
import { processAlive, stopProcess } from '../src/util/process';
import { findOrInstallTemporalCli } from './temporal-cli';

export interface DevServerOptions {
  /** gRPC port; a free one when omitted. */
  port?: number;
  /** Web UI port; a free one when omitted. Ignored when `headless`. */
  uiPort?: number;
  headless?: boolean;
  /** SQLite file that keeps history across restarts; in memory when omitted. */
  dbFile?: string;
  /** Server output goes here; discarded when omitted. */
  logFile?: string;
  /**
   * How long the server holds a worker's poll (`matching.longPollExpirationInterval`, default 60 s):
   * the age a live worker's last poll can reach, which the poller liveness bound must exceed.
   */
  longPollSeconds?: number;
  /** Leave the server running after this process exits (the demo does this). */
  detached?: boolean;
  log?: (line: string) => void;
}

export interface DevServer {
  address: string;
  namespace: string;
  /** Web UI base address, when the UI runs. */
  uiUrl?: string;
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function devServerArgs(port: number, uiPort: number | undefined, options: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  if (options.longPollSeconds !== undefined)
    args.push('--dynamic-config-value', `matching.longPollExpirationInterval="${options.longPollSeconds}s"`);
  // Tenants' jobs carry priority and fairness keys (docs/tenants.md): the matcher that honours them.
  args.push('--dynamic-config-value', 'matching.useNewMatcher=true');
  args.push('--dynamic-config-value', 'matching.enableFairness=true');
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES))
    args.push('--search-attribute', `${name}=${type}`);
  return args;
}

/** Waits until the server answers gRPC health checks, or throws with the server's log tail. */
export async function waitForServer(
  address: string,
  timeoutMs = 60_000,
  child?: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null)
      throw new Error(`temporal dev server exited with code ${child.exitCode}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(
    `temporal server at ${address} did not become ready in ${timeoutMs} ms: ${String(lastError)}`,
  );
}

/** Starts `temporal server start-dev` with spotdag's search attributes registered. */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const binary = await findOrInstallTemporalCli(options.log);
  const port = options.port ?? (await freePort());
  const uiPort = options.headless ? undefined : (options.uiPort ?? (await freePort()));
  if (options.dbFile) mkdirSync(path.dirname(options.dbFile), { recursive: true });
  const out = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
  const child = spawn(binary, devServerArgs(port, uiPort, options), {
    stdio: ['ignore', out, out],
    detached: options.detached ?? false,
  });
  if (typeof out === 'number') closeSync(out);
  if (options.detached) child.unref();
  const address = `127.0.0.1:${port}`;
  try {
    await waitForServer(address, 60_000, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const pid = child.pid!;
  return {
    address,
    namespace: 'default',
    uiUrl: uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`,
    pid,
    stop: () => stopProcess(pid),
  };
}

interface ServerState {
  pid: number;
  address: string;
  uiUrl?: string;
  dbFile: string;
}

/**
 * The demo's server: a detached dev server whose history lives in `<stateDir>/temporal.db`, reused
 * while it runs so that the UI keeps showing past jobs. `stopLocalServer` ends it.
 */
export async function ensureLocalServer(
  stateDir: string,
  options: { port?: number; uiPort?: number; log?: (line: string) => void } = {},
): Promise<DevServer & { reused: boolean }> {
  mkdirSync(stateDir, { recursive: true });
  const stateFile = path.join(stateDir, 'server.json');
  if (existsSync(stateFile)) {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as ServerState;
    if (processAlive(state.pid)) {
      try {
        await waitForServer(state.address, 5_000);
        return { ...state, namespace: 'default', reused: true, stop: () => stopProcess(state.pid) };
      } catch {
        // Not answering: start a fresh one below.
      }
    }
  }
  const dbFile = path.join(stateDir, 'temporal.db');
  const server = await startDevServer({
    port: await portToUse(options.port, 7233, 'port', options.log),
    uiPort: await portToUse(options.uiPort, 8233, 'UI port', options.log),
    dbFile,
    logFile: path.join(stateDir, 'temporal-server.log'),
    detached: true,
    log: options.log,
  });
  const state: ServerState = { pid: server.pid, address: server.address, uiUrl: server.uiUrl, dbFile };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  return { ...server, reused: false };
}

/** Whether nothing listens on 127.0.0.1:`port`. */
async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * The port asked for, or the default when free, else a free one: a server of another state
 * folder (another spotdag run, a benchmark) may hold the default, and a new server must never
 * answer on its port (its jobs and workers would mix with the other's).
 */
async function portToUse(
  asked: number | undefined,
  preferred: number,
  what: string,
  log?: (line: string) => void,
): Promise<number> {
  if (asked !== undefined) {
    if (!(await portIsFree(asked)))
      throw new Error(`${what} ${asked} is in use (another Temporal server?): choose a free one`);
    return asked;
  }
  if (await portIsFree(preferred)) return preferred;
  const port = await freePort();
  log?.(`${what} ${preferred} is in use (another state folder's server?): this server uses ${port}`);
  return port;
}

export async function stopLocalServer(stateDir: string): Promise<boolean> {
  const stateFile = path.join(stateDir, 'server.json');
  if (!existsSync(stateFile)) return false;
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as ServerState;
  await stopProcess(state.pid);
  rmSync(stateFile);
  return true;
}
