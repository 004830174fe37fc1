import { fetchReportModel } from '../../cli/commands/report';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import { openCheckpointStore } from '../../src/checkpoint';
import path from 'node:path';
import { expectedWorkloadSum, readWorkloadLedger, redoneUnits, workloadJobSpec } from '../../src/steps';
import type { SubTaskOutcome } from '../../src/job/types';
import { spotdagJob } from '../../workflows';
import { jobStateQuery } from '../../workflows/job-controlled';
import { idleInstanceJobSpec, idleInstanceWithWork } from '../../bench/recovery';
import {
  recordHistory,
  startTestStack,
  stopAllInstances,
  TEST_LONG_POLL_SECONDS,
  uniqueId,
  waitFor,
} from './helpers';

type Stack = Awaited<ReturnType<typeof startTestStack>>;

/**
 * An idle instance with work placed on it gets `signal`: its work must move within the heartbeat
 * timeout + 2 s, the result be exact, and every result be written once (a stopped instance woken
 * after its work moved writes nothing that counts: fencing).
 */
async function idleInstanceLost(stack: Stack, signal: NodeJS.Signals): Promise<void> {
  const heartbeatTimeoutSeconds = 3;
  const workflowId = uniqueId(`idle-${signal.toLowerCase()}`);
  // The instance idles with work placed on it for about 12 s. A stopped worker's last poll can
  // still take work for 1 s (the server holds it): the work arrives long after that, when only
  // the provider or the poller watch can tell (the job must know before `first` ends).
  const { spec, expected } = idleInstanceJobSpec(workflowId, 200);
  const store = await openCheckpointStore(stack.checkpointStore);
  let idle: ReturnType<typeof idleInstanceWithWork>;
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
      await waitFor(
        async () => {
          const state = await stateOf();
          idle = state && idleInstanceWithWork(state);
          return idle !== undefined;
        },
        60_000,
        'an idle instance with work placed on it',
      );
      const stoppedAt = Date.now();
      expect(stack.provisioner.kill(idle!.id, signal)).toBe(true);
      // The job knows within the bound, and its waiting work is placed elsewhere.
      await waitFor(
        async () => {
          const state = (await stateOf())!;
          const lost = state.instances.find((i) => i.planId === idle!.planId)?.lost === true;
          const movedOn = state.subTasks[idle!.waiting]!;
          if (!lost) return false;
          expect(state.subTasks['first']!.status).toBe('running');
          return movedOn.status !== 'pending' || movedOn.placedOn !== idle!.planId;
        },
        (heartbeatTimeoutSeconds + 2) * 1000,
        'the lost instance noticed and its work placed elsewhere',
      );
      expect(Date.now() - stoppedAt).toBeLessThanOrEqual((heartbeatTimeoutSeconds + 2) * 1000);

      const result = await handle.result();
      expect(result.result).toBe(expected);
      const outcome = (await stack.client.workflow
        .getHandle(`${workflowId}/${idle!.waiting}`)
        .result()) as SubTaskOutcome;
      expect(outcome.instanceId).not.toBe(idle!.id);
    });
    const ids = ['first', 'second/0000', 'second/0001', 'total'];
    const written = await Promise.all(ids.map((id) => store.readResult(workflowId, id)));
    // A stopped instance that wakes after its work moved writes nothing that counts (fencing).
    if (signal === 'SIGSTOP') {
      stack.provisioner.kill(idle!.id, 'SIGCONT');
      await new Promise((r) => setTimeout(r, 3_000));
    }
    // Every sub-task's result is in the store, written once (under its fencing token).
    const after = await Promise.all(ids.map((id) => store.readResult(workflowId, id)));
    expect(after.map((r) => r?.descriptor)).toEqual(written.map((r) => r!.descriptor));
  } finally {
    await store.close();
  }
}

