import { openCheckpointStore } from '../../src/checkpoint';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import { primesJobSpec } from '../../src/steps';
import type { Relocation, SubTaskOutcome } from '../../src/job/types';
import { pushAll } from '../../src/util/array';
import { spotdagJob } from '../../workflows';
import { startTestStack, stopAllInstances, uniqueId, waitFor } from './helpers';

describe('lost instances: real processes interrupted and killed mid-job', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stopAllInstances(stack);
    await stack.close();
  });

  it('moves work off an instance that got a spot notice and off one that was SIGKILLed', async () => {
    const workflowId = uniqueId('primes-lost');
    const spec = primesJobSpec(10_000_000_000, { chunks: 9, instances: 3 });
    const chunks = 9;
    await stack.runUntil(async () => {
      const handle = await stack.client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: 3, scheduleToStartTimeoutSeconds: 10 } }],
      });
      // Wait until the three instances run sub-tasks, then take two of them away.
      await waitFor(async () => (await stack.provisioner.list(workflowId)).length === 3, 60_000, 'instances');
      await waitFor(
        async () => {
          const { raw } = await handle.describe();
          return (raw.pendingChildren?.length ?? 0) >= 3;
        },
        60_000,
        'running sub-tasks',
      );
      await new Promise((r) => setTimeout(r, 1_000));
      const [noticed, killed] = (await stack.provisioner.list(workflowId)).map((i) => i.id);
      expect(stack.provisioner.kill(killed!, 'SIGKILL')).toBe(true);
      // A notice long enough for the instance to see it (it polls every second) and checkpoint.
      await stack.provisioner.interrupt(noticed!, 3_000);

      const result = await handle.result();
      expect(result.result).toBe(455_052_511);

      const relocations: Relocation[] = [];
      for (let i = 0; i < chunks; i++) {
        const child = stack.client.workflow.getHandle(`${workflowId}/count/${String(i).padStart(4, '0')}`);
        pushAll(relocations, ((await child.result()) as SubTaskOutcome).relocations);
      }
      const reasons = new Set(relocations.map((r) => `${r.from}:${r.reason}`));
      expect(reasons).toContain(`${noticed}:interrupted`);
      expect([...reasons].some((r) => r.startsWith(`${killed}:`))).toBe(true);
      // The controller re-plans: the work goes to instances other than the lost ones.
      expect(relocations.every((r) => r.to !== r.from)).toBe(true);

      // The store saw every sub-task finish exactly once; the interrupted work resumed from a
      // checkpoint written by a later attempt (a newer fencing token) than the one that started it.
      const store = await openCheckpointStore(stack.checkpointStore);
      try {
        const states = await store.listSubTaskStates(workflowId);
        expect(states.map((s) => s.subTaskId).sort()).toEqual(
          [
            ...Array.from({ length: chunks }, (_, i) => `count/${String(i).padStart(4, '0')}`),
            'total',
          ].sort(),
        );
        expect(states.every((s) => s.result !== undefined)).toBe(true);
        const moved = new Set(relocations.map((r) => r.from));
        expect(states.some((s) => s.token >= 2 && s.checkpoints > 0)).toBe(moved.size > 0);
      } finally {
        await store.close();
      }
    });
    expect(await stack.provisioner.list(workflowId)).toEqual([]);
  });
});
