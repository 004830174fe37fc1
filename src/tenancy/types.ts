/**
 * Tenants, their quotas and the fleet's admission records. Types only: the fleet workflow and its
 * pure ledger import them, so nothing here may pull in Node or zod.
 */

/** Temporal's priority keys: 1 runs first, 5 last (the server's default range). */
export const PRIORITY_MIN = 1;
export const PRIORITY_MAX = 5;
export const DEFAULT_PRIORITY = 3;
export const DEFAULT_TENANT_NAME = 'default';
/** The fleet every job joins until fleets can be named (its workflow id is `spotdag-fleet-default`). */
export const DEFAULT_FLEET_NAME = 'default';

export interface TenantQuotas {
  /** Instances of all the tenant's jobs at once (leased: launching, running, or being released). */
  maxInstances?: number;
  /** The tenant's jobs admitted at once. */
  maxConcurrentJobs?: number;
  /** Instance spend of one job, USD: a job that reaches it gets no new instance. */
  maxSpendPerJobUsd?: number;
  /** Instance spend of the tenant per UTC day, USD: no new admission or instance once reached. */
  maxSpendPerDayUsd?: number;
}

export interface Tenant {
  name: string;
  /** The priority key of its jobs unless a job names its own (1 highest … 5 lowest). */
  priority: number;
  /** Its share of contended capacity relative to other tenants (Temporal's fairness weight). */
  weight: number;
  quotas: TenantQuotas;
  /** A job over a quota at admission waits in the queue (`queue`) or fails naming the quota (`reject`). */
  onQuota: 'queue' | 'reject';
}

/** Caps of the whole fleet, over every tenant. */
export interface FleetLimits {
  maxInstances?: number;
  maxConcurrentJobs?: number;
  /**
   * How long instances take to be gone once told to yield or stop (their steps checkpoint, their
   * workers drain); spend quotas act this early (default 60 s).
   */
  drainSeconds?: number;
  /**
   * One pool of instances that the fleet owns, launches and releases, packing the leases of
   * several jobs onto them (true); or every job launches its own leased instances (false, the
   * default).
   */
  shared?: boolean;
  /** On a shared fleet: slots of each instance it launches (at least what the lease asks; 4). */
  slotsPerInstance?: number;
  /** On a shared fleet: how long an instance with nothing leased stays up for the next lease (60 s). */
  warmSeconds?: number;
}

export const DEFAULT_SHARED_SLOTS_PER_INSTANCE = 4;
export const DEFAULT_WARM_SECONDS = 60;

/** What the checkpoint store keeps (record `tenants`), and what `spotdag tenants set` writes. */
export interface TenancyConfig {
  tenants: Tenant[];
  fleet: FleetLimits;
}

export const DEFAULT_TENANT: Tenant = {
  name: DEFAULT_TENANT_NAME,
  priority: DEFAULT_PRIORITY,
  weight: 1,
  quotas: {},
  onQuota: 'queue',
};

/** A job's place in tenancy, fixed when it is decomposed (in its plan). */
export interface JobTenancy {
  fleet: string;
  tenant: Tenant;
  /** The job's priority key: its spec's `priority`, else its tenant's. */
  priority: number;
  limits: FleetLimits;
}

/** The Temporal priority of a job's workflows and activities. */
export function temporalPriority(tenancy: JobTenancy): {
  priorityKey: number;
  fairnessKey: string;
  fairnessWeight: number;
} {
  return {
    priorityKey: tenancy.priority,
    fairnessKey: tenancy.tenant.name,
    fairnessWeight: tenancy.tenant.weight,
  };
}

export function fleetWorkflowId(fleet: string): string {
  return `spotdag-fleet-${fleet}`;
}
