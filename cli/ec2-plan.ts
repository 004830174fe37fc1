import { allocate, formatScheduleTable, type SpotdagSchedule } from '../src/allocate';
import { decompose, type JobSpec } from '../src/dag';
import { marketAllocationForecast } from '../src/job/allocation-input';
import { Ec2Market } from '../src/job/ec2-market-view';
import { createEc2Client } from '../src/provision/ec2-client';
import type { Ec2Settings } from '../src/provision/ec2-settings';
import { dryRun } from './commands/ec2';

/** The horizon the job's forecastMarket activity uses by default. */
const FORECAST_HORIZON_SECONDS = 24 * 3600;

export interface Ec2JobPlan {
  jobId: string;
  schedule: SpotdagSchedule;
  /** What `spotdag ec2 dry-run` prints for the schedule: the exact EC2 requests, spend and caps. */
  requests: ReturnType<typeof dryRun>;
}

/**
 * What `spotdag run --provider ec2 --dry-run` shows: the job planned as its activities would plan
 * it now (EC2's market data, the allocator) and the requests provisioning would send. Only reads
 * from EC2 (DescribeInstanceTypes, DescribeSpotPriceHistory); launches nothing.
 */
export async function planEc2Job(spec: JobSpec, jobId: string, settings: Ec2Settings): Promise<Ec2JobPlan> {
  const client = createEc2Client(settings);
  try {
    const market = new Ec2Market({ settings, client });
    const view = await market.forecast(spec.fleet, FORECAST_HORIZON_SECONDS);
    const schedule = allocate(
      decompose(spec),
      marketAllocationForecast(view),
      market.fleetModel(spec.fleet),
      spec.preferences,
    );
    return { jobId, schedule, requests: dryRun(jobId, schedule.instances, settings) };
  } finally {
    client.destroy();
  }
}

export function formatEc2JobPlan(plan: Ec2JobPlan): string {
  return `${formatScheduleTable(plan.schedule)}\nEC2 requests (nothing is launched):\n${JSON.stringify(plan.requests, null, 2)}\n`;
}
