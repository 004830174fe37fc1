import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { openCheckpointStore } from '../../src/checkpoint';
import type { SubTaskOutcome } from '../../src/job/types';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import { expectedWorkloadSum, readWorkloadLedger, redoneUnits, workloadJobSpec } from '../../src/steps';
import { spotdagJob } from '../../workflows';
import { recordHistory, startTestStack, stopAllInstances, uniqueId, waitFor } from './helpers';

const POLICY = { heartbeatTimeoutSeconds: 3, scheduleToStartTimeoutSeconds: 10 };

describe('recovery with real worker processes', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;

  beforeAll(async () => {
    // The provider is told not to see a suspended (SIGSTOP) process, so that (b) is a worker that
    // hangs unseen: its heartbeat timeout finds it (liveness.test.ts has the provider's side).
    stack = await startTestStack({ checkpointIntervalMs: 300, seeSuspended: false });
  });
  afterAll(async () => {
    await stopAllInstances(stack);
    await stack.close();
  });

  const outcomeOf = async (workflowId: string, subTaskId: string) =>
    (await stack.client.workflow.getHandle(`${workflowId}/${subTaskId}`).result()) as SubTaskOutcome;

  it('(b) a paused worker loses its sub-task, and once it resumes fencing rejects its writes', async () => {
    const workflowId = uniqueId('zombie');
    const ledger = path.join(stack.stateDir, `${workflowId}.ledger`);
    const spec = workloadJobSpec(120, { chunks: 1, instances: 1, input: { unitMs: 100, ledger } });
    const store = await openCheckpointStore(stack.checkpointStore);
    try {
      await stack.runUntil(async () => {
        const handle = await stack.client.workflow.start(spotdagJob, {
          taskQueue: CONTROL_TASK_QUEUE,
          workflowId,
          args: [spec, { subTaskPolicy: POLICY }],
        });
        const checkpoints = async () => (await store.listCheckpoints(workflowId, 'spin')).length;
        await waitFor(async () => (await checkpoints()) >= 2, 60_000, 'the first checkpoints');
        const [zombie] = await stack.provisioner.list(workflowId);
        expect(stack.provisioner.kill(zombie!.id, 'SIGSTOP')).toBe(true);
        // The heartbeat timeout moves the sub-task; the replacement claims a newer token.
        await waitFor(
          async () => (await store.currentToken(workflowId, 'spin')) >= 2,
          60_000,
          'the takeover',
        );
        expect(stack.provisioner.kill(zombie!.id, 'SIGCONT')).toBe(true);

        const result = await handle.result();
        expect(result.result).toBe(expectedWorkloadSum(1, 120));

        // The zombie carried on where it was paused, tried to checkpoint, and was refused.
        const zombieLog = path.join(stack.stateDir, 'instances', `${zombie!.id}.log`);
        await waitFor(
          async () => readFileSync(zombieLog, 'utf8').includes('write rejected by fencing'),
          30_000,
          "the zombie's rejected write",
        );
        const outcome = await outcomeOf(workflowId, 'spin');
        expect(outcome.relocations).toEqual([
          expect.objectContaining({ from: zombie!.id, reason: 'heartbeat-timeout' }),
        ]);
        expect(outcome.instanceId).toBe(outcome.relocations[0]!.to);
      });
      await recordHistory(stack.client, 'spotdagSubTask-relocated', `${workflowId}/spin`);
      // Only the replacement's writes count: the result and every checkpoint kept carry its token.
      const token = await store.currentToken(workflowId, 'spin');
      expect(token).toBe(2);
      expect((await store.readResult(workflowId, 'spin'))!.descriptor.token).toBe(token);
      const kept = await store.listCheckpoints(workflowId, 'spin');
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.every((c) => c.token === token && c.good)).toBe(true);
      // The zombie did work after it resumed (the ledger shows units done twice) and none of it counted.
      const units = readWorkloadLedger(ledger, workflowId).get('spin')!;
      expect(new Set(units.map((u) => u.unit)).size).toBe(120);
      expect(redoneUnits(units).length).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it('(f) a step that throws once at 60 % rolls back to the previous good checkpoint and completes', async () => {
    const workflowId = uniqueId('rollback');
    const ledger = path.join(stack.stateDir, `${workflowId}.ledger`);
    const failMarker = path.join(stack.stateDir, `${workflowId}.failed`);
    const spec = workloadJobSpec(40, {
      chunks: 2,
      instances: 1,
      input: { unitMs: 100, ledger, failOnceAt: 0.6, failMarker },
    });
    const result = await stack.runUntil(async () => {
      const handle = await stack.client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [spec, { subTaskPolicy: POLICY }],
      });
      return handle.result();
    });
    expect(result.result).toBe(expectedWorkloadSum(1, 40));
    expect(existsSync(failMarker)).toBe(true);
    const [, failedId, failedAt] = readFileSync(failMarker, 'utf8').trim().split(' ');
    const failedUnit = Number(failedAt);
    const start = failedId === 'spin/0000' ? 1 : 21;
    expect(failedUnit).toBe(start + 12); // 60 % of 20 units

    // The retry redid exactly the units from the checkpoint it resumed from up to the failure.
    const ledgerUnits = readWorkloadLedger(ledger, workflowId);
    const redone = redoneUnits(ledgerUnits.get(failedId!)!);
    expect(redone.length).toBeGreaterThan(0);
    expect(redone).toEqual(Array.from({ length: failedUnit - redone[0]! }, (_, i) => redone[0]! + i));
    expect(redone[0]!).toBeGreaterThan(start); // from a checkpoint, not from scratch
    const outcome = await outcomeOf(workflowId, failedId!);
    expect(outcome.attempts).toBe(2);
    expect(outcome.resumedFromProgress).toBeCloseTo((redone[0]! - start) / 20, 10);
    const other = failedId === 'spin/0000' ? 'spin/0001' : 'spin/0000';
    expect(redoneUnits(ledgerUnits.get(other)!)).toEqual([]);

    // The checkpoint written last before the failure is marked bad: the retry rolled back past it.
    const store = await openCheckpointStore(stack.checkpointStore);
    try {
      const kept = await store.listCheckpoints(workflowId, failedId!);
      expect(kept.filter((c) => !c.good)).toHaveLength(1);
      expect(kept.find((c) => !c.good)!.token).toBe(1);
    } finally {
      await store.close();
    }
  });

  describe('a sub-task that fails after its retries', () => {
    // One attempt only: the injected failure is final. Three spin sub-tasks, one instance.
    const failing = (workflowId: string) =>
      workloadJobSpec(30, {
        chunks: 3,
        instances: 1,
        input: { unitMs: 20, failOnceAt: 0.5, failMarker: path.join(stack.stateDir, `${workflowId}.failed`) },
      });
    const policy = { ...POLICY, maxAttempts: 1 };
    const failedId = (workflowId: string) =>
      readFileSync(path.join(stack.stateDir, `${workflowId}.failed`), 'utf8').split(' ')[1]!;

    it('fails the job, naming the sub-task and its error (default)', async () => {
      const workflowId = uniqueId('fail-job');
      const failure = await stack.runUntil(async () => {
        const handle = await stack.client.workflow.start(spotdagJob, {
          taskQueue: CONTROL_TASK_QUEUE,
          workflowId,
          args: [failing(workflowId), { subTaskPolicy: policy }],
        });
        return handle.result().then(
          () => undefined,
          (err: unknown) => err as Error,
        );
      });
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      let cause: unknown = failure;
      while (cause instanceof Error && cause.cause) cause = cause.cause;
      expect((cause as Error).message).toMatch(
        new RegExp(`^sub-task ${failedId(workflowId)} failed: workload.spin: injected failure at unit \\d+`),
      );
    });

    it('with finish-rest, runs everything that does not depend on it and reports what failed', async () => {
      const workflowId = uniqueId('finish-rest');
      const result = await stack.runUntil(async () => {
        const handle = await stack.client.workflow.start(spotdagJob, {
          taskQueue: CONTROL_TASK_QUEUE,
          workflowId,
          args: [failing(workflowId), { subTaskPolicy: policy, onSubTaskFailure: 'finish-rest' }],
        });
        return handle.result();
      });
      const failed = failedId(workflowId);
      expect(result.failedSubTasks).toEqual([
        { subTaskId: failed, error: expect.stringMatching(/^workload.spin: injected failure at unit \d+/) },
      ]);
      expect(result.skippedSubTasks).toEqual(['total']); // it needs every spin output
      expect(result.result).toBeUndefined();
      // The other two spin sub-tasks ran to the end.
      for (const other of ['spin/0000', 'spin/0001', 'spin/0002'].filter((id) => id !== failed)) {
        const outcome = await outcomeOf(workflowId, other);
        expect(typeof outcome.output).toBe('number');
      }
      expect(await stack.provisioner.list(workflowId)).toEqual([]); // released as usual
      await recordHistory(stack.client, 'spotdagJob-finish-rest', workflowId);
    });
  });
});