/** A 20-unit job whose first instance process gets `signal` as soon as it exists (before it polls). */
async function hitFirstBootingInstance(stack: Stack, workflowId: string, signal: NodeJS.Signals) {
  const spec = workloadJobSpec(20, { chunks: 2, instances: 2, input: { unitMs: 100 } });
  return stack.runUntil(async () => {
    const handle = await stack.client.workflow.start(spotdagJob, {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: 3 } }],
    });
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
    expect(stack.provisioner.kill(victim!, signal)).toBe(true);
    return handle.result();
  });
}

/**
 * A one-chunk job of 60 units of 100 ms on two instances; once a third of the work is done, the
 * busy instance gets `signal` (a SIGSTOPped one is SIGKILLed once the job is over). Returns the
 * result, the sub-task's outcome and the work (seconds) its ledger shows done twice.
 */
async function busyInstanceHit(stack: Stack, name: string, signal: NodeJS.Signals) {
  const workflowId = uniqueId(name);
  const unitMs = 100;
  const ledger = path.join(stack.stateDir, `${workflowId}.ledger`);
  const spec = workloadJobSpec(60, { chunks: 1, instances: 2, input: { unitMs, ledger } });
  let busy: string | undefined;
  const result = await stack.runUntil(async () => {
    const handle = await stack.client.workflow.start(spotdagJob, {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: 3 } }],
    });
    const units = () => readWorkloadLedger(ledger, workflowId).get('spin')?.length ?? 0;
    await waitFor(async () => units() >= 20, 60_000, 'a third of the work');
    busy = (await stack.provisioner.list(workflowId)).find((i) => i.planId === 'i0')!.id;
    expect(stack.provisioner.kill(busy, signal)).toBe(true);
    return handle.result();
  });
  if (signal === 'SIGSTOP') stack.provisioner.kill(busy!, 'SIGKILL');
  expect(result.result).toBe(expectedWorkloadSum(1, 60));
  const outcome = (await stack.client.workflow.getHandle(`${workflowId}/spin`).result()) as SubTaskOutcome;
  const redoneSeconds =
    (redoneUnits(readWorkloadLedger(ledger, workflowId).get('spin')!).length * unitMs) / 1000;
  return { workflowId, result, outcome, redoneSeconds };
}

/** The liveness suites' stack: the poller watch and launch timeouts bounded for the test server. */
const WATCHED = {
  checkpointIntervalMs: 500,
  // Local instances boot in seconds: a launch gives up on one that has not polled in 15.
  instanceReadyTimeoutMs: 15_000,
  // The test server holds polls 1 s: a queue with no poll for 2 s has a dead or hung worker.
  liveness: { pollerBoundSeconds: TEST_LONG_POLL_SECONDS + 1, pollerCheckEverySeconds: 0.5 },
};

/**
 * Liveness from the provider (issue #19): the local provisioner sees an instance's process exit or
 * suspension and the job hears of it at once, whether the instance was busy or idle.
 */
