import { InstanceCatalog } from '../../../src/market';
import { Ec2SettingsError, PriceUnknownError } from '../../../src/provision/ec2-errors';
import {
  clientToken,
  createFleetRequest,
  launchSlot,
  parsePoolKey,
  planLaunch,
  priceBound,
} from '../../../src/provision/ec2-fleet-request';
import { parseEc2Settings, type Ec2SettingsInput } from '../../../src/provision/ec2-settings';

const input: Ec2SettingsInput = {
  region: 'us-east-1',
  subnets: [
    { subnetId: 'subnet-a', zone: 'us-east-1a' },
    { subnetId: 'subnet-b', zone: 'us-east-1b' },
    { subnetId: 'subnet-c', zone: 'us-east-1c' },
  ],
  launchTemplate: { name: 'workers' },
  allocationStrategy: 'capacity-optimized-prioritized',
  onDemandPricesPerHour: { 'c5.large': 0.085 },
  limits: { maxInstances: 10, maxSpendUsd: 100, maxInstanceHours: 4 },
};
const settings = parseEc2Settings(input);

describe('EC2 fleet requests (pure: what the provisioner and the dry run send)', () => {
  it('reads instance type and zone from pool keys', () => {
    expect(parsePoolKey('c5.large@us-east-1a')).toEqual({ instanceType: 'c5.large', zone: 'us-east-1a' });
    expect(parsePoolKey('local@localhost')).toEqual({ instanceType: undefined, zone: 'localhost' });
    expect(() => launchSlot('j', { id: 'i0', pool: 'local@localhost', slots: 1 }, 0, settings)).toThrow(
      Ec2SettingsError,
    );
    const slot = launchSlot(
      'j',
      { id: 'i0', pool: 'local@localhost', slots: 1 },
      0,
      parseEc2Settings({ ...input, defaultInstanceType: 'm5.large' }),
    );
    expect(slot).toMatchObject({
      instanceType: 'm5.large',
      zone: undefined,
      pool: 'm5.large@us-east-1',
      market: 'spot',
    });
  });

  it('derives a deterministic ClientToken per job, plan, generation and market', () => {
    const slot = launchSlot('job-1', { id: 'i0', pool: 'c5.large@us-east-1a', slots: 1 }, 0, settings);
    const token = clientToken(slot, 'spot');
    expect(token).toBe(clientToken({ ...slot }, 'spot'));
    expect(token.length).toBeLessThanOrEqual(64);
    expect(token).toMatch(/^[\x21-\x7e]+$/);
    expect(
      new Set([token, clientToken(slot, 'on-demand'), clientToken({ ...slot, generation: 1 }, 'spot')]).size,
    ).toBe(3);
    expect(clientToken({ ...slot, jobId: 'job-2' }, 'spot')).not.toBe(token);
  });

  it('caps spot at the plan price, never above on-demand; on-demand at its price', () => {
    const slot = (maxPricePerHour?: number) =>
      launchSlot('j', { id: 'i0', pool: 'c5.large@us-east-1a', slots: 1, maxPricePerHour }, 0, settings);
    expect(priceBound(slot(0.031234567), 'spot', settings)).toBe(0.031234);
    expect(priceBound(slot(0.5), 'spot', settings)).toBe(0.085);
    expect(priceBound(slot(), 'spot', settings)).toBe(0.085);
    expect(priceBound(slot(), 'on-demand', settings)).toBe(0.085);
    const unknown = launchSlot('j', { id: 'i0', pool: 'r5.large@us-east-1a', slots: 1 }, 0, settings);
    expect(priceBound(unknown, 'spot', settings)).toBeUndefined();
    const catalog = new InstanceCatalog([
      { instanceType: 'r5.large', vcpu: 2, memoryMiB: 16384, onDemandByRegion: { 'us-east-1': 0.126 } },
    ]);
    expect(priceBound(unknown, 'on-demand', settings, { catalog })).toBe(0.126);
  });

  it('orders overrides: the schedule zone first, then by pool score; priorities only when prioritised', () => {
    const slot = launchSlot('j', { id: 'i0', pool: 'c5.large@us-east-1b', slots: 1 }, 0, settings);
    const scores = { 'c5.large@us-east-1c': 0.9, 'c5.large@us-east-1a': 0.2 };
    const request = createFleetRequest(slot, 'spot', 0.04, settings, { poolScores: scores });
    expect(request.LaunchTemplateConfigs![0]!.Overrides).toEqual([
      { InstanceType: 'c5.large', SubnetId: 'subnet-b', MaxPrice: '0.04', Priority: 0 },
      { InstanceType: 'c5.large', SubnetId: 'subnet-c', MaxPrice: '0.04', Priority: 1 },
      { InstanceType: 'c5.large', SubnetId: 'subnet-a', MaxPrice: '0.04', Priority: 2 },
    ]);
    expect(request.LaunchTemplateConfigs![0]!.LaunchTemplateSpecification).toEqual({
      LaunchTemplateName: 'workers',
      Version: '$Default',
    });
    const pco = parseEc2Settings({ ...input, allocationStrategy: 'price-capacity-optimized' });
    const plain = createFleetRequest(slot, 'on-demand', 0.085, pco);
    expect(plain.OnDemandOptions).toEqual({ AllocationStrategy: 'lowest-price' });
    expect(
      plain.LaunchTemplateConfigs![0]!.Overrides!.every((o) => o.Priority === undefined && !o.MaxPrice),
    ).toBe(true);
  });

  it('plans spot then on-demand, reserving the worse of the two for the whole lifetime', () => {
    const slot = launchSlot(
      'j',
      { id: 'i0', pool: 'c5.large@us-east-1a', slots: 1, maxPricePerHour: 0.03 },
      0,
      settings,
    );
    const plan = planLaunch(slot, settings);
    expect(plan.attempts.map((a) => [a.market, a.pricePerHourBound])).toEqual([
      ['spot', 0.03],
      ['on-demand', 0.085],
    ]);
    expect(plan.worstCaseUsd).toBeCloseTo(0.34, 10);

    const noFallback = planLaunch(slot, parseEc2Settings({ ...input, onDemandFallback: false }));
    expect(noFallback.attempts.map((a) => a.market)).toEqual(['spot']);
    expect(noFallback.worstCaseUsd).toBeCloseTo(0.12, 10);

    // Spot capped by the plan, but no on-demand price known: the fallback is not tried.
    const r5 = launchSlot(
      'j',
      { id: 'i1', pool: 'r5.large@us-east-1a', slots: 1, maxPricePerHour: 0.05 },
      0,
      settings,
    );
    expect(planLaunch(r5, settings).attempts.map((a) => a.market)).toEqual(['spot']);
    expect(planLaunch(r5, settings).notes[0]).toMatch(/no on-demand price bound/);
    const bare = launchSlot('j', { id: 'i2', pool: 'r5.large@us-east-1a', slots: 1 }, 0, settings);
    expect(() => planLaunch(bare, settings)).toThrow(PriceUnknownError);
  });
});
