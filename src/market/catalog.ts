import { UnknownInstanceTypeError } from './errors';
import type { SpotAdvisorData } from './spot-advisor';
import type { SpotLakeRecord } from './spotlake';

export type InstanceTypeEntry = {
  instanceType: string;
  vcpu: number;
  memoryMiB: number;
  /** On-demand $/h by region, where a source told us. */
  onDemandByRegion: Record<string, number>;
};

/** What the catalog knows about one instance type. */
export type InstanceInfo = {
  instanceType: string;
  vcpu: number;
  memoryMiB: number;
  /** On-demand $/h in a region, or undefined if no source gave a price for that region. */
  onDemandPrice(region: string): number | undefined;
};

/** Instance types with vCPUs, memory and on-demand prices per region. Serialisable via toJSON/fromJSON. */
export class InstanceCatalog {
  private readonly entries = new Map<string, InstanceTypeEntry>();

  constructor(entries: Iterable<InstanceTypeEntry> = []) {
    for (const e of entries)
      this.entries.set(e.instanceType, { ...e, onDemandByRegion: { ...e.onDemandByRegion } });
  }

  /**
   * vCPU and memory from the Spot Advisor's `instance_types`, on-demand prices from SpotLake rows
   * (the latest price seen per type and region). Types with a price but no shape are left out.
   */
  static fromSources(sources: {
    spotAdvisor?: SpotAdvisorData;
    spotLake?: SpotLakeRecord[];
  }): InstanceCatalog {
    const catalog = new InstanceCatalog();
    for (const [instanceType, shape] of sources.spotAdvisor?.instanceTypes ?? []) {
      catalog.entries.set(instanceType, { instanceType, ...shape, onDemandByRegion: {} });
    }
    const latest = new Map<string, number>();
    for (const r of sources.spotLake ?? []) {
      const entry = catalog.entries.get(r.pool.instanceType);
      if (!entry || !(r.onDemandPrice > 0)) continue;
      const key = `${r.pool.instanceType}@${r.pool.region}`;
      if ((latest.get(key) ?? -Infinity) <= r.timeMs) {
        latest.set(key, r.timeMs);
        entry.onDemandByRegion[r.pool.region] = r.onDemandPrice;
      }
    }
    return catalog;
  }

  static fromJSON(json: InstanceTypeEntry[]): InstanceCatalog {
    return new InstanceCatalog(json);
  }

  toJSON(): InstanceTypeEntry[] {
    return [...this.entries.values()];
  }

  has(instanceType: string): boolean {
    return this.entries.has(instanceType);
  }

  get size(): number {
    return this.entries.size;
  }

  /** @throws UnknownInstanceTypeError (exit code 2) for a type no source listed. */
  get(instanceType: string): InstanceInfo {
    const e = this.entries.get(instanceType);
    if (!e) throw new UnknownInstanceTypeError(instanceType);
    return {
      instanceType,
      vcpu: e.vcpu,
      memoryMiB: e.memoryMiB,
      onDemandPrice: (region: string) => e.onDemandByRegion[region],
    };
  }
}