describe('lost instances', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startTestStack(WATCHED);
  });
  afterAll(async () => {
    await stopAllInstances(stack);
    await stack.close();
  });

  // SIGKILL: the provider sees the process exit. SIGSTOP: it sees the process suspended.
  it.each<{ signal: NodeJS.Signals; what: string }>([
    { signal: 'SIGKILL', what: 'dies' },
    { signal: 'SIGSTOP', what: 'is suspended' },
  ])(
    '$signal: an idle instance that $what has its work moved within the heartbeat timeout + 2 s, once',
    ({ signal }) => idleInstanceLost(stack, signal),
  );

  it('an instance killed while it boots: the launch reports it, and its work goes elsewhere at once', async () => {
    const result = await hitFirstBootingInstance(stack, uniqueId('boot-lost'), 'SIGKILL');
    expect(result.result).toBe(expectedWorkloadSum(1, 20));
    // The launch activity saw it die instead of waiting a minute for a poller.
    expect(result.controller!.refusedLaunches).toBeGreaterThanOrEqual(1);
    expect(result.elapsedSeconds).toBeLessThan(30);
  });

  it('an instance suspended while it boots: the launch hears it from the provider, and its work goes elsewhere at once', async () => {
    const result = await hitFirstBootingInstance(stack, uniqueId('boot-suspended'), 'SIGSTOP');
    expect(result.result).toBe(expectedWorkloadSum(1, 20));
    expect(result.controller!.refusedLaunches).toBeGreaterThanOrEqual(1);
    // Not after the 15 s ready timeout.
    expect(result.elapsedSeconds).toBeLessThan(15);
  });

  it('a replacement killed right after it starts: the job notices it too, and the result is exact', async () => {
    const heartbeatTimeoutSeconds = 3;
    const workflowId = uniqueId('replacement-lost');
    const spec = workloadJobSpec(60, { chunks: 2, instances: 2, input: { unitMs: 100 } });
    const result = await stack.runUntil(async () => {
      const handle = await stack.client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds } }],
      });
      const stateOf = () => handle.query(jobStateQuery).catch(() => undefined);
      const busy = async () => {
        const state = await stateOf();
        const ids = new Set(Object.values(state?.subTasks ?? {}).flatMap((t) => (t.on ? [t.on] : [])));
        return state?.instances.filter((i) => i.id && ids.has(i.planId)) ?? [];
      };
      await waitFor(async () => (await busy()).length === 2, 60_000, 'both chunks running');
      const before = new Set((await stack.provisioner.list(workflowId)).map((i) => i.id));
      expect(stack.provisioner.kill((await busy())[0]!.id!, 'SIGKILL')).toBe(true);
      // The instance the controller launches next, killed as soon as the job has it (an instance
      // killed before that, while it boots, is the next test's case).
      let replacement: string | undefined;
      await waitFor(
        async () => {
          const state = await stateOf();
          replacement = state?.instances.find((i) => i.id && !before.has(i.id) && !i.lost)?.id;
          return replacement !== undefined;
        },
        60_000,
        'a replacement instance',
        20,
      );
      const killedAt = Date.now();
      expect(stack.provisioner.kill(replacement!, 'SIGKILL')).toBe(true);
      await waitFor(
        async () => (await stateOf())?.instances.find((i) => i.id === replacement)?.lost === true,
        (heartbeatTimeoutSeconds + 2) * 1000,
        'the replacement noticed lost',
      );
      expect(Date.now() - killedAt).toBeLessThanOrEqual((heartbeatTimeoutSeconds + 2) * 1000);
      return handle.result();
    });
    expect(result.result).toBe(expectedWorkloadSum(1, 60));
    expect(result.interruptions).toBeGreaterThanOrEqual(2);
  });

  it('a busy instance killed: the work moves where the controller says, and the job counts what was lost', async () => {
    const { workflowId, result, outcome, redoneSeconds } = await busyInstanceHit(
      stack,
      'busy-lost',
      'SIGKILL',
    );
    expect(outcome.relocations).toEqual([
      expect.objectContaining({ reason: 'instance-lost', diedAtMs: expect.any(Number) }),
    ]);
    // The job's count of the work lost (last checkpoint → the death the provider saw) agrees with
    // the ledger's units done twice, within a checkpoint interval (0.5 s) and a unit.
    expect(result.workLostSeconds).toBeGreaterThan(0);
    expect(Math.abs(result.workLostSeconds - redoneSeconds)).toBeLessThanOrEqual(0.6);
    // The provider saw the death: nothing of it is an estimate. `spotdag report` agrees.
    expect(result.workLostEstimatedSeconds).toBe(0);
    const report = await fetchReportModel(stack.client, workflowId, stack.checkpointStore);
    expect(report.totals.workLostSeconds).toBeCloseTo(result.workLostSeconds, 6);
    expect(report.totals.reportedWorkLostSeconds).toBe(result.workLostSeconds);
    // Replay fixtures of the runtime controller's job and of a child its parent moved.
    await recordHistory(stack.client, 'spotdagJob-controlled-lost', workflowId);
    await recordHistory(stack.client, 'spotdagSubTask-moved-by-parent', `${workflowId}/spin`);
  });

  it('a busy instance suspended: the provider sees it, and the work lost runs to the moment it saw it', async () => {
    const { result, outcome, redoneSeconds } = await busyInstanceHit(stack, 'busy-suspended', 'SIGSTOP');
    expect(outcome.relocations).toEqual([
      expect.objectContaining({ reason: 'instance-lost', diedAtMs: expect.any(Number) }),
    ]);
    // Seen a tenth of a second after the stop (a second at most, for an instance launched just
    // before): the count agrees with the ledger's units done twice within a checkpoint interval
    // (0.5 s), a unit and that delay, and none of it is an estimate.
    expect(result.workLostEstimatedSeconds).toBe(0);
    expect(result.workLostSeconds).toBeGreaterThanOrEqual(redoneSeconds - 0.6);
    expect(result.workLostSeconds).toBeLessThanOrEqual(redoneSeconds + 1.6);
  });
});

