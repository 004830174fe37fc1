import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Ec2Provisioner } from '../src/provision/ec2-provisioner';
import type { Ec2Settings } from '../src/provision/ec2-settings';
import { startControlStack, type ControlStack, type ControlStackOptions } from './control-stack';
import { ec2Provider } from './providers';

export interface Ec2StackOptions extends ControlStackOptions {
  settings: Ec2Settings;
  /** Default: a client from the settings (region, endpoint) and the AWS default credential chain. */
  ec2Client?: EC2Client;
}

export type Ec2Stack = ControlStack<Ec2Provisioner>;

/**
 * A control worker whose jobs run on EC2 instances: the same Temporal side as the local stack,
 * with the EC2 provisioner, market and timeouts. Instances connect to `settings.worker`'s
 * Temporal address, which must reach the same server as this process.
 */
export async function startEc2Stack(options: Ec2StackOptions): Promise<Ec2Stack> {
  const checkpointStore = options.checkpointStore ?? options.settings.worker?.checkpointStore;
  const artifactStore = options.artifactStore ?? options.settings.worker?.artifactStore;
  return startControlStack({ ...options, checkpointStore, artifactStore }, (temporal) => {
    const instanceAddress = options.settings.worker?.temporalAddress;
    if (instanceAddress && instanceAddress !== temporal.address)
      options.log?.(
        `EC2 instances connect to ${instanceAddress} (settings worker.temporalAddress), ` +
          `this control worker to ${temporal.address}: both must reach the same Temporal server`,
      );
    return ec2Provider({
      settings: options.settings,
      stateDir: options.stateDir,
      client: options.ec2Client,
      log: options.log,
    });
  });
}
