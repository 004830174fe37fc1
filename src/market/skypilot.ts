import { MarketDataError } from './errors';
import { regionOfZone, type Pool } from './pool';

/**
 * A spot availability/preemption trace (SkyPilot "spot-traces" format): one value per tick,
 * `unavailable[i]` true when no spot instance was available/running at tick i (the file's 1).
 */
export type AvailabilityTrace = {
  name: string;
  /** Inferred from the file name ("us-east-1b_v100_1"), undefined if the name does not say. */
  pool?: Pool;
  /** Start time if the name carries a date ("aws-04-19-2023"), else 0: only relative times are known. */
  startMs: number;
  gapSeconds: number;
  unavailable: boolean[];
  /** Spot price per tick ($/h), when the file has them. */
  prices?: number[];
};

/** Accelerator/CPU tags in the trace names → the instance type the traces were collected on. */
const TRACE_TYPES: Record<string, string> = {
  v100_1: 'p3.2xlarge',
  v100_8: 'p3.16xlarge',
  k80_1: 'p2.xlarge',
  k80_8: 'p2.8xlarge',
  intel_64: 'r5.16xlarge',
};

function poolFromName(name: string): Pool | undefined {
  const m = /([a-z]{2}-[a-z]+-\d+[a-z])_([a-z0-9]+_\d+)(?:\.json)?$/.exec(name);
  if (!m) return undefined;
  const zone = m[1]!;
  return { instanceType: TRACE_TYPES[m[2]!] ?? m[2]!, region: regionOfZone(zone)!, zone };
}

function startFromName(name: string): number {
  const m = /(\d\d)-(\d\d)-(\d{4})/.exec(name);
  return m ? Date.UTC(Number(m[3]), Number(m[1]) - 1, Number(m[2])) : 0;
}

/** Parses one trace; `name` (e.g. its path) names the pool and appears in errors. */
export function parseSkyPilotTrace(json: unknown, name: string): AvailabilityTrace {
  const doc = json as { metadata?: { gap_seconds?: unknown }; data?: unknown; prices?: unknown } | null;
  if (typeof doc !== 'object' || doc === null) throw new MarketDataError(name, '$', 'expected a JSON object');
  const gap = doc.metadata?.gap_seconds;
  if (typeof gap !== 'number' || !(gap > 0)) {
    throw new MarketDataError(
      name,
      'metadata.gap_seconds',
      `expected a positive number, got ${JSON.stringify(gap)}`,
    );
  }
  if (!Array.isArray(doc.data) || doc.data.length === 0) {
    throw new MarketDataError(name, 'data', 'expected a non-empty array of 0/1 values');
  }
  const unavailable = doc.data.map((v: unknown, i) => {
    if (v !== 0 && v !== 1)
      throw new MarketDataError(name, `data[${i}]`, `expected 0 or 1, got ${JSON.stringify(v)}`);
    return v === 1;
  });
  let prices: number[] | undefined;
  if (doc.prices !== undefined) {
    if (!Array.isArray(doc.prices) || doc.prices.length !== unavailable.length) {
      throw new MarketDataError(name, 'prices', `expected an array of ${unavailable.length} prices`);
    }
    prices = doc.prices.map((v: unknown, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new MarketDataError(name, `prices[${i}]`, `expected a price ≥ 0, got ${JSON.stringify(v)}`);
      }
      return v;
    });
  }
  return {
    name,
    pool: poolFromName(name),
    startMs: startFromName(name),
    gapSeconds: gap,
    unavailable,
    prices,
  };
}