/**
 * Liveness when the provider sees nothing: a worker that hangs without its process exiting or
 * being suspended (here a SIGSTOP the provider is told not to see). The poller watch finds it
 * idle, the heartbeat timeout busy, the launch's ready timeout while it boots.
 */
describe('lost instances the provider does not see (hung workers)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startTestStack({ ...WATCHED, seeSuspended: false });
  });
  afterAll(async () => {
    await stopAllInstances(stack);
    await stack.close();
  });

  it('an idle instance that hangs and never polls: the poller watch moves its work within the heartbeat timeout + 2 s, once', () =>
    idleInstanceLost(stack, 'SIGSTOP'));

  it('an instance that hangs while it boots: the launch gives it up after its ready timeout, and its work goes elsewhere', async () => {
    const result = await hitFirstBootingInstance(stack, uniqueId('boot-hung'), 'SIGSTOP');
    expect(result.result).toBe(expectedWorkloadSum(1, 20));
    expect(result.controller!.refusedLaunches).toBeGreaterThanOrEqual(1);
    // Once, after the 15 s ready timeout, not after a minute and the launch's retries.
    expect(result.elapsedSeconds).toBeLessThan(45);
  });
});

/**
 * A busy worker that hangs, with only the heartbeat timeout to find it (no provider, no poller
 * watch: a busy worker still polls for its free slots, so with the watch on it may be found there
 * first, and its attempt's progress is then not known to the job).
 */
describe('a hung busy worker and the heartbeat timeout alone', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startTestStack({
      checkpointIntervalMs: 500,
      liveness: { pollerBoundSeconds: 0 },
      seeSuspended: false,
    });
  });
  afterAll(async () => {
    await stopAllInstances(stack);
    await stack.close();
  });

  it('a busy instance that hangs: the heartbeat timeout moves its work, and the work lost is counted to it, as an upper bound', async () => {
    const { result, outcome, redoneSeconds } = await busyInstanceHit(stack, 'busy-hung', 'SIGSTOP');
    expect(outcome.relocations).toEqual([expect.objectContaining({ reason: 'heartbeat-timeout' })]);
    expect(outcome.relocations![0]!.diedAtMs).toBeUndefined();
    // No one saw it die: the loss runs to the timeout's firing, all of it said to be an estimate,
    // and no less than the units the ledger saw done twice.
    expect(result.workLostEstimatedSeconds).toBe(result.workLostSeconds);
    expect(result.workLostSeconds).toBeGreaterThanOrEqual(redoneSeconds - 0.2);
    expect(result.workLostSeconds).toBeLessThanOrEqual(redoneSeconds + 3 + 1);
  });
});
