import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A real single-member etcd for tests, on free loopback ports with its own data directory. It can
 * be killed and started again on the same data and ports (an outage), or paused (SIGSTOP, a hung
 * server). Its binary is ETCD_BINARY, which the global setup sets (found, or built); a missing etcd
 * fails the test, it never skips.
 */
export interface EtcdServer {
  /** Checkpoint store URL: `etcd://127.0.0.1:<port>`. */
  url: string;
  /** Client endpoint: `http://127.0.0.1:<port>`. */
  endpoint: string;
  dataDir: string;
  /** The current process id (changes on start). */
  readonly pid: number;
  /** Kills the process (SIGKILL by default, like a crash); data and ports are kept for `start`. */
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Starts it again on the same data directory and ports, and waits until it is healthy. */
  start(): Promise<void>;
  /** Kill, stay down for `downMs`, start. */
  restart(downMs?: number): Promise<void>;
  /** SIGSTOP: the process stays, every request hangs. */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** Stops for good and deletes the data directory. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
    return response.ok && ((await response.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

/** etcd reads ETCD_* variables as flags; the client's ETCD_USERNAME/ETCD_PASSWORD must not reach it. */
function serverEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ETCD_')));
}

export async function startEtcd(options: { startTimeoutMs?: number } = {}): Promise<EtcdServer> {
  const command = process.env.ETCD_BINARY ?? 'etcd';
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'spotdag-etcd-'));
  const args = [
    '--name',
    'spotdag-test',
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    endpoint,
    '--advertise-client-urls',
    endpoint,
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--initial-cluster',
    `spotdag-test=${peer}`,
    // Deleted chunks stay in etcd's history until compacted; production runs need this too.
    '--auto-compaction-mode',
    'revision',
    '--auto-compaction-retention',
    '1000',
    '--log-level',
    'warn',
  ];
  let child: ChildProcess | undefined;
  let log = '';

  const launch = async () => {
    log = '';
    const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: serverEnv() });
    child = proc;
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4_000);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    const spawnError = new Promise<never>((_, reject) =>
      proc.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'ENOENT'
            ? new Error(
                `etcd not found (${command}): run the tests with their global setup, which builds it, or set ETCD_BINARY`,
              )
            : err,
        ),
      ),
    );
    const ready = (async () => {
      const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
      for (;;) {
        if (proc.exitCode !== null || proc.signalCode !== null)
          throw new Error(`etcd exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${log}`);
        if (await healthy(endpoint)) return;
        if (Date.now() > deadline) throw new Error(`etcd did not become healthy at ${endpoint}:\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await Promise.race([ready, spawnError]);
    } catch (err) {
      proc.kill('SIGKILL');
      throw err;
    }
  };

  const kill = async (signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL') => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGCONT'); // a paused process cannot act on SIGTERM
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await launch();
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }

  return {
    url: `etcd://127.0.0.1:${clientPort}`,
    endpoint,
    dataDir,
    get pid() {
      return child?.pid ?? -1;
    },
    kill,
    start: launch,
    async restart(downMs = 0) {
      await kill();
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async stop() {
      await kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
