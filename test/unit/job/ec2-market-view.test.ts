import { allocate } from '../../../src/allocate';
import { decompose, parseJobSpec } from '../../../src/dag';
import { localFleetModel, marketAllocationForecast } from '../../../src/job/allocation-input';
import { buildEc2MarketView, Ec2Market, type Ec2MarketData } from '../../../src/job/ec2-market-view';
import type { MarketView } from '../../../src/job/types';
import { bandRatePerHour } from '../../../src/forecast';
import { parseSpotAdvisor, type PriceSeries } from '../../../src/market';
import { Ec2SettingsError } from '../../../src/provision/ec2-errors';
import { parseEc2Settings } from '../../../src/provision/ec2-settings';
import { primesJobSpec } from '../../../src/steps';

const NOW = Date.UTC(2025, 0, 8);
const HOUR = 3_600_000;

/** A week of hourly prices ending at NOW, with a daily wave. */
function series(instanceType: string, zone: string, base: number): PriceSeries {
  const values = Array.from({ length: 169 }, (_, i) => base * (1 + 0.1 * Math.sin((2 * Math.PI * i) / 24)));
  return {
    pool: { instanceType, region: 'us-east-1', zone },
    startMs: NOW - 168 * HOUR,
    stepSeconds: 3600,
    values,
  };
}

const advisor = parseSpotAdvisor({
  ranges: [0, 1, 2, 3, 4].map((index) => ({ index, label: `band ${index}`, max: 5 * (index + 1) })),
  instance_types: { 'c5.large': { cores: 2, ram_gb: 4 }, 'm5.large': { cores: 2, ram_gb: 8 } },
  spot_advisor: { 'us-east-1': { Linux: { 'c5.large': { s: 60, r: 0 }, 'm5.large': { s: 50, r: 4 } } } },
});

function data(overrides: Partial<Ec2MarketData> = {}): Ec2MarketData {
  return {
    nowMs: NOW,
    region: 'us-east-1',
    zones: ['us-east-1a', 'us-east-1b'],
    instanceTypes: [
      { instanceType: 'c5.large', vcpu: 2, memoryMiB: 4096, onDemandByRegion: { 'us-east-1': 0.085 } },
      { instanceType: 'm5.large', vcpu: 2, memoryMiB: 8192, onDemandByRegion: { 'us-east-1': 0.096 } },
    ],
    series: [
      series('c5.large', 'us-east-1a', 0.03),
      series('c5.large', 'us-east-1b', 0.035),
      series('m5.large', 'us-east-1a', 0.04),
      series('m5.large', 'us-east-1b', 0.045),
    ],
    advisor,
    ...overrides,
  };
}

describe('the EC2 market view', () => {
  it('has one spot pool per instance type × zone: prices from now, forecasts, on-demand price, prior rates', () => {
    const view = buildEc2MarketView(data(), { horizonSeconds: 24 * 3600 });
    expect(view.generatedAtMs).toBe(NOW);
    expect(view.pools.map((p) => p.key)).toEqual([
      'c5.large@us-east-1a',
      'c5.large@us-east-1b',
      'm5.large@us-east-1a',
      'm5.large@us-east-1b',
    ]);
    const [c5a, , m5a] = view.pools;
    expect(c5a).toMatchObject({
      instanceType: 'c5.large',
      zone: 'us-east-1a',
      region: 'us-east-1',
      market: 'spot',
      vcpu: 2,
      memoryMiB: 4096,
      stepSeconds: 3600,
      onDemandPricePerHour: 0.085,
    });
    // Now's price first, then the 24 hourly steps of the forecast.
    expect(c5a!.pricePerHour).toHaveLength(25);
    expect(c5a!.pricePerHour[0]).toBeCloseTo(0.03, 6);
    expect(c5a!.upperPricePerHour!.every((u, i) => u >= c5a!.pricePerHour[i]!)).toBe(true);
    // Spot Advisor bands: "<5%" for c5.large, ">20%" a month for m5.large.
    expect(c5a!.interruptionsPerHour).toBeCloseTo(bandRatePerHour(0), 9);
    expect(m5a!.interruptionsPerHour).toBeCloseTo(bandRatePerHour(4), 9);
  });

  it('without Spot Advisor data, every pool has the interruption model’s default prior', () => {
    const view = buildEc2MarketView(data({ advisor: undefined }), { horizonSeconds: 3600 });
    expect(new Set(view.pools.map((p) => p.interruptionsPerHour))).toEqual(new Set([bandRatePerHour(1)]));
  });

  it('counts interruptions spotdag saw on top of the prior: that pool’s rate goes up, others stay', () => {
    const before = buildEc2MarketView(data(), { horizonSeconds: 3600 });
    const observed = new Map([['c5.large@us-east-1a', { exposureSeconds: 1800, interruptions: 1 }]]);
    const after = buildEc2MarketView(data({ observed }), { horizonSeconds: 3600 });
    const rate = (view: MarketView, key: string) =>
      view.pools.find((p) => p.key === key)!.interruptionsPerHour;
    expect(rate(after, 'c5.large@us-east-1a')).toBeGreaterThan(rate(before, 'c5.large@us-east-1a'));
    expect(rate(after, 'c5.large@us-east-1b')).toBe(rate(before, 'c5.large@us-east-1b'));
  });

  it('leaves out pools without price history or on-demand price, and fails naming why when none is left', () => {
    const partial = data({
      instanceTypes: [
        { instanceType: 'c5.large', vcpu: 2, memoryMiB: 4096, onDemandByRegion: { 'us-east-1': 0.085 } },
        { instanceType: 'm5.large', vcpu: 2, memoryMiB: 8192, onDemandByRegion: {} },
      ],
      series: [series('c5.large', 'us-east-1b', 0.03), series('m5.large', 'us-east-1a', 0.04)],
    });
    expect(buildEc2MarketView(partial, { horizonSeconds: 3600 }).pools.map((p) => p.key)).toEqual([
      'c5.large@us-east-1b',
    ]);
    const none = { ...partial, series: [series('m5.large', 'us-east-1a', 0.04)] };
    expect(() => buildEc2MarketView(none, { horizonSeconds: 3600 })).toThrow(Ec2SettingsError);
    expect(() => buildEc2MarketView(none, { horizonSeconds: 3600 })).toThrow(
      /c5\.large@us-east-1a: no spot price history.*m5\.large@us-east-1a: no on-demand price \(onDemandPricesPerHour\.m5\.large\)/,
    );
  });
});

