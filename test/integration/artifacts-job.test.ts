import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { fetchReportModel } from '../../cli/commands/report';
import { openCheckpointStore } from '../../src/checkpoint';
import { isCommandOutput, type CommandOutput } from '../../src/command/outputs';
import type { PrefetchOutcome, SubTaskOutcome } from '../../src/job/types';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import { jobFileSpec, withResolvedWorkdirs } from '../../cli/job-files';
import { spotdagJob } from '../../workflows';
import { jobStateQuery } from '../../workflows/job-controlled';
import { startTestStack, stopAllInstances, uniqueId, waitFor } from './helpers';
import type { JobSpecInput } from '../../src/dag';
import { maxOf } from '../../src/util/array';

const MiB = 1024 * 1024;
const repoRoot = path.resolve(__dirname, '../..');

describe('jobs whose data is in the artifact store', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;

  beforeAll(async () => {
    stack = await startTestStack({ checkpointIntervalMs: 300 });
  });
  afterAll(async () => {
    await stopAllInstances(stack);
    await stack.close();
  });

  it('keeps every KV value under 256 KB while its outputs total more than 200 MB', async () => {
    const workflowId = uniqueId('big-outputs');
    const spec: JobSpecInput = {
      name: workflowId,
      stages: [
        {
          id: 'write',
          kind: 'split',
          // 52 MiB of output each, and a 600 KB checkpoint folder archived while it sleeps.
          shell:
            'head -c 600000 /dev/urandom > "$SPOTDAG_CHECKPOINT_DIR/state.bin" && sleep 1.5 && ' +
            'head -c 54525952 /dev/urandom > "$SPOTDAG_OUTPUT_DIR/part-$SPOTDAG_RANGE_START.bin"',
          range: { start: 1, end: 4 },
          chunking: { size: 1 },
        },
        {
          id: 'many',
          kind: 'step',
          // 3,000 small files: a manifest (the sub-task's result) of well over 256 KB.
          shell:
            'mkdir -p "$SPOTDAG_OUTPUT_DIR/files" && for i in $(seq 1 3000); do echo "$i" > "$SPOTDAG_OUTPUT_DIR/files/file-$i.txt"; done',
        },
        {
          id: 'check',
          kind: 'reduce',
          dependsOn: ['write', 'many'],
          inputs: ['part-1.bin', 'part-2.bin', 'part-3.bin', 'part-4.bin', 'files/file-3000.txt'],
          shell: 'cat "$SPOTDAG_INPUT_DIR"/part-*.bin | wc -c > "$SPOTDAG_OUTPUT_DIR/total.txt"',
          outputs: ['total.txt'],
        },
      ],
      fleet: { provider: 'local', instances: 2, slotsPerInstance: 2 },
    };
    const result = await stack.runUntil(async () => {
      const handle = await stack.client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: 10 } }],
      });
      return handle.result();
    });
    const store = await openCheckpointStore(stack.checkpointStore);
    try {
      const outputs: CommandOutput[] = [];
      for (const id of ['write/0000', 'write/0001', 'write/0002', 'write/0003', 'many', 'check']) {
        const stored = await store.readResult(workflowId, id);
        const output = JSON.parse(stored!.bytes.toString('utf8')) as unknown;
        expect(isCommandOutput(output)).toBe(true);
        outputs.push(output as CommandOutput);
      }
      const total = outputs.flatMap((o) => Object.values(o.files)).reduce((a, r) => a + r.bytes, 0);
      expect(total).toBeGreaterThanOrEqual(200 * 1000 * 1000);
      // The reduce read the four parts through its input folder.
      expect(result.result).toEqual(outputs[5]);
      const totalTxt = await store.artifacts!.getBytes(
        { jobId: workflowId },
        outputs[5]!.files['total.txt']!,
      );
      expect(Number(totalTxt.toString().trim())).toBe(4 * 54525952);

      // Every value the job keeps in the KV: tokens, heads, result records, plans — small.
      const keys = await store.kv.list(store.layout.job(workflowId));
      const sizes = await Promise.all(keys.map(async (k) => (await store.kv.get(k))!.value.length));
      expect(keys.length).toBeGreaterThan(10);
      expect(maxOf(sizes)).toBeLessThan(256 * 1024);
      // The large manifest and the checkpoint archives are pointers in the KV.
      expect((await store.readResult(workflowId, 'many'))!.descriptor.bytes).toBeGreaterThan(256 * 1024);
      const checkpoints = await store.listCheckpoints(workflowId, 'write/0000');
      expect(checkpoints.length).toBeGreaterThan(0);

      await store.cleanupJob(workflowId);
      expect(await store.artifacts!.has({ jobId: workflowId }, outputs[5]!.files['total.txt']!.digest)).toBe(
        false,
      );
    } finally {
      await store.close();
    }
  });

  it('runs a WfFormat workflow of stand-ins whose outputs have the declared sizes, recording transfers', async () => {
    const workflowId = uniqueId('wf-chain');
    const file = path.resolve(
      repoRoot,
      '..',
      'shared',
      'data',
      'workflows',
      'helloworld-chain-5-chameleon.json',
    );
    const { spec } = jobFileSpec(file, JSON.parse(readFileSync(file, 'utf8')), {
      standIn: 'all',
      runtimeScale: 0.01,
      sizeScale: 0.1,
      instances: 2,
    });
    const result = await stack.runUntil(async () => {
      const handle = await stack.client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [spec as JobSpecInput, { subTaskPolicy: { heartbeatTimeoutSeconds: 10 } }],
      });
      return handle.result();
    });
    // The last task's declared output, 16,666,667 bytes × 0.1.
    expect((result.result as CommandOutput).files).toEqual({
      'chain_00000005_output.txt': { digest: expect.any(String), bytes: 1666667 },
    });
    const second = (await stack.client.workflow
      .getHandle(`${workflowId}/cpuhog_chain_00000002`)
      .result()) as SubTaskOutcome;
    // It read its parent's output (fetched, or found in its instance's cache) and stored its own.
    expect(second.transfers).toMatchObject({
      inputFiles: 1,
      inputBytes: 1666667,
      outputFiles: 1,
      outputBytes: 1666667,
    });
    expect(second.transfers!.fetchedBytes).toBeLessThanOrEqual(1666667);
  });

  it('prefetches a ready sub-task’s inputs while its instance is busy, and the sub-task finds them', async () => {
    const workflowId = uniqueId('prefetch');
    const spec: JobSpecInput = {
      name: workflowId,
      stages: [
        {
          id: 'a',
          kind: 'step',
          shell: 'head -c 4000000 /dev/urandom > "$SPOTDAG_OUTPUT_DIR/data.bin"',
          estimate: { seconds: 1 },
        },
        // Ranked first (longer), so it holds the only slot while b is ready.
        {
          id: 'hold',
          kind: 'step',
          dependsOn: ['a'],
          inputs: [],
          shell: 'sleep 12',
          estimate: { seconds: 100 },
        },
        {
          id: 'b',
          kind: 'step',
          dependsOn: ['a'],
          inputs: ['data.bin'],
          shell: 'wc -c < "$SPOTDAG_INPUT_DIR/data.bin" > "$SPOTDAG_OUTPUT_DIR/n.txt"',
          estimate: { seconds: 1 },
        },
      ],
      fleet: { provider: 'local', instances: 1, slotsPerInstance: 1 },
    };
    const store = await openCheckpointStore(stack.checkpointStore);
    try {
      const outcome = await stack.runUntil(async () => {
        const handle = await stack.client.workflow.start(spotdagJob, {
          taskQueue: CONTROL_TASK_QUEUE,
          workflowId,
          args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: 10 } }],
        });
        await handle.result();
        return (await stack.client.workflow.getHandle(`${workflowId}/b`).result()) as SubTaskOutcome;
      });
      // The job asked the busy instance to prefetch b's input while hold ran: it fetched it all.
      const prefetches = await activityResults<PrefetchOutcome>(workflowId, 'prefetchInputs');
      expect(prefetches).toEqual([
        expect.objectContaining({ subTaskId: 'b', files: 1, bytes: 4_000_000, fetchedBytes: 4_000_000 }),
      ]);
      // b found its input in the instance's cache: it fetched nothing itself.
      expect(outcome.transfers).toMatchObject({ inputFiles: 1, inputBytes: 4_000_000, fetchedBytes: 0 });
      const n = await store.artifacts!.getBytes(
        { jobId: workflowId },
        (outcome.output as CommandOutput).files['n.txt']!,
      );
      expect(n.toString().trim()).toBe('4000000');
      // The report records the data each sub-task moved.
      const report = await fetchReportModel(stack.client, workflowId, stack.checkpointStore);
      expect(report.transfers.find((t) => t.subTaskId === 'b')).toMatchObject({
        inputBytes: 4_000_000,
        fetchedBytes: 0,
      });
      expect(report.totals.inputBytes).toBeGreaterThanOrEqual(4_000_000);
    } finally {
      await store.close();
    }
  });

  /** The results of a job workflow's completed activities of one type, in history order. */
  async function activityResults<T>(workflowId: string, type: string): Promise<T[]> {
    const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = new Set<string>();
    const results: T[] = [];
    for (const event of history.events ?? []) {
      const attrs = event.activityTaskScheduledEventAttributes;
      if (attrs?.activityType?.name === type) scheduled.add(String(event.eventId));
      const done = event.activityTaskCompletedEventAttributes;
      if (done && scheduled.has(String(done.scheduledEventId)))
        results.push(defaultPayloadConverter.fromPayload(done.result!.payloads![0]!) as T);
    }
    return results;
  }

  it('runs examples/pipeline with an interruption and matches the result computed without spotdag', async () => {
    const workflowId = uniqueId('pipeline');
    const file = path.join(repoRoot, 'examples', 'pipeline', 'job.json');
    // ~2 s of work per piece alone: long enough to be interrupted while it runs.
    const rounds = '300';
    const spec = withResolvedWorkdirs(JSON.parse(readFileSync(file, 'utf8')), file) as JobSpecInput;
    const stages = (spec as { stages: Array<Record<string, unknown>> }).stages;
    stages[1]!.env = { ROUNDS: rounds, CHECKPOINT_EVERY: '200' };
    const result = await stack.runUntil(async () => {
      const handle = await stack.client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: 10 } }],
      });
      // Once a piece that is still running has a checkpoint, its instance gets a spot notice and
      // goes 3 s later.
      const store = await openCheckpointStore(stack.checkpointStore);
      let victim: string | undefined;
      try {
        await waitFor(
          async () => {
            // The state query is registered once planning is done.
            const state = await handle.query(jobStateQuery).catch(() => undefined);
            if (!state) return false;
            for (const [id, t] of Object.entries(state.subTasks)) {
              if (!id.startsWith('process/') || t.status !== 'running' || !t.on) continue;
              if ((await store.listCheckpoints(workflowId, id)).length === 0) continue;
              victim = state.instances.find((i) => i.planId === t.on)?.id;
              if (victim) return true;
            }
            return false;
          },
          120_000,
          'a checkpoint of a running piece',
        );
      } finally {
        await store.close();
      }
      await stack.provisioner.interrupt(victim!, 3_000);
      return handle.result();
    });
    const reference = execFileSync(path.join(repoRoot, 'examples', 'pipeline', 'reference.sh'), {
      env: { ...process.env, ROUNDS: rounds },
      encoding: 'utf8',
    }).trim();
    expect((result.result as CommandOutput).files['result.txt']!.digest).toBe(reference);
    expect(result.interruptions).toBeGreaterThanOrEqual(1);
    expect(result.result).toMatchObject({ files: { 'result.txt': { bytes: expect.any(Number) } } });
    expect((result.result as CommandOutput).files['result.txt']!.bytes).toBeGreaterThan(MiB);
  }, 300_000);
});
