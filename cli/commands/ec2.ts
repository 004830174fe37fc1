import type { Command } from 'commander';
import { parseJobSpec, readJsonFile } from '../../src/dag';
import type { InstancePlan } from '../../src/job/types';
import { Ec2ProvisionError } from '../../src/provision/ec2-errors';
import { launchSlot, planLaunch } from '../../src/provision/ec2-fleet-request';
import { launchTemplateSpec, managedLaunchTemplateRequest } from '../../src/provision/ec2-launch-template';
import { loadEc2Settings, type Ec2Settings } from '../../src/provision/ec2-settings';
import { lifetimeMinutes, renderUserData } from '../../src/provision/ec2-user-data';
import { SpendGuard } from '../../src/provision/spend-guard';

/** The plans of a schedule (`{instances: [...]}`), a plan array, or a JobSpec's fleet (as the round-robin allocator plans it). */
export function plansFromFile(file: string): InstancePlan[] {
  const raw = readJsonFile(file);
  if (Array.isArray(raw)) return raw as InstancePlan[];
  const instances = (raw as { instances?: unknown } | null)?.instances;
  if (Array.isArray(instances)) return instances as InstancePlan[];
  const { fleet } = parseJobSpec(raw);
  return Array.from({ length: fleet.instances }, (_, i) => ({
    id: `i${i}`,
    pool: `${fleet.provider}@localhost`,
    slots: fleet.slotsPerInstance,
  }));
}

/** Everything `Ec2Provisioner.provision` would send for these plans on a job with nothing running yet. */
export function dryRun(jobId: string, plans: InstancePlan[], settings: Ec2Settings) {
  const launches = plans.map((p) => planLaunch(launchSlot(jobId, p, 0, settings), settings));
  const guard = new SpendGuard(settings.limits);
  let refused: string | undefined;
  try {
    guard.admit(
      jobId,
      0,
      launches.map((l) => ({ key: `${l.slot.planId}#0`, usd: l.worstCaseUsd })),
    );
  } catch (err) {
    if (!(err instanceof Ec2ProvisionError)) throw err;
    refused = `${err.name}: ${err.message}`;
  }
  const template = managedLaunchTemplateRequest(settings);
  return {
    jobId,
    region: settings.region,
    createLaunchTemplate: template ?? null,
    launchTemplate: launchTemplateSpec(settings),
    launches: launches.map((l) => ({
      planId: l.slot.planId,
      worstCaseUsd: l.worstCaseUsd,
      notes: l.notes,
      // Tried in order: the next one only when EC2 refuses capacity for the one before.
      createFleet: l.attempts.map((a) => ({
        market: a.market,
        pricePerHourBound: a.pricePerHourBound,
        input: a.request,
      })),
    })),
    limits: settings.limits,
    worstCaseUsd: launches.reduce((sum, l) => sum + l.worstCaseUsd, 0),
    admitted: refused === undefined,
    ...(refused ? { refused } : {}),
  };
}

export function registerEc2(program: Command): void {
  const ec2 = program.command('ec2').description('EC2 provisioning: dry runs and the instance boot script');
  ec2
    .command('dry-run')
    .description('print the exact EC2 requests a schedule or job would make, without calling AWS')
    .argument('<schedule.json|job.json>', 'a Schedule ({instances: [...]}), an array of plans, or a JobSpec')
    .requiredOption('--config <ec2.json>', 'EC2 settings (docs/ec2.md)')
    .option('--job <workflowId>', 'job id the requests are tagged with', 'dry-run')
    .option('--json', 'print JSON (always: the requests are JSON)')
    .addHelpText('after', '\nExample:\n  spotdag ec2 dry-run schedule.json --config ec2.json --job primes-1')
    .action((file: string, opts: { config: string; job: string }) => {
      const settings = loadEc2Settings(opts.config);
      console.log(JSON.stringify(dryRun(opts.job, plansFromFile(file), settings), null, 2));
    });
  ec2
    .command('user-data')
    .description("print the boot script that starts an instance's worker (for your own launch template)")
    .requiredOption('--config <ec2.json>', 'EC2 settings with a `worker` section')
    .option('--json', 'print {"userData": "<script>"} instead of the script')
    .action((opts: { config: string; json?: boolean }) => {
      const settings = loadEc2Settings(opts.config);
      if (!settings.worker)
        throw Object.assign(new Error(`${opts.config}: no "worker" section`), { exitCode: 2 });
      const userData = renderUserData(settings.worker, {
        lifetimeMinutes: lifetimeMinutes(settings.limits.maxInstanceHours),
      });
      process.stdout.write(opts.json ? `${JSON.stringify({ userData })}\n` : userData);
    });
}
