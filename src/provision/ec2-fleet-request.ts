import { createHash } from 'node:crypto';
import type { CreateFleetCommandInput, FleetLaunchTemplateOverridesRequest } from '@aws-sdk/client-ec2';
import type { InstancePlan } from '../job/types';
import type { InstanceCatalog } from '../market';
import { maxOf } from '../util/array';
import { Ec2SettingsError, PriceUnknownError } from './ec2-errors';
import { launchTemplateSpec } from './ec2-launch-template';
import type { Ec2Settings } from './ec2-settings';
import { TAG, toTags } from './ec2-tags';

export type Market = 'spot' | 'on-demand';

/** One instance to launch: a plan of the schedule at a replacement generation. */
export interface LaunchSlot {
  jobId: string;
  planId: string;
  /** 0 for the schedule's instance, n for its n-th replacement. */
  generation: number;
  pool: string;
  instanceType: string;
  /** The zone the schedule chose, when it names one of the configured subnets' zones. */
  zone?: string;
  slots: number;
  market: Market;
  maxPricePerHour?: number;
}

/** One CreateFleet call the provisioner may make for a slot, with the price bound of what it launches. */
export interface LaunchAttempt {
  market: Market;
  /** Upper bound of the instance's hourly price: spot MaxPrice, or the on-demand price. */
  pricePerHourBound: number;
  request: CreateFleetCommandInput;
}

/** Everything the provisioner would send for a slot: spot first, then the on-demand fallback. */
export interface LaunchPlan {
  slot: LaunchSlot;
  attempts: LaunchAttempt[];
  /** Worst case over the attempts: max bound × limits.maxInstanceHours (what the spend guard reserves). */
  worstCaseUsd: number;
  notes: string[];
}

/** What prices are known besides the settings: a catalog and the allocator's pool scores. */
export interface LaunchContext {
  catalog?: InstanceCatalog;
  /** Higher is better, by pool key `type@zone` (e.g. the allocator's scores); orders the overrides. */
  poolScores?: Record<string, number>;
}

const INSTANCE_TYPE_RE = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;

/** Instance type and zone of a pool key `c5.large@us-east-1a`; the type is missing for `local@localhost`. */
export function parsePoolKey(pool: string): { instanceType?: string; zone?: string } {
  const at = pool.indexOf('@');
  const type = at < 0 ? pool : pool.slice(0, at);
  return {
    instanceType: INSTANCE_TYPE_RE.test(type) ? type : undefined,
    zone: at < 0 ? undefined : pool.slice(at + 1),
  };
}

export function launchSlot(
  jobId: string,
  plan: InstancePlan,
  generation: number,
  settings: Ec2Settings,
): LaunchSlot {
  const parsed = parsePoolKey(plan.pool);
  const instanceType = parsed.instanceType ?? settings.defaultInstanceType;
  if (!instanceType)
    throw new Ec2SettingsError(
      `plan ${plan.id}: pool "${plan.pool}" names no instance type; set defaultInstanceType in the EC2 settings`,
    );
  const zone = settings.subnets.some((s) => s.zone === parsed.zone) ? parsed.zone : undefined;
  return {
    jobId,
    planId: plan.id,
    generation,
    pool: parsed.instanceType ? plan.pool : `${instanceType}@${zone ?? settings.region}`,
    instanceType,
    zone,
    slots: plan.slots,
    market: plan.market ?? 'spot',
    maxPricePerHour: plan.maxPricePerHour,
  };
}

function onDemandPrice(slot: LaunchSlot, settings: Ec2Settings, context: LaunchContext): number | undefined {
  const catalog = context.catalog;
  return (
    settings.onDemandPricesPerHour[slot.instanceType] ??
    (catalog?.has(slot.instanceType)
      ? catalog.get(slot.instanceType).onDemandPrice(settings.region)
      : undefined) ??
    (slot.market === 'on-demand' ? slot.maxPricePerHour : undefined)
  );
}

/** Rounded down to micro-dollars, so that the cap sent to EC2 never exceeds the bound reserved. */
function floorPrice(price: number): number {
  return Math.floor(price * 1e6) / 1e6;
}

/**
 * The hourly price bound of a launch on `market`, or undefined when none is known. Spot: the plan's
 * cap, else the settings' cap, else the on-demand price — never above the on-demand price.
 */
export function priceBound(
  slot: LaunchSlot,
  market: Market,
  settings: Ec2Settings,
  context: LaunchContext = {},
): number | undefined {
  const onDemand = onDemandPrice(slot, settings, context);
  if (market === 'on-demand') return onDemand === undefined ? undefined : floorPrice(onDemand);
  const cap =
    (slot.market === 'spot' ? slot.maxPricePerHour : undefined) ?? settings.maxSpotPricePerHour ?? onDemand;
  if (cap === undefined) return undefined;
  return floorPrice(onDemand === undefined ? cap : Math.min(cap, onDemand));
}

/**
 * A ClientToken from job, plan, generation and market: a retried activity sends the same token, so
 * EC2 answers with the fleet it already launched instead of launching again (64 ASCII chars at most).
 */
