import { MarketDataError } from './errors';

/** One interruption-frequency band of the Spot Advisor ("<5%", "5-10%", … ">20%"). */
export type AdvisorRange = { index: number; label: string; maxPct: number };
export type AdvisorEntry = { savingsPct: number; band: number };

/** The AWS Spot Advisor snapshot (as published in spot-advisor-data.json). */
export type SpotAdvisorData = {
  ranges: AdvisorRange[];
  instanceTypes: Map<string, { vcpu: number; memoryMiB: number }>;
  /** `entries.get(region)?.get(os)?.get(instanceType)`; os is "Linux" or "Windows". */
  entries: Map<string, Map<string, Map<string, AdvisorEntry>>>;
};

function fail(path: string, detail: string): never {
  throw new MarketDataError('Spot Advisor JSON', path, detail);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `expected a number, got ${JSON.stringify(v)}`);
  return v;
}

export function parseSpotAdvisor(json: unknown): SpotAdvisorData {
  if (!isObject(json)) fail('$', 'expected a JSON object');
  if (!Array.isArray(json.ranges)) fail('ranges', 'expected an array');
  const ranges = json.ranges.map((r: unknown, i): AdvisorRange => {
    if (!isObject(r)) fail(`ranges[${i}]`, 'expected an object');
    return {
      index: num(r.index, `ranges[${i}].index`),
      label: String(r.label),
      maxPct: num(r.max, `ranges[${i}].max`),
    };
  });
  if (!isObject(json.instance_types)) fail('instance_types', 'expected an object');
  const instanceTypes = new Map<string, { vcpu: number; memoryMiB: number }>();
  for (const [type, v] of Object.entries(json.instance_types)) {
    const at = `instance_types["${type}"]`;
    if (!isObject(v)) fail(at, 'expected an object');
    instanceTypes.set(type, {
      vcpu: num(v.cores, `${at}.cores`),
      memoryMiB: Math.round(num(v.ram_gb, `${at}.ram_gb`) * 1024),
    });
  }
  if (!isObject(json.spot_advisor)) fail('spot_advisor', 'expected an object');
  const entries = new Map<string, Map<string, Map<string, AdvisorEntry>>>();
  for (const [region, byOs] of Object.entries(json.spot_advisor)) {
    if (!isObject(byOs)) fail(`spot_advisor["${region}"]`, 'expected an object');
    const osMap = new Map<string, Map<string, AdvisorEntry>>();
    for (const [os, byType] of Object.entries(byOs)) {
      const at = `spot_advisor["${region}"]["${os}"]`;
      if (!isObject(byType)) fail(at, 'expected an object');
      const typeMap = new Map<string, AdvisorEntry>();
      for (const [type, e] of Object.entries(byType)) {
        if (!isObject(e)) fail(`${at}["${type}"]`, 'expected an object');
        const band = num(e.r, `${at}["${type}"].r`);
        if (!ranges.some((r) => r.index === band))
          fail(`${at}["${type}"].r`, `band ${band} is not in ranges`);
        typeMap.set(type, { savingsPct: num(e.s, `${at}["${type}"].s`), band });
      }
      osMap.set(os, typeMap);
    }
    entries.set(region, osMap);
  }
  return { ranges, instanceTypes, entries };
}

/** The Spot Advisor band index for a Linux instance type in a region, if listed. */
export function advisorBand(data: SpotAdvisorData, region: string, instanceType: string): number | undefined {
  return data.entries.get(region)?.get('Linux')?.get(instanceType)?.band;
}
