import { formatScheduleTable, type SpotdagSchedule } from '../src/allocate';
import { horizonSeconds } from '../src/allocate/preferences';
import { controllerFleetOf, marketAllocationForecast } from '../src/job/allocation-input';
import { firstDecision, type PreparedJob } from '../src/planning/pipeline';
import { Ec2Market } from '../src/job/ec2-market-view';
import type { InstanceMarket } from '../src/job/instance-market';
import { InterruptionModel } from '../src/forecast/interruption';
import { createEc2Client } from '../src/provision/ec2-client';
import type { Ec2Settings } from '../src/provision/ec2-settings';
import { dryRun } from './commands/ec2';

export interface Ec2JobPlan {
  jobId: string;
  schedule: SpotdagSchedule;
  /** What `spotdag ec2 dry-run` prints for the schedule: the exact EC2 requests, spend and caps. */
  requests: ReturnType<typeof dryRun>;
}

/**
 * What `spotdag run --provider ec2 --dry-run` shows: the runtime controller's first decision as
 * the job's decide activity would make it now (EC2's market data over the spec's horizon, the
 * market's seed interruption model) and the requests provisioning would send. Only reads from EC2
 * (DescribeInstanceTypes, DescribeSpotPriceHistory); launches nothing.
 */
export async function planEc2Job(
  prepared: PreparedJob,
  jobId: string,
  settings: Ec2Settings,
): Promise<Ec2JobPlan> {
  const { spec, dag } = prepared;
  const client = createEc2Client(settings);
  try {
    const market: InstanceMarket = new Ec2Market({ settings, client });
    const context = { jobId, jobStartMs: Date.now() };
    const view = await market.forecast(spec.fleet, horizonSeconds(spec.preferences), context);
    const forecast = marketAllocationForecast(view, {
      model: market.seedModel?.(view, context) ?? new InterruptionModel(),
      startMs: context.jobStartMs,
    });
    const fleet = controllerFleetOf(market.fleetModel(spec.fleet), market.timing());
    const { schedule } = firstDecision(dag, spec.preferences, forecast, fleet);
    return { jobId, schedule, requests: dryRun(jobId, schedule.instances, settings) };
  } finally {
    client.destroy();
  }
}

export function formatEc2JobPlan(plan: Ec2JobPlan): string {
  return `${formatScheduleTable(plan.schedule)}\nEC2 requests (nothing is launched):\n${JSON.stringify(plan.requests, null, 2)}\n`;
}
