import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeImagesCommand, DescribeSubnetsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { Command } from 'commander';
import { registerCleanup } from '../../cli/commands/cleanup';
import { registerRun } from '../../cli/commands/run';
import type { Ec2JobPlan } from '../../cli/ec2-plan';
import { runJob } from '../../cli/job-runner';
import type { SpotdagInstancePlan } from '../../src/allocate';
import type { JobResult } from '../../src/job/types';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import { describeTaggedInstances, type TaggedInstance } from '../../src/provision/ec2-instances';
import { parseEc2Settings, type Ec2Settings } from '../../src/provision/ec2-settings';
import { reportInputFromHistory, type ReportInput } from '../../src/report';
import { primesJobSpec } from '../../src/steps';
import { startEc2Stack, type Ec2Stack } from '../../workers/ec2-stack';
import { spotdagJob } from '../../workflows';
import { Ec2StandIns } from '../support/ec2-stand-ins';
import { motoClient, startMotoServer, useDummyAwsCredentials, type MotoServer } from '../support/moto-server';
import { startTestStack, uniqueId, waitFor } from './helpers';

const ADVISOR = path.resolve(__dirname, '../../../shared/data/spot-advisor/spot-advisor-data.json');
const TYPES = ['c5.large', 'm5.large'];
const ZONES = ['us-east-1a', 'us-east-1b'];

/** An EC2 job spec: the primes demo with `fleet.provider: ec2`. */
function ec2Spec(n: number, chunks: number) {
  return { ...primesJobSpec(n, { chunks }), fleet: { provider: 'ec2' as const, instances: 2 } };
}

/**
 * `spotdag run --provider ec2` end to end against moto_server (a real EC2 API) and the run's real
 * Temporal dev server: the job's own activities forecast from DescribeSpotPriceHistory, allocate
 * over EC2 pools, launch with CreateFleet and terminate at the end. moto runs nothing on its
 * instances (no user data), so a job could never get past provisioning there; where a test needs
 * the instances to work, `Ec2StandIns` starts in this process the instance worker the boot script
 * would start on each instance. Not covered here: real boots, IMDS, capacity, prices (docs/ec2.md).
 */
