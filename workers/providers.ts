/**
 * What a control worker needs from its fleet provider: the provisioner, the market the planning
 * activities forecast and allocate on, and how long to wait for instances. `local` and `ec2`.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { Ec2Market } from '../src/job/ec2-market-view';
import type { InstanceMarket } from '../src/job/instance-market';
import type { SubTaskPolicy } from '../src/job/types';
import { createEc2Client } from '../src/provision/ec2-client';
import { Ec2Provisioner } from '../src/provision/ec2-provisioner';
import type { Ec2Settings } from '../src/provision/ec2-settings';
import { LocalProvisioner, type LocalProvisionerOptions } from '../src/provision/local';
import { PROVIDER_TIMEOUTS } from '../src/provision/provider';
import type { Provisioner } from '../src/provision/provisioner';

/**
 * What a control worker runs a fleet provider with (`local`, `ec2`): the provisioner, the market
 * its instances are bought on, and the provider's timeouts and sub-task policy defaults.
 */
export interface FleetBackend<P extends Provisioner = Provisioner> {
  provisioner: P;
  /** The market its instances are bought on; none for plain local instances (one free pool). */
  market?: InstanceMarket;
  /** How long provisioning and relocation wait for a new instance to poll its queue. */
  instanceReadyTimeoutMs: number;
  /** Sub-task policy defaults for jobs on this provider (`spotdagJob`'s `subTaskPolicy` option). */
  subTaskPolicy: Partial<SubTaskPolicy>;
  /** Releases the provider's own resources (servers, clients). */
  close(): Promise<void>;
}

/** Instances as worker processes on this machine (on a replayed spot market, when given one). */
export function localProvider(options: LocalProvisionerOptions): FleetBackend<LocalProvisioner> {
  const provisioner = new LocalProvisioner(options);
  return {
    provisioner,
    ...(options.market ? { market: options.market } : {}),
    instanceReadyTimeoutMs: PROVIDER_TIMEOUTS.local.instanceReadySeconds * 1000,
    subTaskPolicy: {},
    close: () => provisioner.close(),
  };
}

export interface Ec2ProviderOptions {
  settings: Ec2Settings;
  /** Where the spend ledger is kept (`<stateDir>/ec2-spend/`). */
  stateDir: string;
  /** Default: `createEc2Client(settings)` (the AWS default credential chain, `settings.endpoint`). */
  client?: EC2Client;
  log?: (line: string) => void;
}

/**
 * EC2 instances from the settings: one EC2 client for launches and market data, the timeouts of
 * `settings.timeouts` (instances boot in minutes).
 */
export function ec2Provider(options: Ec2ProviderOptions): FleetBackend<Ec2Provisioner> {
  const { settings } = options;
  const client = options.client ?? createEc2Client(settings);
  const provisioner = new Ec2Provisioner({ settings, client, stateDir: options.stateDir, log: options.log });
  return {
    provisioner,
    market: new Ec2Market({ settings, client }),
    instanceReadyTimeoutMs: settings.timeouts.instanceReadySeconds * 1000,
    subTaskPolicy: { scheduleToStartTimeoutSeconds: settings.timeouts.scheduleToStartSeconds },
    close: async () => {
      provisioner.close();
      if (!options.client) client.destroy();
    },
  };
}
