/**
 * A job's side of its fleet (workflows/fleet.ts): it asks to be admitted and waits, visibly
 * `queued`, for its turn; it asks a lease for every instance before launching it and returns the
 * lease once the instance is gone; it leaves when it ends. Workflow code.
 */
import {
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { FleetActivities } from '../activities/fleet';
import type { JobProgress } from '../src/job/summary';
import { pushAll } from '../src/util/array';
import { fleetWorkflowId, type JobTenancy } from '../src/tenancy/types';
import {
  admissionSignal,
  fleetLeaseSignal,
  fleetLeaveSignal,
  fleetLostSignal,
  fleetReturnSignal,
  leaseGrantSignal,
  stopSignal,
  yieldSignal,
  type AdmissionAnswer,
  type LeaseGrant,
  type SharedLeaseWant,
} from './fleet-messages';
import type { JobTelemetry } from './job-shared';

const joining = proxyActivities<FleetActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10 },
});

/** Error type of a job refused by its tenant's quota (the tenant is set to `onQuota: reject`). */
export const QUOTA_EXCEEDED = 'QuotaExceeded';

export class FleetMembership {
  private answer?: AdmissionAnswer;
  /** Admitted or rejected: no later answer changes it. */
  private settled = false;
  private readonly grants: LeaseGrant[] = [];
  /** Instances the fleet asked back (its latest count), not yet given. */
  private owed = 0;
  /** Why the fleet told the job to stop (its spend quota), once it has. */
  stopReason?: string;

  constructor(
    private readonly jobId: string,
    readonly tenancy: JobTenancy,
  ) {
    setHandler(admissionSignal, (answer) => {
      // The fleet's signals to a job may arrive out of order: a place in the queue sent before the
      // admission can come after it. Admission (and rejection) is final.
      if (this.settled) return;
      this.answer = answer;
      if (answer.status !== 'queued') this.settled = true;
    });
    setHandler(leaseGrantSignal, (grant) => {
      this.grants.push(grant);
    });
    setHandler(yieldSignal, ({ count }) => {
      this.owed = count;
    });
    setHandler(stopSignal, ({ reason }) => {
      this.stopReason = reason;
    });
  }

  private get fleet() {
    return getExternalWorkflowHandle(fleetWorkflowId(this.tenancy.fleet));
  }

  /**
   * Asks to be admitted with `instances` (its most at once) reserved, and waits (phase `queued`,
   * with its place) until it is; fails if its tenant rejects jobs over quota. A job with a
   * deadline says when it must start at the latest (its deadline less its critical path).
   */
  async join(
    telemetry: JobTelemetry,
    progress: JobProgress,
    instances: number,
    latestStartMs?: number,
  ): Promise<void> {
    progress.tenant = this.tenancy.tenant.name;
    progress.priority = this.tenancy.priority;
    if (latestStartMs === undefined) await joining.joinFleet(this.jobId, this.tenancy, instances);
    else await joining.joinFleet(this.jobId, this.tenancy, instances, latestStartMs);
    for (;;) {
      await condition(() => this.answer !== undefined);
      const answer = this.answer!;
      this.answer = undefined;
      if (answer.status === 'admitted') {
        delete progress.queuePosition;
        delete progress.queueReason;
        return;
      }
      if (answer.status === 'rejected') throw ApplicationFailure.nonRetryable(answer.reason, QUOTA_EXCEEDED);
      log.info('queued', { position: answer.position, reason: answer.reason });
      progress.queuePosition = answer.position;
      progress.queueReason = answer.reason;
      if (progress.phase === 'queued') telemetry.publish();
      else telemetry.setPhase('queued');
    }
  }

  /**
   * Whether the fleet owns the instances and packs jobs onto them (`fleet.shared`): a lease then
   * comes with the instance it is on, and goes back to the fleet instead of being released.
   */
  get shared(): boolean {
    return this.tenancy.limits.shared === true;
  }

  /** Asks leases for instances the plan wants launched (on a shared fleet, what each asks for). */
  request(instances: Array<{ planId: string; pricePerHour: number; shared?: SharedLeaseWant }>): void {
    if (instances.length === 0) return;
    this.tell(this.fleet.signal(fleetLeaseSignal, { jobId: this.jobId, instances }));
  }

  /** Leases granted since the last call: plan ids, and on a shared fleet their instances or refusals. */
  takeGrants(): Required<LeaseGrant> {
    const all: Required<LeaseGrant> = { planIds: [], instances: {}, refused: {} };
    for (const g of this.grants.splice(0)) {
      pushAll(all.planIds, g.planIds);
      Object.assign(all.instances, g.instances);
      Object.assign(all.refused, g.refused);
    }
    return all;
  }

  /** A shared instance of the job is lost: the fleet terminates it, then its lease goes back. */
  reportLost(planId: string, instanceId: string, reason: string): void {
    this.tell(this.fleet.signal(fleetLostSignal, { jobId: this.jobId, planId, instanceId, reason }));
  }

  /** Whether the fleet has news for the run loop: grants, instances to yield, or a stop. */
  get hasNews(): boolean {
    return this.grants.length > 0 || this.owed > 0 || this.stopReason !== undefined;
  }

  /** Fails the job if the fleet told it to stop (its instances are released on the way out). */
  throwIfStopped(): void {
    if (this.stopReason !== undefined) throw ApplicationFailure.nonRetryable(this.stopReason, QUOTA_EXCEEDED);
  }

  /** Instances to give back now (a higher priority needs them). */
  takeOwed(): number {
    const owed = this.owed;
    this.owed = 0;
    return owed;
  }

  /** Instances gone, or no longer wanted: their leases go back. */
  giveBack(planIds: string[]): void {
    if (planIds.length === 0) return;
    this.tell(this.fleet.signal(fleetReturnSignal, { jobId: this.jobId, planIds }));
  }

  /** A signal to the fleet; it fails only when the fleet workflow is gone (terminated by hand). */
  private tell(sent: Promise<void>): void {
    sent.catch((err: unknown) =>
      log.warn('the fleet workflow did not take a message', { error: String(err) }),
    );
  }

  /** The job ended: everything it held goes back. */
  async leave(): Promise<void> {
    await this.fleet.signal(fleetLeaveSignal, { jobId: this.jobId });
  }
}
