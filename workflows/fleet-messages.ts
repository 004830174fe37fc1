/**
 * Messages between jobs and their fleet workflow. Jobs ask (admission, instance leases, returns,
 * leaving) by signal; the fleet answers each job by signal. Workflow code.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { AdmitRequest, FleetUsage } from '../src/tenancy/ledger';
import type { FleetLimits, Tenant } from '../src/tenancy/types';

/** What a lease on a shared fleet asks for: slots on an instance of a pool and market. */
export interface SharedLeaseWant {
  pool: string;
  market: 'spot' | 'on-demand';
  slots: number;
}

export interface LeaseRequest {
  jobId: string;
  /** `shared` on a shared fleet: the fleet places the lease on one of its instances. */
  instances: Array<{ planId: string; pricePerHour: number; shared?: SharedLeaseWant }>;
}

/** A shared fleet's instance that a lease was placed on: the job runs its work there. */
export interface SharedInstanceGrant {
  /** The provider's instance id and its task queue. */
  id: string;
  taskQueue: string;
  launchedAtMs: number;
  /** Slots of the whole instance (the lease has the slots it asked for). */
  slots: number;
}

/** A lease granted: by plan id, on a shared fleet with the instance it is on, or why none came. */
export interface LeaseGrant {
  planIds: string[];
  instances?: Record<string, SharedInstanceGrant>;
  refused?: Record<string, string>;
}

/** A job saw its shared instance lost: the fleet terminates it, and tells the other jobs on it. */
export interface SharedInstanceLost {
  jobId: string;
  planId: string;
  instanceId: string;
  reason: string;
}

export interface LeaseReturn {
  jobId: string;
  planIds: string[];
}

/** The fleet's answer on admission: admitted, queued at a position (and why), or rejected. */
export type AdmissionAnswer =
  | { status: 'admitted' }
  | { status: 'queued'; position: number; reason: string }
  | { status: 'rejected'; reason: string };

export const fleetAdmitSignal = defineSignal<[AdmitRequest]>('spotdagFleetAdmit');
export const fleetLeaseSignal = defineSignal<[LeaseRequest]>('spotdagFleetLease');
export const fleetReturnSignal = defineSignal<[LeaseReturn]>('spotdagFleetReturn');
export const fleetLeaveSignal = defineSignal<[{ jobId: string }]>('spotdagFleetLeave');
export const fleetLostSignal = defineSignal<[SharedInstanceLost]>('spotdagFleetInstanceLost');
export const fleetConfigureSignal =
  defineSignal<[{ tenants: Tenant[]; limits: FleetLimits }]>('spotdagFleetConfigure');
export const fleetUsageQuery = defineQuery<FleetUsage>('spotdagFleetUsage');

export const admissionSignal = defineSignal<[AdmissionAnswer]>('spotdagAdmission');
export const leaseGrantSignal = defineSignal<[LeaseGrant]>('spotdagLeaseGrant');
/** Give back `count` instances: a job of a higher priority needs them. */
export const yieldSignal = defineSignal<[{ count: number }]>('spotdagYield');
/** Stop: the job reached its spend quota (it fails naming it). */
export const stopSignal = defineSignal<[{ reason: string }]>('spotdagStop');
