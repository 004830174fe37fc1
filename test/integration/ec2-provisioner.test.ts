import {
  DescribeImagesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  EC2ServiceException,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type CreateFleetCommandInput,
  type EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { Command } from 'commander';
import { registerCleanup } from '../../cli/commands/cleanup';
import { replacementFor } from '../../activities/replacement';
import { openCheckpointStore } from '../../src/checkpoint';
import { decompose, parseJobSpec } from '../../src/dag';
import { plannedSubTasks } from '../../src/job/allocation-input';
import { Ec2Market } from '../../src/job/ec2-market-view';
import type { DecomposedJob, InstancePlan } from '../../src/job/types';
import { primesJobSpec } from '../../src/steps';
import { instanceTaskQueue } from '../../src/names';
import {
  InstanceCapExceededError,
  NoCapacityError,
  SpendCapExceededError,
} from '../../src/provision/ec2-errors';
import { Ec2Provisioner } from '../../src/provision/ec2-provisioner';
import type { InstanceLostEvent } from '../../src/provision/provisioner';
import { parseEc2Settings, type Ec2Settings, type Ec2SettingsInput } from '../../src/provision/ec2-settings';
import { tagMap } from '../../src/provision/ec2-tags';
import { motoClient, startMotoServer, useDummyAwsCredentials, type MotoServer } from '../support/moto-server';

/**
 * Against a real EC2 API (moto_server). moto launches what CreateFleet asks for but never refuses
 * capacity and ignores ClientToken; where a test needs a refusal, a middleware on the SDK client's
 * middlewareStack answers the spot CreateFleet call in moto's place (said at each such test).
 */
describe('Ec2Provisioner against moto_server', () => {
  let moto: MotoServer;
  let client: EC2Client;
  let base: Ec2SettingsInput;

  beforeAll(async () => {
    useDummyAwsCredentials();
    moto = await startMotoServer();
    client = motoClient(moto.endpoint);
  });
  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  beforeEach(async () => {
    await moto.reset();
    const subnets = (await client.send(new DescribeSubnetsCommand({}))).Subnets ?? [];
    const pick = (zone: string) => subnets.find((s) => s.AvailabilityZone === zone && s.DefaultForAz)!;
    const imageId = (await client.send(new DescribeImagesCommand({}))).Images![0]!.ImageId!;
    base = {
      region: 'us-east-1',
      endpoint: moto.endpoint,
      subnets: ['us-east-1a', 'us-east-1b'].map((zone) => ({ subnetId: pick(zone).SubnetId!, zone })),
      image: { imageId, securityGroupIds: [] },
      worker: { temporalAddress: 'temporal.internal:7233', steps: ['/opt/steps/index.js'] },
      allocationStrategy: 'capacity-optimized-prioritized',
      onDemandPricesPerHour: { 'c5.large': 0.085, 'm5.large': 0.096 },
      limits: { maxInstances: 4, maxSpendUsd: 5, maxInstanceHours: 2 },
    };
  });

  /** A provisioner on its own client (middlewares stay per test), recording every CreateFleet input. */
  function provisioner(overrides: Partial<Ec2SettingsInput> = {}, log?: (line: string) => void) {
    const settings: Ec2Settings = parseEc2Settings({ ...base, ...overrides });
    const own = motoClient(moto.endpoint);
    const fleets: CreateFleetCommandInput[] = [];
    const commands: string[] = [];
    own.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(context.commandName ?? '');
        if (context.commandName === 'CreateFleetCommand') fleets.push(args.input as CreateFleetCommandInput);
        return next(args);
      },
      { step: 'initialize', name: 'recordCreateFleet' },
    );
    return {
      provisioner: new Ec2Provisioner({ settings, client: own, log }),
      client: own,
      fleets,
      commands,
      settings,
    };
  }

  async function describeIds(ids: string[]): Promise<Instance[]> {
    const out = await client.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
  }

  const spotPlan: InstancePlan = { id: 'i0', pool: 'c5.large@us-east-1b', slots: 2, maxPricePerHour: 0.05 };
  const onDemandPlan: InstancePlan = { id: 'i1', pool: 'm5.large@us-east-1a', slots: 1, market: 'on-demand' };

  it('launches a schedule on spot and on-demand with CreateFleet: template, overrides, tags, user data', async () => {
    const { provisioner: ec2, fleets } = provisioner();
    const instances = await ec2.provision('job-a', [spotPlan, onDemandPlan]);
    expect(instances.map((i) => i.planId)).toEqual(['i0', 'i1']);
    for (const i of instances) {
      expect(i.id).toMatch(/^i-[0-9a-f]+$/);
      expect(i.taskQueue).toBe(instanceTaskQueue(i.id));
      expect(i.handle).toBe(i.id);
    }

    // The requests: instant fleets, spot capped and prioritised with the schedule's zone first.
    expect(fleets).toHaveLength(2);
    const [spot, onDemand] = fleets;
    expect(spot).toMatchObject({
      Type: 'instant',
      TargetCapacitySpecification: { TotalTargetCapacity: 1, DefaultTargetCapacityType: 'spot' },
      SpotOptions: { AllocationStrategy: 'capacity-optimized-prioritized' },
    });
    expect(spot!.ClientToken).toMatch(/^spotdag-[0-9a-f]{48}$/);
    const overrides = spot!.LaunchTemplateConfigs![0]!.Overrides!;
    expect(overrides.map((o) => [o.InstanceType, o.SubnetId, o.MaxPrice, o.Priority])).toEqual([
      ['c5.large', base.subnets[1]!.subnetId, '0.05', 0],
      ['c5.large', base.subnets[0]!.subnetId, '0.05', 1],
    ]);
    expect(onDemand).toMatchObject({
      TargetCapacitySpecification: { DefaultTargetCapacityType: 'on-demand' },
      OnDemandOptions: { AllocationStrategy: 'prioritized' },
    });
    expect(onDemand!.LaunchTemplateConfigs![0]!.Overrides![0]!.MaxPrice).toBeUndefined();

    // What EC2 launched.
    const [i0, i1] = await describeIds(instances.map((i) => i.id));
    expect(i0).toMatchObject({ InstanceType: 'c5.large', InstanceLifecycle: 'spot' });
    expect(i0!.SubnetId).toBe(base.subnets[1]!.subnetId);
    expect(i1!.InstanceType).toBe('m5.large');
    expect(i1!.InstanceLifecycle).toBeUndefined();
    expect(tagMap(i0!.Tags)).toMatchObject({
      'spotdag:job': 'job-a',
      'spotdag:plan': 'i0',
      'spotdag:generation': '0',
      'spotdag:slots': '2',
      'spotdag:market': 'spot',
      'spotdag:queue': instanceTaskQueue(i0!.InstanceId!),
    });

    // User data starts the worker on its own queue, watching EC2's metadata service.
    const attribute = await client.send(
      new DescribeInstanceAttributeCommand({ InstanceId: i0!.InstanceId!, Attribute: 'userData' }),
    );
    const raw = attribute.UserData?.Value ?? '';
    const script = raw.startsWith('#!') ? raw : Buffer.from(raw, 'base64').toString('utf8');
    expect(script).toContain('--task-queue "spotdag-i-$INSTANCE_ID"');
    expect(script).toContain("IMDS='http://169.254.169.254'");
    expect(script).toContain('--metadata-endpoint "$IMDS"');
    expect(script).toContain('shutdown -h +110');
  });

  it('describes instances by job tag, and ignores instances it did not launch', async () => {
    const { provisioner: ec2 } = provisioner();
    const a = await ec2.provision('job-a', [spotPlan]);
    const b = await ec2.provision('job-b', [spotPlan, onDemandPlan]);
    await client.send(new RunInstancesCommand({ ImageId: base.image!.imageId, MinCount: 1, MaxCount: 1 }));
    const ids = (list: { id: string }[]) => list.map((i) => i.id).sort();
    expect(ids(await ec2.list('job-a'))).toEqual(ids(a));
    expect(ids(await ec2.list('job-b'))).toEqual(ids(b));
    expect(ids(await ec2.list())).toEqual(ids([...a, ...b]));
    expect((await ec2.list('job-b')).find((i) => i.planId === 'i1')?.pool).toBe('m5.large@us-east-1a');
  });

  it('a retried provision launches nothing new', async () => {
    const { provisioner: ec2, fleets } = provisioner();
    const first = await ec2.provision('job-a', [spotPlan, onDemandPlan]);
    const second = await ec2.provision('job-a', [spotPlan, onDemandPlan]);
    expect(second).toEqual(first);
    expect(fleets).toHaveLength(2);
    // A fresh provisioner (a restarted control worker) finds them by tag too.
    const { provisioner: restarted, fleets: none } = provisioner();
    expect(await restarted.provision('job-a', [spotPlan, onDemandPlan])).toEqual(first);
    expect(none).toHaveLength(0);
    // A plan whose instance ended gets its next generation, with a new ClientToken (EC2 would
    // answer a repeated token with the ended instance).
    const { provisioner: other, fleets: again } = provisioner();
    await other.provision('job-b', [spotPlan]);
    await other.release('job-b', await other.list('job-b'));
    const [next] = await other.provision('job-b', [spotPlan]);
    expect(again[1]!.ClientToken).not.toBe(again[0]!.ClientToken);
    expect(tagMap((await describeIds([next!.id]))[0]!.Tags)['spotdag:generation']).toBe('1');
  });

  it('terminates on release, only instances of that job', async () => {
    const { provisioner: ec2 } = provisioner();
    const a = await ec2.provision('job-a', [spotPlan, onDemandPlan]);
    const b = await ec2.provision('job-b', [spotPlan]);
    await ec2.release('job-a', [...a, ...b]);
    expect(await ec2.list('job-a')).toEqual([]);
    expect((await describeIds(a.map((i) => i.id))).map((i) => i.State?.Name)).toEqual([
      'terminated',
      'terminated',
    ]);
    expect((await ec2.list('job-b')).map((i) => i.id)).toEqual(b.map((i) => i.id));
  });

  it('reports an instance that stops running without being released, once, and not the released ones', async () => {
    const logs: string[] = [];
    const { provisioner: ec2, commands } = provisioner(
      { timeouts: { instanceReadySeconds: 480, scheduleToStartSeconds: 900, instanceStatePollSeconds: 1 } },
      (line) => logs.push(line),
    );
    const events: InstanceLostEvent[] = [];
    ec2.watchLost((event) => events.push(event));
    try {
      const [gone, released] = await ec2.provision('job-a', [spotPlan, onDemandPlan]);
      // The watch sees them running first (it reports only instances it saw live).
      await new Promise((r) => setTimeout(r, 2_500));
      const terminatedAt = Date.now();
      await client.send(new TerminateInstancesCommand({ InstanceIds: [gone!.id] }));
      await ec2.release('job-a', [released!]);
      for (const until = Date.now() + 10_000; events.length === 0 && Date.now() < until;)
        await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 2_500)); // nothing more comes
      expect(events).toEqual([
        { jobId: 'job-a', instanceId: gone!.id, reason: 'exited', atMs: expect.any(Number) },
      ]);
      // Within a poll interval (1 s) and a call.
      expect(events[0]!.atMs - terminatedAt).toBeLessThanOrEqual(2_500);
      // The status checks of the running ones were read, and found nothing impaired.
      expect(commands).toContain('DescribeInstanceStatusCommand');
      expect(logs.filter((l) => l.startsWith('instance status checks'))).toEqual([]);
    } finally {
      ec2.close();
    }
  });

  it('replaces a lost instance once: the replacement is the next generation, the lost one is terminated', async () => {
    const { provisioner: ec2 } = provisioner();
    const [lost] = await ec2.provision('job-a', [spotPlan]);
    const replacement = await ec2.replace('job-a', lost!.id);
    expect(replacement.id).not.toBe(lost!.id);
    expect(replacement.planId).toBe('i0');
    expect(await ec2.replace('job-a', lost!.id)).toEqual(replacement);
    const [old, fresh] = await describeIds([lost!.id, replacement.id]);
    expect(old!.State?.Name).toBe('terminated');
    expect(tagMap(fresh!.Tags)).toMatchObject({ 'spotdag:generation': '1', 'spotdag:max-price': '0.05' });
    expect((await ec2.list('job-a')).map((i) => i.id)).toEqual([replacement.id]);
  });

  it('puts a replacement where the re-allocation says: another pool, or on demand', async () => {
    const { provisioner: ec2 } = provisioner();
    const [lost] = await ec2.provision('job-r', [spotPlan]);
    const moved = await ec2.replace('job-r', lost!.id, {
      pool: 'm5.large@us-east-1a',
      market: 'spot',
      maxPricePerHour: 0.04,
    });
    expect(moved.pool).toBe('m5.large@us-east-1a');
    const [fresh] = await describeIds([moved.id]);
    expect(fresh).toMatchObject({ InstanceType: 'm5.large', InstanceLifecycle: 'spot' });
    expect(fresh!.SubnetId).toBe(base.subnets[0]!.subnetId);
    expect(tagMap(fresh!.Tags)).toMatchObject({ 'spotdag:plan': 'i0', 'spotdag:max-price': '0.04' });

    const again = await ec2.replace('job-r', moved.id, { pool: 'c5.large@us-east-1b', market: 'on-demand' });
    const [onDemand] = await describeIds([again.id]);
    expect(onDemand!.InstanceType).toBe('c5.large');
    expect(onDemand!.InstanceLifecycle).toBeUndefined(); // on demand
    expect((await ec2.list('job-r')).map((i) => i.id)).toEqual([again.id]);
  });

  it('relocation re-allocates: the lost pool is penalised and counted, the replacement goes elsewhere', async () => {
    const {
      provisioner: ec2,
      client: own,
      settings,
    } = provisioner({ instanceTypes: ['c5.large', 'm5.large'] });
    const market = new Ec2Market({ settings, client: own });
    const store = await openCheckpointStore('sqlite::memory:');
    try {
      const spec = parseJobSpec({
        ...primesJobSpec(100_000_000, { chunks: 1 }),
        fleet: { provider: 'ec2', instances: 1 },
      });
      const dag = decompose(spec);
      const job: DecomposedJob = {
        jobId: 'job-m',
        name: spec.name,
        fleet: spec.fleet,
        preferences: spec.preferences,
        subTasks: plannedSubTasks(dag, dag.nodes()),
        criticalPathSeconds: 0,
        totalWorkSeconds: 0,
        maxParallelism: 1,
      };
      const ref = await store.putDocument('job-m', Buffer.from(JSON.stringify(job)));
      const [lost] = await ec2.provision('job-m', [spotPlan]);
      const rate = async () =>
        (await market.forecast(spec.fleet, 3600)).pools.find((p) => p.key === spotPlan.pool)!
          .interruptionsPerHour;
      const before = await rate();
      const logged: string[] = [];
      const deps = { provisioner: ec2, market, store, log: (message: string) => void logged.push(message) };

      const placement = await replacementFor(deps, 'job-m', 'count', lost!.id, {
        job: ref,
        savedFraction: 0.5,
      });
      expect(placement).toBeDefined();
      // moto quotes one spot price everywhere: any other pool is as cheap, and the lost one is out.
      expect(placement).toMatchObject({ market: 'spot' });
      expect(placement!.pool).not.toBe(spotPlan.pool);
      expect(await rate()).toBeGreaterThan(before); // the interruption reached the forecast model
      const moved = await ec2.replace('job-m', lost!.id, placement);
      expect(moved.pool).toBe(placement!.pool);

      // A job whose plan is not in a store: the replacement stays in the lost pool, and says why.
      expect(await replacementFor(deps, 'job-m', 'count', moved.id, {})).toBeUndefined();
      expect(logged).toEqual([
        'replacement stays in the lost pool: the job plan is not in a checkpoint store',
      ]);
    } finally {
      await store.close();
    }
  });

  describe('on-demand fallback (refusals injected at the SDK client, since moto never refuses capacity)', () => {
    it('falls back when spot CreateFleet throws InsufficientInstanceCapacity', async () => {
      const { provisioner: ec2, client: own, fleets } = provisioner();
      // Injected: the spot CreateFleet call fails the way EC2 fails it; moto never sees it.
      own.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as CreateFleetCommandInput;
          if (
            context.commandName === 'CreateFleetCommand' &&
            input.TargetCapacitySpecification?.DefaultTargetCapacityType === 'spot'
          )
            throw new EC2ServiceException({
              name: 'InsufficientInstanceCapacity',
              $fault: 'server',
              $metadata: { httpStatusCode: 400 },
              message: 'There is no Spot capacity available that matches your request.',
            });
          return next(args);
        },
        { step: 'initialize', name: 'refuseSpot', priority: 'low' },
      );
      const [instance] = await ec2.provision('job-a', [spotPlan]);
      expect(fleets.map((f) => f.TargetCapacitySpecification?.DefaultTargetCapacityType)).toEqual([
        'spot',
        'on-demand',
      ]);
      const [launched] = await describeIds([instance!.id]);
      expect(launched!.InstanceLifecycle).toBeUndefined();
      expect(tagMap(launched!.Tags)['spotdag:market']).toBe('spot');
    });

    it('falls back when spot CreateFleet reports MaxSpotInstanceCountExceeded in its Errors array', async () => {
      const { provisioner: ec2, client: own } = provisioner();
      // Injected: an instant fleet's answer when EC2 refuses spot: no instances, an Errors entry.
      own.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as CreateFleetCommandInput;
          if (
            context.commandName === 'CreateFleetCommand' &&
            input.TargetCapacitySpecification?.DefaultTargetCapacityType === 'spot'
          )
            return {
              response: {},
              output: {
                $metadata: {},
                FleetId: 'fleet-refused',
                Instances: [],
                Errors: [
                  { Lifecycle: 'spot', ErrorCode: 'MaxSpotInstanceCountExceeded', ErrorMessage: 'limit' },
                ],
              },
            };
          return next(args);
        },
        { step: 'initialize', name: 'refuseSpotInErrors', priority: 'low' },
      );
      const [instance] = await ec2.provision('job-a', [spotPlan]);
      expect((await describeIds([instance!.id]))[0]!.InstanceLifecycle).toBeUndefined();
    });

    it('launches nothing, with NoCapacity, when the settings forbid the fallback', async () => {
      const { provisioner: ec2, client: own, fleets } = provisioner({ onDemandFallback: false });
      // Injected: every CreateFleet is refused (an Errors entry, no instances); other calls reach moto.
      own.middlewareStack.add(
        (next, context) => async (args) =>
          context.commandName === 'CreateFleetCommand'
            ? {
                response: {},
                output: {
                  $metadata: {},
                  Instances: [],
                  Errors: [{ ErrorCode: 'InsufficientInstanceCapacity' }],
                },
              }
            : next(args),
        { step: 'initialize', name: 'refuseFleets', priority: 'low' },
      );
      await expect(ec2.provision('job-a', [spotPlan])).rejects.toBeInstanceOf(NoCapacityError);
      expect(fleets).toHaveLength(1);
      expect(await ec2.list('job-a')).toEqual([]);
    });
  });

  it('backs off and retries a throttled CreateFleet (RequestLimitExceeded, injected at the client)', async () => {
    const { provisioner: ec2, client: own } = provisioner();
    let throttled = 0;
    // Injected below the SDK's retry middleware, so its backoff sees the throttling errors.
    own.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'CreateFleetCommand' && throttled < 2) {
          throttled++;
          throw new EC2ServiceException({
            name: 'RequestLimitExceeded',
            $fault: 'client',
            $metadata: { httpStatusCode: 503 },
            message: 'Request limit exceeded.',
          });
        }
        return next(args);
      },
      { step: 'deserialize', name: 'throttle', priority: 'low' },
    );
    const [instance] = await ec2.provision('job-a', [spotPlan]);
    expect(throttled).toBe(2);
    expect(instance!.id).toMatch(/^i-/);
  });

  it('refuses, launching nothing, a schedule over the instance cap or the spend cap', async () => {
    const plans = [spotPlan, onDemandPlan, { ...spotPlan, id: 'i2' }];
    const capped = provisioner({ limits: { maxInstances: 2, maxSpendUsd: 100, maxInstanceHours: 2 } });
    await expect(capped.provisioner.provision('job-a', plans)).rejects.toBeInstanceOf(
      InstanceCapExceededError,
    );
    expect(capped.fleets).toHaveLength(0);

    // Worst case: c5.large spot with on-demand fallback 0.085 × 2 h, m5.large 0.096 × 2 h, per plan.
    const poor = provisioner({ limits: { maxInstances: 10, maxSpendUsd: 0.5, maxInstanceHours: 2 } });
    const err = await poor.provisioner.provision('job-a', plans).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpendCapExceededError);
    expect((err as SpendCapExceededError).requestedUsd).toBeCloseTo(0.17 + 0.192 + 0.17, 6);
    expect(poor.fleets).toHaveLength(0);

    // Two of them fit; the replacement of one would not.
    const [first] = await poor.provisioner.provision('job-a', [spotPlan, onDemandPlan]);
    await expect(poor.provisioner.replace('job-a', first!.id)).rejects.toBeInstanceOf(SpendCapExceededError);
    expect(poor.provisioner.guard.committedUsd('job-a')).toBeCloseTo(0.362, 6);
  });

  it('spotdag cleanup --job terminates everything tagged with the job', async () => {
    const { provisioner: ec2 } = provisioner();
    const a = await ec2.provision('job-a', [spotPlan, onDemandPlan]);
    const b = await ec2.provision('job-b', [spotPlan]);
    const lines: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    try {
      const program = new Command('spotdag').exitOverride();
      registerCleanup(program);
      await program.parseAsync(
        ['cleanup', '--job', 'job-a', '--json', '--region', 'us-east-1', '--endpoint', moto.endpoint],
        { from: 'user' },
      );
    } finally {
      log.mockRestore();
    }
    const out = JSON.parse(lines.join('\n')) as { job: string; terminated: Array<{ instanceId: string }> };
    expect(out.job).toBe('job-a');
    expect(out.terminated.map((i) => i.instanceId).sort()).toEqual(a.map((i) => i.id).sort());
    expect(await ec2.list('job-a')).toEqual([]);
    expect((await ec2.list('job-b')).map((i) => i.id)).toEqual(b.map((i) => i.id));
  });
});
