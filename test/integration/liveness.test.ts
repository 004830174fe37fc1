import { CONTROL_TASK_QUEUE } from '../../src/names';
import { openCheckpointStore } from '../../src/checkpoint';
import path from 'node:path';
import { expectedWorkloadSum, readWorkloadLedger, redoneUnits, workloadJobSpec } from '../../src/steps';
import type { SubTaskOutcome } from '../../src/job/types';
import { spotdagJob } from '../../workflows';
import { jobStateQuery } from '../../workflows/job-controlled';
import { idleInstanceJobSpec, idleInstanceWithWork } from '../../bench/recovery';
import { recordHistory, startTestStack, stopAllInstances, uniqueId, waitFor } from './helpers';

/**
 * Liveness from the provider (issue #19): the local provisioner sees an instance's process exit and
 * the job hears of it at once, whether the instance was busy or idle.
 */
describe('an instance that dies while idle, with work placed on it', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;

  beforeAll(async () => {
    stack = await startTestStack({ checkpointIntervalMs: 500 });
  });
  afterAll(async () => {
    await stopAllInstances(stack);
    await stack.close();
  });

  it('moves that work within the heartbeat timeout + 2 s, and the result is exact', async () => {
    const heartbeatTimeoutSeconds = 3;
    const workflowId = uniqueId('idle-lost');
    const { spec, expected } = idleInstanceJobSpec(workflowId, 200);
    const store = await openCheckpointStore(stack.checkpointStore);
    try {
      await stack.runUntil(async () => {
        const handle = await stack.client.workflow.start(spotdagJob, {
          taskQueue: CONTROL_TASK_QUEUE,
          workflowId,
          args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds } }],
        });
        // The state query exists once the job has its plan.
        const stateOf = () => handle.query(jobStateQuery).catch(() => undefined);
        // An instance with no work running and a sub-task placed on it.
        let idle: ReturnType<typeof idleInstanceWithWork>;
        await waitFor(
          async () => {
            const state = await stateOf();
            idle = state && idleInstanceWithWork(state);
            return idle !== undefined;
          },
          60_000,
          'an idle instance with work placed on it',
        );
        const killedAt = Date.now();
        expect(stack.provisioner.kill(idle!.id, 'SIGKILL')).toBe(true);
        // The job knows within the bound, and its waiting work is placed elsewhere.
        await waitFor(
          async () => {
            const state = (await stateOf())!;
            const lost = state.instances.find((i) => i.planId === idle!.planId)?.lost === true;
            const movedOn = state.subTasks[idle!.waiting]!;
            return lost && (movedOn.status !== 'pending' || movedOn.placedOn !== idle!.planId);
          },
          (heartbeatTimeoutSeconds + 2) * 1000,
          'the lost instance noticed and its work placed elsewhere',
        );
        expect(Date.now() - killedAt).toBeLessThanOrEqual((heartbeatTimeoutSeconds + 2) * 1000);

        const result = await handle.result();
        expect(result.result).toBe(expected);
        const outcome = (await stack.client.workflow
          .getHandle(`${workflowId}/${idle!.waiting}`)
          .result()) as SubTaskOutcome;
        expect(outcome.instanceId).not.toBe(idle!.id);
      });
      // Every sub-task's result is in the store (written under its fencing token: once).
      for (const id of ['first', 'second/0000', 'second/0001', 'total'])
        expect(await store.readResult(workflowId, id)).toBeDefined();
    } finally {
      await store.close();
    }
  });

  it('an instance killed while it boots: the launch reports it, and its work goes elsewhere at once', async () => {
    const workflowId = uniqueId('boot-lost');
    const spec = workloadJobSpec(20, { chunks: 2, instances: 2, input: { unitMs: 100 } });
    const result = await stack.runUntil(async () => {
      const handle = await stack.client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: 3 } }],
      });
      // The first instance process, killed as soon as it exists (before its worker polls).
      let victim: string | undefined;
      await waitFor(
        async () => {
          victim = (await stack.provisioner.list(workflowId))[0]?.id;
          return victim !== undefined;
        },
        60_000,
        'an instance process',
        20,
      );
      expect(stack.provisioner.kill(victim!, 'SIGKILL')).toBe(true);
      return handle.result();
    });
    expect(result.result).toBe(expectedWorkloadSum(1, 20));
    // The launch activity saw it die instead of waiting a minute for a poller.
    expect(result.controller!.refusedLaunches).toBeGreaterThanOrEqual(1);
    expect(result.elapsedSeconds).toBeLessThan(30);
  });

  it('a busy instance killed: the work moves where the controller says, and the job counts what was lost', async () => {
    const workflowId = uniqueId('busy-lost');
    const unitMs = 100;
    const ledger = path.join(stack.stateDir, `${workflowId}.ledger`);
    const spec = workloadJobSpec(60, { chunks: 1, instances: 2, input: { unitMs, ledger } });
    const result = await stack.runUntil(async () => {
      const handle = await stack.client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: 3 } }],
      });
      const units = () => readWorkloadLedger(ledger, workflowId).get('spin')?.length ?? 0;
      await waitFor(async () => units() >= 20, 60_000, 'a third of the work');
      const [busy] = (await stack.provisioner.list(workflowId)).filter((i) => i.planId === 'i0');
      expect(stack.provisioner.kill(busy!.id, 'SIGKILL')).toBe(true);
      return handle.result();
    });
    expect(result.result).toBe(expectedWorkloadSum(1, 60));
    const outcome = (await stack.client.workflow.getHandle(`${workflowId}/spin`).result()) as SubTaskOutcome;
    expect(outcome.relocations).toEqual([
      expect.objectContaining({ reason: 'instance-lost', diedAtMs: expect.any(Number) }),
    ]);
    // The job's count of the work lost (last checkpoint → the death the provider saw) agrees with
    // the ledger's units done twice, within a checkpoint interval (0.5 s) and a unit.
    const redone = redoneUnits(readWorkloadLedger(ledger, workflowId).get('spin')!).length;
    expect(result.workLostSeconds).toBeGreaterThan(0);
    expect(Math.abs(result.workLostSeconds - (redone * unitMs) / 1000)).toBeLessThanOrEqual(0.6);
    // Replay fixtures of the runtime controller's job and of a child its parent moved.
    await recordHistory(stack.client, 'spotdagJob-controlled-lost', workflowId);
    await recordHistory(stack.client, 'spotdagSubTask-moved-by-parent', `${workflowId}/spin`);
  });
});
