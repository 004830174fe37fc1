/**
 * A pool is where spot capacity is priced and interrupted: one instance type in one availability zone.
 * `zone` is whatever zone identifier the source uses: a zone name ("us-east-1a") for AWS JSON and traces,
 * an AZ id ("use1-az1") for SpotLake and the raw history TSV. AZ ids name the same physical zone in every
 * account, zone names do not, so the two are never mixed up by mapping one onto the other.
 */
export type Pool = { instanceType: string; region: string; zone: string };

/** "c5.large@us-east-1a" (or "c5.large@use1-az1"). */
export function poolKey(pool: Pool): string {
  return `${pool.instanceType}@${pool.zone}`;
}

const DIRECTIONS: Record<string, string> = {
  e: 'east',
  w: 'west',
  c: 'central',
  n: 'north',
  s: 'south',
  ne: 'northeast',
  nw: 'northwest',
  se: 'southeast',
  sw: 'southwest',
};
const AZ_ID_RE = /^([a-z]{2})(ne|nw|se|sw|e|w|c|n|s)(\d+)-az\d+$/;
const ZONE_NAME_RE = /^([a-z]{2}-[a-z]+-\d+)[a-z]$/;

/** Region of an AZ id ("use1-az1" → "us-east-1", "apse2-az3" → "ap-southeast-2"), or undefined. */
export function regionOfAzId(azId: string): string | undefined {
  const m = AZ_ID_RE.exec(azId);
  return m ? `${m[1]}-${DIRECTIONS[m[2]!]}-${m[3]}` : undefined;
}

/** Region of a zone name ("us-east-1a" → "us-east-1") or of an AZ id; undefined if neither. */
export function regionOfZone(zone: string): string | undefined {
  const m = ZONE_NAME_RE.exec(zone);
  return m ? m[1] : regionOfAzId(zone);
}
