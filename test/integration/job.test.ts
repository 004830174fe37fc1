import { execFileSync } from 'node:child_process';
import { WorkflowFailedError } from '@temporalio/client';
import { CONTROL_TASK_QUEUE, instanceTaskQueue } from '../../src/names';
import { primesJobSpec } from '../../src/steps';
import type { SubTaskOutcome } from '../../src/job/types';
import type { JobSpecInput } from '../../src/dag';
import { findOrInstallTemporalCli, workflowStartArgs } from '../../workers/temporal-cli';
import { spotdagJob } from '../../workflows';
import { recordHistory, startTestStack, stopAllInstances, uniqueId } from './helpers';

describe('a spotdag job on a real Temporal dev server with local instance processes', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterEach(async () => {
    await stopAllInstances(stack);
  });
  afterAll(async () => {
    await stack.close();
  });

  it('counts the primes up to 10^8 exactly, each range on its instance queue', async () => {
    const workflowId = uniqueId('primes');
    const spec = primesJobSpec(100_000_000, { chunks: 9, instances: 3 });
    const result = await stack.runUntil(() =>
      stack.client.workflow.execute(spotdagJob, { taskQueue: CONTROL_TASK_QUEUE, workflowId, args: [spec] }),
    );
    expect(result.result).toBe(5_761_455);
    expect(result.subTasks).toBe(10);
    expect(result.instances).toBe(3);

    // Every counting child ran its activity on the queue of the instance it reports, and the work
    // was spread over all three instances.
    const instances = new Set<string>();
    for (let i = 0; i < 9; i++) {
      const child = stack.client.workflow.getHandle(`${workflowId}/count/${String(i).padStart(4, '0')}`);
      const outcome = (await child.result()) as SubTaskOutcome;
      instances.add(outcome.instanceId);
      const history = await child.fetchHistory();
      const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes);
      expect(scheduled!.activityTaskScheduledEventAttributes!.taskQueue!.name).toBe(
        instanceTaskQueue(outcome.instanceId),
      );
    }
    expect(instances.size).toBe(3);
    // Instances are released when the job ends.
    expect(await stack.provisioner.list(workflowId)).toEqual([]);

    await recordHistory(stack.client, 'spotdagJob-primes', workflowId);
    await recordHistory(stack.client, 'spotdagSubTask-primes', `${workflowId}/count/0000`);
  });

  it('runs the same job when started by the temporal CLI', async () => {
    const workflowId = uniqueId('primes-cli');
    const temporal = await findOrInstallTemporalCli();
    const spec = primesJobSpec(1_000_000, { chunks: 4, instances: 2 });
    await stack.runUntil(async () => {
      execFileSync(
        temporal,
        workflowStartArgs({
          address: stack.address,
          namespace: stack.namespace,
          workflowType: 'spotdagJob',
          taskQueue: CONTROL_TASK_QUEUE,
          workflowId,
          inputs: [spec],
        }),
      );
      const result = await stack.client.workflow.getHandle<typeof spotdagJob>(workflowId).result();
      expect(result.result).toBe(78_498);
    });
  });

  describe('rejects bad job specs before any sub-task starts, naming the field', () => {
    const good = () => primesJobSpec(1000, { chunks: 2, instances: 1 });
    const cases: Array<[string, unknown, RegExp]> = [
      [
        'a negative range (end before start)',
        (() => {
          const spec = good();
          spec.stages[0]!.range = { start: 1000, end: 1 };
          return spec;
        })(),
        /stages\[0\]\.range: start 1000 is after end 1/,
      ],
      [
        'an unknown step name',
        (() => {
          const spec = good();
          spec.stages[0]!.step = 'primes.cuont';
          return spec;
        })(),
        /stages\[0\]\.step: unknown step "primes\.cuont"/,
      ],
      [
        'a missing field',
        (() => {
          const { name: _omitted, ...spec } = good();
          return spec;
        })(),
        /^invalid job spec: name: required/m,
      ],
    ];

    it.each(cases)('%s', async (_label, spec, message) => {
      const workflowId = uniqueId('bad-spec');
      const error = await stack
        .runUntil(() =>
          stack.client.workflow.execute(spotdagJob, {
            taskQueue: CONTROL_TASK_QUEUE,
            workflowId,
            args: [spec as JobSpecInput], // invalid on purpose
          }),
        )
        .catch((err: unknown) => err);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      const cause = (error as WorkflowFailedError).cause?.cause as Error | undefined;
      expect(cause?.message).toMatch(message);
      const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
      expect(history.events!.some((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toBe(false);
      expect(
        history.events!.some((e) =>
          ['provisionInstances', 'launchInstances'].includes(
            e.activityTaskScheduledEventAttributes?.activityType?.name ?? '',
          ),
        ),
      ).toBe(false);
    });
  });
});
