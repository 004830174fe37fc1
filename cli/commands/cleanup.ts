import type { Command } from 'commander';
import { createEc2Client } from '../../src/provision/ec2-client';
import { Ec2SettingsError } from '../../src/provision/ec2-errors';
import { terminateJobInstances } from '../../src/provision/ec2-instances';
import { loadEc2Settings } from '../../src/provision/ec2-settings';

interface CleanupOptions {
  job: string;
  config?: string;
  region?: string;
  endpoint?: string;
  json?: boolean;
}

/** Region and endpoint from the flags, else from an EC2 settings file, else the SDK's defaults. */
function target(opts: CleanupOptions): { region?: string; endpoint?: string } {
  const settings = opts.config ? loadEc2Settings(opts.config) : undefined;
  return {
    region: opts.region ?? settings?.region ?? process.env.AWS_REGION,
    endpoint: opts.endpoint ?? settings?.endpoint,
  };
}

export function registerCleanup(program: Command): void {
  program
    .command('cleanup')
    .description('terminate every EC2 instance tagged with a job (spotdag:job), whatever state the job is in')
    .requiredOption('--job <workflowId>', 'the job whose instances to terminate')
    .option('--config <ec2.json>', 'EC2 settings file (region, endpoint)')
    .option('--region <region>', 'AWS region (default: the settings file, AWS_REGION)')
    .option('--endpoint <url>', 'another EC2 endpoint, e.g. moto_server')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nCredentials come from the AWS default chain (environment, profile, instance role).\n\nExamples:\n' +
        '  spotdag cleanup --job primes-1e9-mx0hntln --region us-east-1\n' +
        '  spotdag cleanup --job test-job --endpoint http://127.0.0.1:5000 --region us-east-1 --json',
    )
    .action(async (opts: CleanupOptions) => {
      const { region, endpoint } = target(opts);
      if (!region) throw new Ec2SettingsError('no AWS region: give --region, --config or AWS_REGION');
      const client = createEc2Client({ region, endpoint, maxAttempts: 8 });
      try {
        const terminated = await terminateJobInstances(client, opts.job);
        if (opts.json) {
          console.log(
            JSON.stringify({
              job: opts.job,
              terminated: terminated.map((i) => ({
                instanceId: i.instanceId,
                previousState: i.state,
                plan: i.tags['spotdag:plan'],
              })),
            }),
          );
          return;
        }
        if (terminated.length === 0) console.log(`No instances of ${opts.job} to terminate.`);
        for (const i of terminated) console.log(`${i.instanceId}  ${i.state} → terminating`);
      } finally {
        client.destroy();
      }
    });
}
