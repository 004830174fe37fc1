import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import { LocalProvisioner } from '../../src/provision/local';
import { primesJobSpec } from '../../src/steps';
import { startDevServer, freePort } from '../../workers/dev-server';
import { startLocalStack } from '../../workers/local-stack';
import { spotdagJob } from '../../workflows';
import { uniqueId, waitFor } from './helpers';

const CLI = path.resolve(__dirname, '../../dist/cli/main.js');

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

describe('restarts mid-job', () => {
  it('(c) the control worker process is killed and restarted: the job completes', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'spotdag-restart-'));
    const env = { ...process.env, SPOTDAG_HOME: home };
    const startWorker = () => spawn(process.execPath, [CLI, 'worker'], { env, stdio: 'ignore' });
    const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    const client = new Client({ connection });
    const provisioner = new LocalProvisioner({ stateDir: home, metadataEndpoints: false });
    let worker = startWorker();
    try {
      const workflowId = uniqueId('restart-control');
      const handle = await client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [primesJobSpec(10_000_000_000, { chunks: 6, instances: 2 })],
      });
      await waitFor(
        async () => ((await handle.describe()).raw.pendingChildren?.length ?? 0) > 0,
        90_000,
        'sub-tasks',
      );
      worker.kill('SIGKILL');
      await exited(worker);
      // The instances outlive it; a new control worker picks the job up where history says it is.
      expect((await provisioner.list(workflowId)).length).toBe(2);
      worker = startWorker();
      expect((await handle.result()).result).toBe(455_052_511);
      expect(await provisioner.list(workflowId)).toEqual([]);
    } finally {
      worker.kill('SIGTERM');
      await exited(worker);
      await Promise.all((await provisioner.list()).map((i) => provisioner.stop(i.id, 2_000)));
      await connection.close();
    }
  });

  it('(d) the Temporal server is restarted on its database file: the job completes', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'spotdag-server-restart-'));
    const port = await freePort();
    const dbFile = path.join(home, 'temporal.db');
    let server = await startDevServer({ port, dbFile, headless: true });
    const address = server.address;
    const stack = await startLocalStack({
      stateDir: home,
      target: { address, namespace: 'default', connectionOptions: { address } },
      workflowBundle: { codePath: process.env.SPOTDAG_TEST_WORKFLOW_BUNDLE! },
    });
    try {
      const workflowId = uniqueId('restart-server');
      await stack.runUntil(async () => {
        const handle = await stack.client.workflow.start(spotdagJob, {
          taskQueue: CONTROL_TASK_QUEUE,
          workflowId,
          args: [primesJobSpec(10_000_000_000, { chunks: 6, instances: 2 })],
        });
        await waitFor(
          async () => ((await handle.describe()).raw.pendingChildren?.length ?? 0) > 0,
          90_000,
          'sub-tasks',
        );
        await server.stop();
        await new Promise((r) => setTimeout(r, 2_000));
        server = await startDevServer({ port, dbFile, headless: true });
        expect((await handle.result()).result).toBe(455_052_511);
      });
    } finally {
      await Promise.all((await stack.provisioner.list()).map((i) => stack.provisioner.stop(i.id, 2_000)));
      await stack.close();
      await server.stop();
    }
  });
});