describe('allocating on the EC2 market view', () => {
  const spec = parseJobSpec({
    ...primesJobSpec(1e9, { chunks: 6 }),
    fleet: { provider: 'ec2', instances: 2 },
  });

  it('schedules on EC2 pools, with markets and price caps the provisioner launches with', () => {
    const view = buildEc2MarketView(data(), { horizonSeconds: 24 * 3600 });
    const settings = parseEc2Settings({
      region: 'us-east-1',
      subnets: [{ subnetId: 'subnet-a', zone: 'us-east-1a' }],
      image: { imageId: 'ami-1' },
      worker: { temporalAddress: 'temporal:7233' },
      limits: { maxInstances: 4, maxSpendUsd: 5, maxInstanceHours: 2 },
    });
    const fleet = new Ec2Market({ settings, client: undefined as never }).fleetModel(spec.fleet);
    expect(fleet).toEqual({ maxInstances: 2 });
    const schedule = allocate(decompose(spec), marketAllocationForecast(view), fleet, spec.preferences);
    const keys = new Set(view.pools.map((p) => p.key));
    expect(schedule.instances.length).toBeGreaterThan(0);
    expect(schedule.instances.length).toBeLessThanOrEqual(2);
    for (const i of schedule.instances) {
      expect(keys.has(i.pool)).toBe(true);
      expect(['spot', 'on-demand']).toContain(i.market);
      const pool = view.pools.find((p) => p.key === i.pool)!;
      expect(i.maxPricePerHour).toBeGreaterThan(0);
      expect(i.maxPricePerHour).toBeLessThanOrEqual(pool.onDemandPricePerHour! + 1e-12);
    }
    expect(schedule.placements).toHaveLength(7);
    expect(schedule.predictedCostUsd).toBeGreaterThan(0);
  });

  it('caps the fleet model at limits.maxInstances', () => {
    const settings = parseEc2Settings({
      region: 'us-east-1',
      subnets: [{ subnetId: 'subnet-a', zone: 'us-east-1a' }],
      image: { imageId: 'ami-1' },
      worker: { temporalAddress: 'temporal:7233' },
      limits: { maxInstances: 1, maxSpendUsd: 5, maxInstanceHours: 2 },
    });
    const market = new Ec2Market({ settings, client: undefined as never });
    expect(market.fleetModel({ ...spec.fleet, instances: 8 })).toEqual({ maxInstances: 1 });
  });

  it('keeps the local fleet’s one free pool as before', () => {
    const local: MarketView = {
      generatedAtMs: NOW,
      horizonSeconds: 3600,
      pools: [
        {
          key: 'local@localhost',
          instanceType: 'local',
          zone: 'localhost',
          market: 'local',
          vcpu: 1,
          memoryMiB: 1024,
          pricePerHour: [0],
          stepSeconds: 3600,
          interruptionsPerHour: 0,
        },
      ],
    };
    const localSpec = parseJobSpec(primesJobSpec(1e6, { chunks: 3, instances: 2 }));
    const schedule = allocate(
      decompose(localSpec),
      marketAllocationForecast(local),
      localFleetModel(localSpec.fleet),
      localSpec.preferences,
    );
    expect(new Set(schedule.instances.map((i) => i.pool))).toEqual(new Set(['local@localhost']));
    expect(schedule.predictedCostUsd).toBe(0);
  });
});