export function clientToken(slot: LaunchSlot, market: Market): string {
  const key = [slot.jobId, slot.planId, String(slot.generation), market].join('\u0000');
  return `spotdag-${createHash('sha256').update(key).digest('hex').slice(0, 48)}`;
}

/** The key of a slot in the spend ledger: the same for every market and every retry. */
export function slotKey(slot: Pick<LaunchSlot, 'planId' | 'generation'>): string {
  return `${slot.planId}#${slot.generation}`;
}

/**
 * The job's tags on an instance: enough to rebuild its plan for a replacement (the market and cap
 * the schedule asked for; the instance's lifecycle says what it got). The queue tag is added after
 * launch, since the queue name derives from the instance id.
 */
export function launchTags(slot: LaunchSlot): Record<string, string> {
  return {
    [TAG.job]: slot.jobId,
    [TAG.plan]: slot.planId,
    [TAG.generation]: String(slot.generation),
    [TAG.pool]: slot.pool,
    [TAG.slots]: String(slot.slots),
    [TAG.market]: slot.market,
    ...(slot.maxPricePerHour !== undefined ? { [TAG.maxPrice]: String(slot.maxPricePerHour) } : {}),
    Name: `spotdag ${slot.jobId} ${slot.planId}${slot.generation > 0 ? ` r${slot.generation}` : ''}`,
  };
}

/**
 * One override per configured subnet (its zone) for the slot's instance type: the schedule's zone
 * first, then by pool score, then in settings order. Priorities (0 = best) are only sent with
 * `capacity-optimized-prioritized`, whose spot allocation honours them.
 */
export function fleetOverrides(
  slot: LaunchSlot,
  market: Market,
  pricePerHourBound: number,
  settings: Ec2Settings,
  context: LaunchContext = {},
): FleetLaunchTemplateOverridesRequest[] {
  const score = (zone: string) =>
    (zone === slot.zone ? Infinity : 0) + (context.poolScores?.[`${slot.instanceType}@${zone}`] ?? 0);
  const ordered = settings.subnets
    .map((subnet, index) => ({ subnet, index, score: score(subnet.zone) }))
    .sort((a, b) => b.score - a.score || a.index - b.index);
  const prioritized = settings.allocationStrategy === 'capacity-optimized-prioritized';
  return ordered.map(({ subnet }, priority) => ({
    InstanceType: slot.instanceType as FleetLaunchTemplateOverridesRequest['InstanceType'],
    SubnetId: subnet.subnetId,
    ...(market === 'spot' ? { MaxPrice: String(pricePerHourBound) } : {}),
    ...(prioritized ? { Priority: priority } : {}),
  }));
}

export function createFleetRequest(
  slot: LaunchSlot,
  market: Market,
  pricePerHourBound: number,
  settings: Ec2Settings,
  context: LaunchContext = {},
): CreateFleetCommandInput {
  const tags = toTags(launchTags(slot));
  const prioritized = settings.allocationStrategy === 'capacity-optimized-prioritized';
  return {
    Type: 'instant',
    ClientToken: clientToken(slot, market),
    TargetCapacitySpecification: { TotalTargetCapacity: 1, DefaultTargetCapacityType: market },
    ...(market === 'spot'
      ? {
          SpotOptions: {
            AllocationStrategy: settings.allocationStrategy,
            InstanceInterruptionBehavior: 'terminate',
          },
        }
      : { OnDemandOptions: { AllocationStrategy: prioritized ? 'prioritized' : 'lowest-price' } }),
    LaunchTemplateConfigs: [
      {
        LaunchTemplateSpecification: launchTemplateSpec(settings),
        Overrides: fleetOverrides(slot, market, pricePerHourBound, settings, context),
      },
    ],
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'fleet', Tags: tags },
    ],
  };
}

/** The markets to try for a slot, in order: the schedule's, then on-demand if spot is refused and allowed. */
function marketsFor(slot: LaunchSlot, settings: Ec2Settings): Market[] {
  return slot.market === 'spot' && settings.onDemandFallback ? ['spot', 'on-demand'] : [slot.market];
}

/**
 * The exact CreateFleet requests for a slot, and its worst-case spend. A market without a known
 * price bound is not tried (its spend could not be capped); if none is left, PriceUnknownError.
 */
export function planLaunch(slot: LaunchSlot, settings: Ec2Settings, context: LaunchContext = {}): LaunchPlan {
  const notes: string[] = [];
  const attempts: LaunchAttempt[] = [];
  for (const market of marketsFor(slot, settings)) {
    const bound = priceBound(slot, market, settings, context);
    if (bound === undefined) {
      notes.push(`no ${market} price bound for ${slot.instanceType}: ${market} is not tried`);
      continue;
    }
    attempts.push({
      market,
      pricePerHourBound: bound,
      request: createFleetRequest(slot, market, bound, settings, context),
    });
  }
  if (attempts.length === 0) throw new PriceUnknownError(slot.planId, slot.instanceType, slot.market);
  const worstCaseUsd = maxOf(attempts.map((a) => a.pricePerHourBound)) * settings.limits.maxInstanceHours;
  return { slot, attempts, worstCaseUsd, notes };
}
