import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { EC2Client } from '@aws-sdk/client-ec2';

/**
 * A real EC2 API endpoint for tests: `moto_server` (PyPI `moto[server]`; MOTO_SERVER, which the
 * global setup sets, found or installed) on a free loopback port, started by the test and stopped
 * after it. A missing moto fails the test; it never skips.
 */
export interface MotoServer {
  endpoint: string;
  /** Forgets every resource (moto's reset API), for a clean slate between tests. */
  reset(): Promise<void>;
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

async function waitUntilUp(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`moto_server exited with code ${child.exitCode} before it was ready:\n${output()}`);
    try {
      if ((await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) })).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`moto_server did not answer at ${endpoint} within 30 s:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startMotoServer(): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const command = process.env.MOTO_SERVER ?? 'moto_server';
  const child = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new Error(
              `moto_server not found (${command}): run the tests with their global setup, which installs it, or set MOTO_SERVER`,
            )
          : err,
      ),
    ),
  );
  try {
    await Promise.race([waitUntilUp(endpoint, child, () => log), spawnError]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    endpoint,
    async reset() {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Dummy credentials for moto, set in the test process only (moto accepts any). */
export function useDummyAwsCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_SESSION_TOKEN = 'testing';
  delete process.env.AWS_PROFILE;
}

export function motoClient(endpoint: string, region = 'us-east-1'): EC2Client {
  return new EC2Client({ region, endpoint, maxAttempts: 3 });
}
