import { parseTimestamp } from './delimited';
import { MarketDataError } from './errors';
import type { PriceObservation } from './observations';
import { regionOfZone } from './pool';

/**
 * Parses the output of `aws ec2 describe-spot-price-history` (`{"SpotPriceHistory":[…],"NextToken":…}`),
 * the SDK's DescribeSpotPriceHistory output (same keys; Timestamp may be a Date), or an array of such
 * pages. Errors name the JSON path at fault.
 */
export function parseAwsSpotPriceHistoryJson(
  json: unknown,
  source = 'spot price history JSON',
): PriceObservation[] {
  const pages = Array.isArray(json) ? json : [json];
  const out: PriceObservation[] = [];
  pages.forEach((page, p) => {
    const base = Array.isArray(json) ? `[${p}].` : '';
    const history = (page as { SpotPriceHistory?: unknown } | null)?.SpotPriceHistory;
    if (!Array.isArray(history)) {
      throw new MarketDataError(source, `${base}SpotPriceHistory`, 'expected an array of spot price records');
    }
    history.forEach((item: unknown, i) => {
      const at = `${base}SpotPriceHistory[${i}]`;
      if (typeof item !== 'object' || item === null)
        throw new MarketDataError(source, at, 'expected an object');
      const rec = item as Record<string, unknown>;
      const str = (key: string): string => {
        const v = rec[key];
        if (typeof v !== 'string' || v === '')
          throw new MarketDataError(source, `${at}.${key}`, 'expected a non-empty string');
        return v;
      };
      const zone = str('AvailabilityZone');
      const instanceType = str('InstanceType');
      const region = regionOfZone(zone);
      if (!region)
        throw new MarketDataError(source, `${at}.AvailabilityZone`, `"${zone}" is not a zone name or AZ id`);
      const priceRaw = rec.SpotPrice;
      const price =
        typeof priceRaw === 'number' ? priceRaw : typeof priceRaw === 'string' ? Number(priceRaw) : NaN;
      if (!Number.isFinite(price) || price < 0) {
        throw new MarketDataError(
          source,
          `${at}.SpotPrice`,
          `expected a price ≥ 0, got ${JSON.stringify(priceRaw)}`,
        );
      }
      const ts = rec.Timestamp;
      const timeMs =
        ts instanceof Date ? ts.getTime() : typeof ts === 'string' ? parseTimestamp(ts) : undefined;
      if (timeMs === undefined || !Number.isFinite(timeMs)) {
        throw new MarketDataError(
          source,
          `${at}.Timestamp`,
          `expected an ISO timestamp, got ${JSON.stringify(ts)}`,
        );
      }
      const productDescription =
        typeof rec.ProductDescription === 'string' ? rec.ProductDescription : undefined;
      out.push({ pool: { instanceType, region, zone }, timeMs, price, productDescription });
    });
  });
  return out;
}
