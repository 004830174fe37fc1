import { LOCAL_TIMING } from '../../src/job/allocation-input';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import { ReplayMarket } from '../../src/provision/replay-market';
import { handMadeScenario, type HandMadePool } from '../../src/sim/replay-scenario';
import { expectedWorkloadSum, workloadJobSpec } from '../../src/steps';
import { spotdagJob } from '../../workflows';
import { startTestStack, stopAllInstances, uniqueId } from './helpers';

const spotPool = (zone: string, available: boolean[], hazardPerHour = 1): HandMadePool => ({
  instanceType: 'c5.large',
  zone,
  region: 'us-east-1',
  vcpu: 2,
  memoryMiB: 4096,
  spotPricePerHour: 0.03,
  onDemandPricePerHour: 0.1,
  available,
  tickSeconds: 1,
  hazardPerHour,
});

function marketOf(id: string, pools: HandMadePool[]): ReplayMarket {
  return new ReplayMarket({
    id,
    scenario: handMadeScenario(pools),
    fleet: {
      maxInstances: 6,
      bootSeconds: 2,
      checkpointSeconds: 0.1,
      restartSeconds: 1,
      minCheckpointIntervalSeconds: 1,
    },
    timing: LOCAL_TIMING,
  });
}

describe('the runtime controller on a replayed spot market (real instances, real kills)', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  const market = marketOf(uniqueId('late-loss'), [
    // Spot capacity in three zones for 24 s, then none for the rest of the job.
    ...['us-east-1a', 'us-east-1b', 'us-east-1c'].map((zone) =>
      spotPool(zone, [...Array<boolean>(24).fill(true), ...Array<boolean>(3600).fill(false)]),
    ),
  ]);

  beforeAll(async () => {
    stack = await startTestStack({ market, checkpointIntervalMs: 1_000 });
  });
  afterAll(async () => {
    await stopAllInstances(stack);
    await stack.close();
  });

  it('moves to on-demand when the trace takes spot away late, and meets the deadline', async () => {
    const workflowId = uniqueId('late-loss');
    const deadline = 75;
    const spec = {
      ...workloadJobSpec(180, { chunks: 3, instances: 4, input: { unitMs: 500, busy: false } }),
      preferences: { objective: 'minimize-cost' as const, deadline: `${deadline}s` },
    };
    const result = await stack.runUntil(() =>
      stack.client.workflow.execute(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: 3 } }],
      }),
    );
    console.log(JSON.stringify(result, null, 1));
    expect(result.result).toBe(expectedWorkloadSum(1, 180));
    expect(result.elapsedSeconds).toBeLessThanOrEqual(deadline);
  });
});
