/**
 * The EC2 market as the job's forecast activity sees it: one pool per (instance type, zone) of the
 * EC2 settings, each with a spot price forecast from DescribeSpotPriceHistory (the ensemble of
 * src/forecast), the on-demand price of the same capacity, and an interruption rate from the
 * Spot Advisor prior when the settings name its data (src/forecast InterruptionModel).
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { AllocationFleet } from '../allocate';
import { forecastPrices, InterruptionModel } from '../forecast';
import {
  advisorBand,
  loadSpotAdvisor,
  poolKey,
  type InstanceTypeEntry,
  type Pool,
  type PriceSeries,
  type SpotAdvisorData,
} from '../market';
import { Ec2SettingsError } from '../provision/ec2-errors';
import { fetchInstanceTypes, fetchSpotPriceSeries } from '../provision/ec2-market';
import { plannedInstanceTypes, type Ec2Settings } from '../provision/ec2-settings';
import type { FleetSpec } from '../provision/fleet';
import type { MarketTiming, InstanceMarket } from './instance-market';
import type { MarketView, PoolView } from './types';

/** What EC2 said about the planned pools, as of `nowMs`. */
export interface Ec2MarketData {
  nowMs: number;
  region: string;
  zones: string[];
  /** DescribeInstanceTypes, with on-demand prices where the settings know them. */
  instanceTypes: InstanceTypeEntry[];
  /** Spot price series per pool, on one grid whose last point is `nowMs`. */
  series: PriceSeries[];
  /** Spot Advisor data: the prior of each type's interruption rate. */
  advisor?: SpotAdvisorData;
  /** Interruptions spotdag saw itself, per pool key: evidence on top of the prior. */
  observed?: Map<string, ObservedInterruptions>;
}

/** Spot capacity spotdag ran in a pool and the interruptions it got there. */
export interface ObservedInterruptions {
  exposureSeconds: number;
  interruptions: number;
}

export interface Ec2MarketViewOptions {
  horizonSeconds: number;
}

/** Why a pool was left out of the view, or undefined when it is usable. */
function missing(pool: Pool, series: PriceSeries | undefined, onDemand: number | undefined) {
  if (!series || series.values.length === 0) return `${poolKey(pool)}: no spot price history`;
  if (!(onDemand !== undefined && onDemand > 0))
    return `${poolKey(pool)}: no on-demand price (onDemandPricesPerHour.${pool.instanceType})`;
  return undefined;
}

/**
 * The market view of the planned pools. Each pool's prices start at `nowMs` with the last
 * observed price, then follow the forecast (mean, and the upper quantile MaxPrice is based on).
 * A pool without price history or on-demand price is left out (an on-demand price is what bounds
 * the spend of on-demand launches); none left is a settings error listing why.
 */
export function buildEc2MarketView(data: Ec2MarketData, options: Ec2MarketViewOptions): MarketView {
  const seriesByPool = new Map(data.series.map((s) => [poolKey(s.pool), s]));
  const interruptions = new InterruptionModel();
  const pools: PoolView[] = [];
  const leftOut: string[] = [];
  for (const type of data.instanceTypes) {
    const onDemand = type.onDemandByRegion[data.region];
    const band = data.advisor && advisorBand(data.advisor, data.region, type.instanceType);
    for (const zone of data.zones) {
      const pool: Pool = { instanceType: type.instanceType, region: data.region, zone };
      const series = seriesByPool.get(poolKey(pool));
      const why = missing(pool, series, onDemand);
      if (why) {
        leftOut.push(why);
        continue;
      }
      if (band !== undefined) interruptions.setPriorBand(pool, band);
      const seen = data.observed?.get(poolKey(pool));
      if (seen) interruptions.observe(pool, seen.exposureSeconds, seen.interruptions);
      const forecast = forecastPrices(series!, { horizonSeconds: options.horizonSeconds });
      const current = series!.values.at(-1)!;
      pools.push({
        key: poolKey(pool),
        instanceType: pool.instanceType,
        zone,
        region: data.region,
        market: 'spot',
        vcpu: type.vcpu,
        memoryMiB: type.memoryMiB,
        pricePerHour: [current, ...forecast.mean],
        upperPricePerHour: [current, ...forecast.upper],
        stepSeconds: forecast.stepSeconds,
        interruptionsPerHour: interruptions.hazardPerHour(pool),
        onDemandPricePerHour: onDemand,
      });
    }
  }
  if (pools.length === 0)
    throw new Ec2SettingsError(`no EC2 pool to plan on: ${leftOut.join('; ') || 'no instance types'}`);
  return { generatedAtMs: data.nowMs, horizonSeconds: options.horizonSeconds, pools };
}

