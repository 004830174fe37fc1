import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { decompose, parseJobSpec } from '../../src/dag';
import type { PlannedSubTask, SubTaskRun } from '../../src/job/types';
import { CONTROL_TASK_QUEUE, instanceTaskQueue } from '../../src/names';
import { renderUserData } from '../../src/provision/ec2-user-data';
import { parseEc2Settings } from '../../src/provision/ec2-settings';
import { LocalMetadataServer } from '../../src/provision/metadata-server';
import { primesJobSpec } from '../../src/steps';
import { spotdagSubTask } from '../../workflows';
import { startTestStack, uniqueId } from './helpers';

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A long sub-task: counting the primes below 10^11 in one piece takes minutes. */
function longSubTask(): PlannedSubTask {
  const dag = decompose(parseJobSpec(primesJobSpec(100_000_000_000, { chunks: 2 })));
  return { ...dag.getNodeAttributes('count/0000'), dependsOn: [] };
}

/**
 * The boot script EC2 instances get (user data), run here with its metadata service pointed at a
 * LocalMetadataServer instead of 169.254.169.254: it reads the instance id over IMDSv2, starts the
 * real instance worker on `spotdag-i-<id>` with the interruption watcher, and a spot notice makes
 * the running sub-task fail fast and non-retryably as InstanceInterrupted.
 */
describe('EC2 user data: the instance worker and its interruption watcher, against a local IMDSv2', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  let metadata: LocalMetadataServer;
  let instance: ChildProcess | undefined;
  const instanceId = 'i-0feedc0ffee000001';

  beforeAll(async () => {
    stack = await startTestStack();
    metadata = new LocalMetadataServer({ instanceId, instanceType: 'c5.large', zone: 'us-east-1a' });
  });
  afterAll(async () => {
    if (instance && instance.exitCode === null) instance.kill('SIGKILL');
    await metadata.stop();
    await stack.close();
  });

  it('a spot notice fails the running sub-task fast with InstanceInterrupted, and the worker stops', async () => {
    const workerScript = path.resolve(__dirname, '../../dist/workers/instance-worker.js');
    if (!existsSync(workerScript)) throw new Error(`${workerScript} is missing: run \`npm run build\` first`);
    const endpoint = await metadata.start();
    const settings = parseEc2Settings({
      region: 'us-east-1',
      subnets: [{ subnetId: 'subnet-1', zone: 'us-east-1a' }],
      image: { imageId: 'ami-1' },
      worker: {
        temporalAddress: process.env.TEMPORAL_ADDRESS!,
        namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
        command: `${JSON.stringify(process.execPath)} ${JSON.stringify(workerScript)}`,
        metadataPollMs: 200,
      },
      limits: { maxInstances: 1, maxSpendUsd: 1, maxInstanceHours: 1 },
    });
    const script = renderUserData(settings.worker!, {
      lifetimeMinutes: 50,
      metadataEndpoint: endpoint,
      shutdownCommand: 'echo would: shutdown -h', // not this machine
    });
    let output = '';
    instance = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    instance.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    instance.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => instance!.once('exit', resolve));

    const workflowId = uniqueId('ec2-watcher');
    const run: SubTaskRun = {
      jobId: workflowId,
      subTask: longSubTask(),
      instance: { id: instanceId, taskQueue: instanceTaskQueue(instanceId) },
      inputs: {},
      policy: {
        heartbeatTimeoutSeconds: 30,
        scheduleToStartTimeoutSeconds: 60,
        maxAttempts: 1,
        maxRelocations: 0,
      },
    };
    await stack.runUntil(async () => {
      const handle = await stack.client.workflow.start(spotdagSubTask, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [run],
      });
      // Running on the instance's own queue, i.e. the worker found its id over IMDSv2.
      await waitFor(
        async () => {
          const { raw } = await handle.describe();
          return raw.pendingActivities?.some((a) => a.lastStartedTime) ? true : undefined;
        },
        60_000,
        `the sub-task to start on ${run.instance.taskQueue} (instance output: ${output})`,
      );
      await new Promise((r) => setTimeout(r, 500));
      const noticedAt = Date.now();
      metadata.noticeInterruption(new Date(noticedAt + 120_000));

      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const failedAt = Date.now();
      const history = await handle.fetchHistory();
      const failed = history.events?.find((e) => e.activityTaskFailedEventAttributes);
      const failure = failed?.activityTaskFailedEventAttributes?.failure;
      expect(failure?.applicationFailureInfo?.type).toBe('InstanceInterrupted');
      expect(failure?.applicationFailureInfo?.nonRetryable).toBe(true);
      expect(failure?.message).toContain(instanceId);
      // Fast: a few polls of the metadata service, far from the 2-minute notice or a heartbeat timeout.
      expect(failedAt - noticedAt).toBeLessThan(10_000);
    });
    // On a notice the worker shuts down; the boot script ends with it.
    expect(await exited).toBe(0);
    expect(output).toContain('would: shutdown -h +50');
  });
});
