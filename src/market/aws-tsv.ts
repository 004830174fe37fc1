import { numberField, parseDelimited, timeField } from './delimited';
import { MarketDataError } from './errors';
import type { PriceObservation } from './observations';
import { regionOfAzId } from './pool';

const COLUMNS = ['az_id', 'instance_type', 'product_description', 'spot_price', 'timestamp'];

/**
 * Parses raw DescribeSpotPriceHistory records as TSV (`az_id, instance_type, product_description,
 * spot_price, timestamp`), as in the public aws-spot-price-history archive. Zones are AZ ids.
 */
export function parseAwsHistoryTsv(text: string, source = 'spot price history TSV'): PriceObservation[] {
  return parseDelimited(text, '\t', COLUMNS, source).map((row) => {
    const zone = row.get('az_id');
    const region = regionOfAzId(zone);
    if (!region)
      throw new MarketDataError(source, `line ${row.line}`, `az_id "${zone}" is not an AZ id like use1-az1`);
    const instanceType = row.get('instance_type');
    if (!instanceType) throw new MarketDataError(source, `line ${row.line}`, 'instance_type is empty');
    const price = numberField(row, 'spot_price', source);
    if (price < 0) throw new MarketDataError(source, `line ${row.line}`, `negative spot_price ${price}`);
    return {
      pool: { instanceType, region, zone },
      timeMs: timeField(row, 'timestamp', source),
      price,
      productDescription: row.get('product_description'),
    };
  });
}