describe('spotdag run --provider ec2 against moto_server', () => {
  let moto: MotoServer;
  let ec2: EC2Client;
  let settings: Ec2Settings;
  let stack: Ec2Stack;
  let connection: NativeConnection;
  const stateDir = mkdtempSync(path.join(tmpdir(), 'spotdag-ec2-job-'));

  beforeAll(async () => {
    useDummyAwsCredentials();
    moto = await startMotoServer();
    ec2 = motoClient(moto.endpoint);
    const subnets = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? [];
    const imageId = (await ec2.send(new DescribeImagesCommand({}))).Images![0]!.ImageId!;
    settings = parseEc2Settings({
      region: 'us-east-1',
      endpoint: moto.endpoint,
      subnets: ZONES.map((zone) => ({
        subnetId: subnets.find((s) => s.AvailabilityZone === zone && s.DefaultForAz)!.SubnetId!,
        zone,
      })),
      image: { imageId },
      worker: { temporalAddress: process.env.TEMPORAL_ADDRESS! },
      instanceTypes: TYPES,
      onDemandPricesPerHour: { 'c5.large': 0.085, 'm5.large': 0.096 },
      ...(existsSync(ADVISOR) ? { spotAdvisorFile: ADVISOR } : {}),
      limits: { maxInstances: 3, maxSpendUsd: 5, maxInstanceHours: 2 },
      timeouts: { instanceReadySeconds: 60, scheduleToStartSeconds: 120 },
    });
    stack = await startEc2Stack({
      stateDir,
      settings,
      workflowBundle: { codePath: process.env.SPOTDAG_TEST_WORKFLOW_BUNDLE! },
    });
    connection = await NativeConnection.connect({ address: stack.address });
  });
  afterAll(async () => {
    await stack?.close();
    await connection?.close();
    ec2?.destroy();
    await moto?.stop();
  });

  const instancesOf = (jobId: string, states?: string[]): Promise<TaggedInstance[]> =>
    describeTaggedInstances(ec2, { jobId, states });

  async function historyOf(workflowId: string): Promise<ReportInput> {
    const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    return reportInputFromHistory(workflowId, history, (p) => defaultPayloadConverter.fromPayload(p));
  }

  /** Runs a CLI command in this process and returns what it printed on stdout. */
  async function cli(register: (program: Command) => void, args: string[]): Promise<string> {
    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void out.push(`${line}\n`));
    try {
      const program = new Command('spotdag').exitOverride();
      register(program);
      await program.parseAsync(args, { from: 'user' });
    } finally {
      write.mockRestore();
      log.mockRestore();
    }
    return out.join('');
  }

  it('(a) plans on EC2 pools, launches tagged instances, runs the job on them and terminates them', async () => {
    const workflowId = uniqueId('ec2-primes');
    const standIns = new Ec2StandIns(ec2, connection, stack.namespace, workflowId).start();
    let result: JobResult;
    try {
      result = await runJob({
        stack,
        spec: ec2Spec(1_000_000, 3),
        workflowId,
        showProgress: false,
        say: () => {},
      });
    } finally {
      await standIns.stop();
    }
    expect(result.result).toBe(78_498);

    // forecastMarket: every (type, zone) of the settings, a spot pool with its on-demand price.
    const { market, schedule, instances } = await historyOf(workflowId);
    expect(market!.pools.map((p) => p.key).sort()).toEqual(
      TYPES.flatMap((t) => ZONES.map((z) => `${t}@${z}`)).sort(),
    );
    for (const pool of market!.pools) {
      expect(pool).toMatchObject({ market: 'spot', region: 'us-east-1', stepSeconds: 3600 });
      expect(pool.pricePerHour[0]).toBeCloseTo(0.00001, 9); // moto's one price
      expect(pool.onDemandPricePerHour).toBe(pool.instanceType === 'c5.large' ? 0.085 : 0.096);
      expect(pool.interruptionsPerHour).toBeGreaterThan(0);
    }
    // allocateSubTasks: a schedule over those pools, at most fleet.instances, with price caps.
    const plans = schedule!.instances as SpotdagInstancePlan[];
    expect(plans.length).toBeGreaterThanOrEqual(1);
    expect(plans.length).toBeLessThanOrEqual(2);
    for (const plan of plans) {
      expect(market!.pools.map((p) => p.key)).toContain(plan.pool);
      expect(plan.market).toBe('spot'); // moto's spot price is far below on-demand
      expect(plan.maxPricePerHour).toBeGreaterThan(0);
    }

    // provisionInstances: one EC2 instance per plan, of the plan's type in the plan's zone, tagged
    // with the job and its queue; the stand-ins polled exactly those queues.
    const launched = await instancesOf(workflowId);
    expect(launched.map((i) => i.instanceId).sort()).toEqual(instances!.map((i) => i.id).sort());
    expect(standIns.started.sort()).toEqual(instances!.map((i) => i.id).sort());
    for (const instance of launched) {
      const plan = plans.find((p) => p.id === instance.tags['spotdag:plan'])!;
      expect(`${instance.instanceType}@${instance.zone}`).toBe(plan.pool);
      expect(instance.tags).toMatchObject({
        'spotdag:job': workflowId,
        'spotdag:market': 'spot',
        'spotdag:queue': `spotdag-i-${instance.instanceId}`,
      });
      // releaseInstances terminated it at the end.
      expect(instance.state).toBe('terminated');
    }

    // EC2's longer schedule-to-start timeout reached the sub-tasks' activities.
    const child = await stack.client.workflow.getHandle(`${workflowId}/count/0000`).fetchHistory();
    const scheduled = child.events!.find((e) => e.activityTaskScheduledEventAttributes)!;
    expect(Number(scheduled.activityTaskScheduledEventAttributes!.scheduleToStartTimeout!.seconds)).toBe(120);
  });

  it('(a) cancelled while its instances boot: the job terminates what it launched', async () => {
    // No stand-ins: like instances whose boot never gets the worker up, nobody polls their queues.
    const workflowId = uniqueId('ec2-cancel');
    await stack.runUntil(async () => {
      const handle = await stack.client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [ec2Spec(1_000_000, 2), { subTaskPolicy: stack.subTaskPolicy }],
      });
      await waitFor(async () => (await instancesOf(workflowId, ['running'])).length > 0, 60_000, 'a launch');
      await handle.cancel();
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    });
    // The job released them on its way out: nothing of it is left running (no cleanup needed).
    const launched = await instancesOf(workflowId);
    expect(launched.length).toBeGreaterThan(0);
    expect(await instancesOf(workflowId, ['pending', 'running'])).toEqual([]);
    const out = await cli(registerCleanup, [
      'cleanup',
      '--job',
      workflowId,
      '--json',
      '--region',
      'us-east-1',
      '--endpoint',
      moto.endpoint,
    ]);
    expect((JSON.parse(out) as { terminated: unknown[] }).terminated).toEqual([]);
  });

  it('(b) a job whose fleet.provider is not the control worker’s fails before provisioning, naming the field', async () => {
    const expectMismatch = async (run: Promise<unknown>, requested: string, available: string) => {
      const err = await run.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      let cause: unknown = err;
      while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect((cause as ApplicationFailure).type).toBe('InvalidJobSpec');
      expect((cause as ApplicationFailure).message).toContain(
        `fleet.provider: "${requested}" is not what this control worker provisions ("${available}")`,
      );
    };
    // A local spec on the EC2 control worker: nothing is launched.
    const localJob = uniqueId('ec2-mismatch');
    await expectMismatch(
      stack.runUntil(() =>
        stack.client.workflow.execute(spotdagJob, {
          taskQueue: CONTROL_TASK_QUEUE,
          workflowId: localJob,
          args: [primesJobSpec(1_000_000, { chunks: 2 })],
        }),
      ),
      'local',
      'ec2',
    );
    expect(await instancesOf(localJob)).toEqual([]);
    // An EC2 spec on a local control worker: no process is started.
    const local = await startTestStack();
    try {
      await expectMismatch(
        local.runUntil(() =>
          local.client.workflow.execute(spotdagJob, {
            taskQueue: CONTROL_TASK_QUEUE,
            workflowId: uniqueId('local-mismatch'),
            args: [ec2Spec(1_000_000, 2)],
          }),
        ),
        'ec2',
        'local',
      );
      expect(await local.provisioner.list()).toEqual([]);
    } finally {
      await local.close();
    }
  });

  it('spotdag run --provider ec2 --dry-run plans on the EC2 market and prints the requests, launching nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spotdag-ec2-dry-'));
    const job = path.join(dir, 'job.json');
    writeFileSync(job, JSON.stringify(primesJobSpec(1_000_000, { chunks: 2 }))); // fleet.provider: local
    const config = path.join(dir, 'ec2.json');
    writeFileSync(config, JSON.stringify(settings));
    const out = await cli(registerRun, [
      'run',
      job,
      '--provider',
      'ec2',
      '--ec2-settings',
      config,
      '--dry-run',
      '--json',
      '--id',
      'dry-1',
    ]);
    const plan = JSON.parse(out) as Ec2JobPlan;
    expect(plan.jobId).toBe('dry-1');
    expect(plan.requests.admitted).toBe(true);
    expect(plan.requests.launches.map((l) => l.planId)).toEqual(plan.schedule.instances.map((i) => i.id));
    for (const [i, launch] of plan.requests.launches.entries()) {
      const [type] = plan.schedule.instances[i]!.pool.split('@');
      expect(TYPES).toContain(type);
      const first = launch.createFleet[0]!.input;
      expect(first.LaunchTemplateConfigs![0]!.Overrides![0]!.InstanceType).toBe(type);
      expect(first.TagSpecifications![0]!.Tags).toContainEqual({ Key: 'spotdag:job', Value: 'dry-1' });
    }
    expect(await instancesOf('dry-1')).toEqual([]);
  });
});
