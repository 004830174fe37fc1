import type { InstancePlan, ProvisionedInstance } from '../job/types';

/** Where an instance goes: a pool and market of the plan, with the spot price cap. */
export type InstancePlacement = Pick<InstancePlan, 'pool' | 'market' | 'maxPricePerHour'>;
import type { FleetProvider } from './provider';

/**
 * Gets and releases the instances a schedule asks for. Provisioning the same plan for the same
 * job twice must not start anything new (activities are retried). An error with
 * `nonRetryable: true` (a cap that would be exceeded, bad settings) fails the job's provisioning
 * for good instead of being retried.
 */
export interface Provisioner {
  /** The `fleet.provider` of the jobs it serves (default `local`); other jobs are rejected. */
  readonly provider?: FleetProvider;
  provision(jobId: string, plans: InstancePlan[]): Promise<ProvisionedInstance[]>;
  /**
   * A new instance in place of a lost one (same plan slot), in `placement`'s pool and market when
   * given (the re-allocation's choice), else like the lost one. Idempotent: asking again for the
   * same lost instance returns the same live replacement.
   */
  replace(jobId: string, lostInstanceId: string, placement?: InstancePlacement): Promise<ProvisionedInstance>;
  release(jobId: string, instances: ProvisionedInstance[]): Promise<void>;
  /** Live instances, of one job or of all. */
  list(jobId?: string): Promise<ProvisionedInstance[]>;
  /**
   * Launches plans one by one (idempotent per plan, like `provision`): a spot request the market
   * refuses for want of capacity is reported in `refused`, not thrown, so that the runtime
   * controller can re-plan. Without it, `provision` launches all or nothing.
   */
  launchPlans?(jobId: string, plans: InstancePlan[], context: LaunchContext): Promise<LaunchOutcome>;
  /** What the job's instances have cost so far (USD), when the provider can tell. */
  bill?(jobId: string): Promise<number>;
  /**
   * Tells `listener` as soon as the provider sees one of its instances die (its process exited,
   * it was interrupted) — not when it is released on purpose.
   */
  watchLost?(listener: (event: InstanceLostEvent) => void): void;
  /** Whether the provider has reported the instance lost (through `watchLost`). */
  isLost?(instanceId: string): boolean;
}

/** An instance the provider saw die. */
/**
 * How a provider saw an instance go: its process or machine ended (`exited`), spot reclaimed it
 * (`interrupted`), it is suspended and runs nothing (`suspended`: a stopped local process), or
 * its machine fails EC2's status checks (`impaired`).
 */
export type InstanceLossReason = 'exited' | 'interrupted' | 'suspended' | 'impaired';

export interface InstanceLostEvent {
  jobId: string;
  instanceId: string;
  /** `exited`: its process or machine went away; `interrupted`: a spot interruption took it. */
  reason: InstanceLossReason;
  atMs: number;
}

export interface LaunchContext {
  /** Wall-clock ms of the job's start (replayed markets keep their clock per job). */
  jobStartMs: number;
}

export interface LaunchOutcome {
  launched: Array<ProvisionedInstance & { launchedAtMs: number }>;
  refused: Array<{ planId: string; pool: string; reason: string }>;
}