export interface Ec2MarketOptions {
  settings: Ec2Settings;
  client: EC2Client;
  /** Spot price history read per forecast (default 7 days), on a grid of `stepSeconds` (default 1 h). */
  historyDays?: number;
  stepSeconds?: number;
  /** Default: `settings.spotAdvisorFile`, read once. */
  advisor?: SpotAdvisorData;
  now?: () => number;
}

/** Reads what the view needs from EC2: instance types, and spot prices of the planned pools. */
export async function fetchEc2MarketData(options: Ec2MarketOptions): Promise<Ec2MarketData> {
  const { settings, client } = options;
  const nowMs = (options.now ?? Date.now)();
  const stepSeconds = options.stepSeconds ?? 3600;
  const steps = Math.round(((options.historyDays ?? 7) * 86_400) / stepSeconds);
  // The grid ends exactly at now, so the view's first price is the price in force now.
  const startMs = nowMs - steps * stepSeconds * 1000;
  const instanceTypes = plannedInstanceTypes(settings);
  const zones = [...new Set(settings.subnets.map((s) => s.zone))];
  const [types, series] = await Promise.all([
    fetchInstanceTypes(client, {
      instanceTypes,
      region: settings.region,
      onDemandPrices: settings.onDemandPricesPerHour,
    }),
    fetchSpotPriceSeries(
      client,
      { startTime: new Date(startMs), endTime: new Date(nowMs), instanceTypes, zones },
      { stepSeconds, startMs, endMs: nowMs + 1 },
    ),
  ]);
  return { nowMs, region: settings.region, zones, instanceTypes: types, series, advisor: options.advisor };
}

/**
 * The EC2 provider's market for the planning activities: a fresh view from EC2 per job, and the
 * machine model (at most `limits.maxInstances` at once, the allocator's default boot time).
 */
/** EC2's notice (2 min), the shortest tick worth a decision, and how long a lost pool is avoided. */
export const EC2_TIMING: MarketTiming = { noticeSeconds: 120, minTickSeconds: 60, penaltySeconds: 1800 };

export class Ec2Market implements InstanceMarket {
  readonly provider = 'ec2';
  readonly id: string;
  private advisor?: SpotAdvisorData;
  /** What this control worker saw (kept in memory: a restart starts again from the prior). */
  private readonly observed = new Map<string, ObservedInterruptions>();

  constructor(private readonly options: Ec2MarketOptions) {
    this.advisor = options.advisor;
    this.id = `ec2-${options.settings.region}`;
  }

  timing(): MarketTiming {
    return EC2_TIMING;
  }

  async forecast(_fleet: FleetSpec, horizonSeconds: number): Promise<MarketView> {
    const file = this.options.settings.spotAdvisorFile;
    if (!this.advisor && file) {
      try {
        this.advisor = loadSpotAdvisor(file);
      } catch (err) {
        throw new Ec2SettingsError(`spotAdvisorFile: ${(err as Error).message}`);
      }
    }
    const data = await fetchEc2MarketData({ ...this.options, advisor: this.advisor });
    return buildEc2MarketView({ ...data, observed: this.observed }, { horizonSeconds });
  }

  observeInterruption(pool: string, exposureSeconds: number): void {
    const seen = this.observed.get(pool) ?? { exposureSeconds: 0, interruptions: 0 };
    this.observed.set(pool, {
      exposureSeconds: seen.exposureSeconds + Math.max(0, exposureSeconds),
      interruptions: seen.interruptions + 1,
    });
  }

  fleetModel(fleet: FleetSpec): AllocationFleet {
    return { maxInstances: Math.min(fleet.instances, this.options.settings.limits.maxInstances) };
  }
}
