import {
  paginateDescribeInstanceTypes,
  paginateDescribeSpotPriceHistory,
  type DescribeSpotPriceHistoryCommandInput,
  type EC2Client,
  type Filter,
} from '@aws-sdk/client-ec2';
import {
  InstanceCatalog,
  parseAwsSpotPriceHistoryJson,
  resample,
  type InstanceTypeEntry,
  type PriceObservation,
  type PriceSeries,
  type ResampleOptions,
} from '../market';
import { pushAll } from '../util/array';

export interface SpotPriceQuery {
  startTime: Date;
  /** Default: now. */
  endTime?: Date;
  instanceTypes?: string[];
  /** Zone names ("us-east-1a"); default: every zone of the client's region. */
  zones?: string[];
  /** Default Linux/UNIX only (other OSes are priced differently for the same pool). */
  productDescriptions?: string[];
  /** Records per page (EC2 allows up to 1000). */
  pageSize?: number;
}

/** Spot price change events from DescribeSpotPriceHistory, every page (NextToken) of them. */
export async function fetchSpotPriceObservations(
  client: EC2Client,
  query: SpotPriceQuery,
): Promise<PriceObservation[]> {
  const filters: Filter[] = query.zones ? [{ Name: 'availability-zone', Values: query.zones }] : [];
  const input: DescribeSpotPriceHistoryCommandInput = {
    StartTime: query.startTime,
    EndTime: query.endTime ?? new Date(),
    ...(query.instanceTypes
      ? { InstanceTypes: query.instanceTypes as DescribeSpotPriceHistoryCommandInput['InstanceTypes'] }
      : {}),
    ProductDescriptions: query.productDescriptions ?? ['Linux/UNIX'],
    ...(filters.length > 0 ? { Filters: filters } : {}),
  };
  const out: PriceObservation[] = [];
  let page = 0;
  for await (const response of paginateDescribeSpotPriceHistory(
    { client, pageSize: query.pageSize ?? 1000 },
    input,
  )) {
    // The market module's parser reads the SDK's output as it reads `aws ec2 describe-spot-price-history`.
    pushAll(out, parseAwsSpotPriceHistoryJson(response, `DescribeSpotPriceHistory page ${page++}`));
  }
  return out;
}

/** The same, resampled to the regular per-pool series the forecaster reads. */
export async function fetchSpotPriceSeries(
  client: EC2Client,
  query: SpotPriceQuery,
  options: ResampleOptions = {},
): Promise<PriceSeries[]> {
  return resample(await fetchSpotPriceObservations(client, query), options);
}

export interface InstanceTypeQuery {
  /** Default: every type the region offers. */
  instanceTypes?: string[];
  /** The region the on-demand prices below are for. */
  region: string;
  /**
   * On-demand prices where known: EC2 does not publish them (the AWS Price List API does), so they
   * come from the settings or an existing catalog (e.g. SpotLake's).
   */
  onDemandPrices?: Record<string, number> | InstanceCatalog;
}

function onDemandPriceOf(prices: InstanceTypeQuery['onDemandPrices'], type: string, region: string) {
  if (prices instanceof InstanceCatalog)
    return prices.has(type) ? prices.get(type).onDemandPrice(region) : undefined;
  return prices?.[type];
}

/** DescribeInstanceTypes (every page) as catalog entries: vCPUs, memory, and on-demand prices where known. */
export async function fetchInstanceTypes(
  client: EC2Client,
  query: InstanceTypeQuery,
): Promise<InstanceTypeEntry[]> {
  const entries: InstanceTypeEntry[] = [];
  const pages = paginateDescribeInstanceTypes(
    { client, pageSize: query.instanceTypes ? undefined : 100 },
    query.instanceTypes ? { InstanceTypes: query.instanceTypes as never } : {},
  );
  for await (const page of pages) {
    for (const t of page.InstanceTypes ?? []) {
      const vcpu = t.VCpuInfo?.DefaultVCpus;
      const memoryMiB = t.MemoryInfo?.SizeInMiB;
      if (!t.InstanceType || vcpu === undefined || memoryMiB === undefined) continue;
      const price = onDemandPriceOf(query.onDemandPrices, t.InstanceType, query.region);
      entries.push({
        instanceType: t.InstanceType,
        vcpu,
        memoryMiB,
        onDemandByRegion: price !== undefined ? { [query.region]: price } : {},
      });
    }
  }
  return entries.sort((a, b) => (a.instanceType < b.instanceType ? -1 : 1));
}

export async function fetchInstanceCatalog(
  client: EC2Client,
  query: InstanceTypeQuery,
): Promise<InstanceCatalog> {
  return new InstanceCatalog(await fetchInstanceTypes(client, query));
}
