/**
 * Messages between jobs and their fleet workflow. Jobs ask (admission, instance leases, returns,
 * leaving) by signal; the fleet answers each job by signal. Workflow code.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { AdmitRequest, FleetUsage } from '../src/tenancy/ledger';
import type { FleetLimits, Tenant } from '../src/tenancy/types';

export interface LeaseRequest {
  jobId: string;
  instances: Array<{ planId: string; pricePerHour: number }>;
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
export const fleetConfigureSignal =
  defineSignal<[{ tenants: Tenant[]; limits: FleetLimits }]>('spotdagFleetConfigure');
export const fleetUsageQuery = defineQuery<FleetUsage>('spotdagFleetUsage');

export const admissionSignal = defineSignal<[AdmissionAnswer]>('spotdagAdmission');
export const leaseGrantSignal = defineSignal<[{ planIds: string[] }]>('spotdagLeaseGrant');
/** Give back `count` instances: a job of a higher priority needs them. */
export const yieldSignal = defineSignal<[{ count: number }]>('spotdagYield');
/** Stop: the job reached its spend quota (it fails naming it). */
export const stopSignal = defineSignal<[{ reason: string }]>('spotdagStop');
