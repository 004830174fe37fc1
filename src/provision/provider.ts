/**
 * Fleet providers: where a job's instances come from, and the timing that follows from it. The job
 * spec names one (`fleet.provider`); a control worker provisions from one (its provisioner's
 * `provider`), and a job whose spec names another is rejected before anything is provisioned.
 */
import type { SpecIssue } from '../dag/errors';

export const FLEET_PROVIDERS = ['local', 'ec2'] as const;
export type FleetProvider = (typeof FLEET_PROVIDERS)[number];

/** How long to wait for instances of a provider: local processes start in a second, EC2 instances boot in minutes. */
export interface ProviderTimeouts {
  /** Provisioning (and relocation) waits this long for a new instance's worker to poll its queue. */
  instanceReadySeconds: number;
  /** A sub-task's work not picked up by its instance within this long means the instance is lost. */
  scheduleToStartSeconds: number;
}

/**
 * Defaults per provider. EC2's ready timeout stays below the 10-minute start-to-close timeout of
 * the job workflow's provisioning activities, so that an activity attempt can still report a slow
 * instance instead of being timed out by the server.
 */
export const PROVIDER_TIMEOUTS: Record<FleetProvider, ProviderTimeouts> = {
  local: { instanceReadySeconds: 60, scheduleToStartSeconds: 300 },
  ec2: { instanceReadySeconds: 480, scheduleToStartSeconds: 900 },
};

/** Upper bound of `instanceReadySeconds` (the provisioning activities' start-to-close is 600 s). */
export const MAX_INSTANCE_READY_SECONDS = 540;

/** The problem with running a spec that asks for `requested` on a control worker that provisions `available`. */
export function providerMismatch(requested: FleetProvider, available: FleetProvider): SpecIssue | undefined {
  if (requested === available) return undefined;
  const hint =
    available === 'local'
      ? `start the control worker with --provider ${requested}` +
        (requested === 'ec2' ? ' --ec2-settings <file>' : '')
      : `use "${available}", or a control worker started with --provider ${requested}`;
  return {
    path: 'fleet.provider',
    message: `"${requested}" is not what this control worker provisions ("${available}"): ${hint}`,
  };
}
