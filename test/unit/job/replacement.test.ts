import { allocate, preferencesSchema } from '../../../src/allocate';
import { decompose, parseJobSpec } from '../../../src/dag';
import { marketAllocationForecast, plannedDag, plannedSubTasks } from '../../../src/job/allocation-input';
import { buildEc2MarketView, type Ec2MarketData } from '../../../src/job/ec2-market-view';
import { replacementPlacement } from '../../../src/job/replacement';
import type { DecomposedJob } from '../../../src/job/types';
import type { PriceSeries } from '../../../src/market';
import { primesJobSpec } from '../../../src/steps';

const NOW = Date.UTC(2025, 0, 8);
const HOUR = 3_600_000;

function series(instanceType: string, zone: string, price: number): PriceSeries {
  return {
    pool: { instanceType, region: 'us-east-1', zone },
    startMs: NOW - 168 * HOUR,
    stepSeconds: 3600,
    values: new Array<number>(169).fill(price),
  };
}

const data: Ec2MarketData = {
  nowMs: NOW,
  region: 'us-east-1',
  zones: ['us-east-1a', 'us-east-1b'],
  instanceTypes: [
    { instanceType: 'c5.large', vcpu: 2, memoryMiB: 4096, onDemandByRegion: { 'us-east-1': 0.085 } },
  ],
  series: [series('c5.large', 'us-east-1a', 0.03), series('c5.large', 'us-east-1b', 0.036)],
};

function job(): DecomposedJob {
  const spec = parseJobSpec(primesJobSpec(10_000_000_000, { chunks: 1, instances: 1 }));
  const dag = decompose(spec);
  const subTasks = plannedSubTasks(dag, dag.nodes());
  return {
    jobId: 'j',
    name: spec.name,
    fleet: { ...spec.fleet, provider: 'ec2' },
    preferences: preferencesSchema.parse({ objective: 'minimize-cost' }),
    subTasks,
    criticalPathSeconds: 0,
    totalWorkSeconds: 0,
    maxParallelism: 1,
  };
}

describe('replacementPlacement', () => {
  const market = buildEc2MarketView(data, { horizonSeconds: 24 * 3600 });
  const planned = job();
  const count = planned.subTasks.find((s) => s.stage === 'count')!;

  it('first plans on the cheapest spot pool, then moves a lost instance’s work off that pool', () => {
    const first = allocate(plannedDag(planned), marketAllocationForecast(market), {}, planned.preferences);
    const placed = first.instances.find((i) =>
      first.placements.some((p) => p.subTaskId === count.id && p.instanceId === i.id),
    )!;
    expect(placed).toMatchObject({ pool: 'c5.large@us-east-1a', market: 'spot' });

    const replacement = replacementPlacement({
      subTask: count,
      savedFraction: 0.5,
      market,
      fleet: {},
      preferences: planned.preferences,
      lostPool: placed.pool,
    });
    expect(replacement).toEqual({
      pool: 'c5.large@us-east-1b',
      market: 'spot',
      maxPricePerHour: expect.any(Number),
    });
  });

  it('goes on demand when the only spot pool was the lost one', () => {
    const onePool = buildEc2MarketView(
      { ...data, zones: ['us-east-1a'], series: [data.series[0]!] },
      { horizonSeconds: 24 * 3600 },
    );
    const replacement = replacementPlacement({
      subTask: count,
      savedFraction: 0,
      market: onePool,
      fleet: {},
      preferences: planned.preferences,
      lostPool: 'c5.large@us-east-1a',
    });
    expect(replacement).toEqual({
      pool: 'c5.large@us-east-1a',
      market: 'on-demand',
      maxPricePerHour: expect.any(Number),
    });
  });
});
