import { EC2Client } from '@aws-sdk/client-ec2';
import type { Ec2Settings } from './ec2-settings';

/**
 * An EC2 client with the SDK's standard retry strategy: exponential backoff with jitter, longer
 * for throttling (RequestLimitExceeded and the other throttling codes), `maxAttempts` tries in all.
 * Credentials come from the AWS default chain (environment, profile, instance role); never logged.
 */
export function createEc2Client(
  settings: Pick<Ec2Settings, 'region' | 'endpoint' | 'maxAttempts'>,
): EC2Client {
  return new EC2Client({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    maxAttempts: settings.maxAttempts,
    retryMode: 'standard',
  });
}
