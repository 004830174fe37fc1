import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
// Imported by package name, the way a user's code does (Node resolves the package's own exports).
import { CONTROL_TASK_QUEUE, LocalProvisioner, primesJobSpec } from 'spotdag';
import { SpotDagPlugin } from 'spotdag/plugin';
import type { spotdagJob } from 'spotdag/workflows';
import * as userActivities from '../fixtures/user-app/activities';
import { uniqueId } from './helpers';

describe('the package entry points', () => {
  it('`spotdag` is the pure library: importing it loads no activity, worker or Temporal runtime code', () => {
    const loaded = execFileSync(
      process.execPath,
      ['-e', "require('spotdag'); console.log(JSON.stringify(Object.keys(require.cache)))"],
      { encoding: 'utf8' },
    );
    const files = JSON.parse(loaded) as string[];
    expect(files.some((f) => f.includes(`${path.sep}dist${path.sep}src${path.sep}`))).toBe(true);
    expect(files.filter((f) => /[\\/]dist[\\/](activities|workers|workflows)[\\/]/.test(f))).toEqual([]);
    expect(files.filter((f) => /[\\/]@temporalio[\\/](worker|activity|client)[\\/]/.test(f))).toEqual([]);
  });
});

describe('SpotDagPlugin on a user-style worker', () => {
  it('runs a spotdag job and the user’s own workflow on one worker', async () => {
    const address = process.env.TEMPORAL_ADDRESS!;
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const nativeConnection = await NativeConnection.connect({ address });
    const provisioner = new LocalProvisioner({
      stateDir: mkdtempSync(path.join(tmpdir(), 'spotdag-plugin-')),
      env: { TEMPORAL_ADDRESS: address },
    });
    try {
      const worker = await Worker.create({
        connection: nativeConnection,
        taskQueue: CONTROL_TASK_QUEUE,
        workflowsPath: require.resolve('../fixtures/user-app/workflows'),
        activities: userActivities,
        plugins: [new SpotDagPlugin({ client, provisioner })],
      });
      const [primes, greeting] = await worker.runUntil(() =>
        Promise.all([
          client.workflow.execute<typeof spotdagJob>('spotdagJob', {
            taskQueue: CONTROL_TASK_QUEUE,
            workflowId: uniqueId('plugin-primes'),
            args: [primesJobSpec(1_000_000, { chunks: 3, instances: 1 })],
          }),
          client.workflow.execute('userGreeting', {
            taskQueue: CONTROL_TASK_QUEUE,
            workflowId: uniqueId('plugin-greeting'),
            args: ['spotdag'],
          }),
        ]),
      );
      expect(primes.result).toBe(78_498);
      expect(greeting).toBe('hello, spotdag');
    } finally {
      await Promise.all((await provisioner.list()).map((i) => provisioner.stop(i.id, 2_000)));
      await provisioner.close();
      await nativeConnection.close();
      await connection.close();
    }
  });
});
