import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/client';
import { withStore } from '../checkpoint-store';
import { parseJsonText } from '../../src/dag/spec';
import {
  parseTenancyConfig,
  parseTenant,
  readTenancyConfig,
  updateTenancyConfig,
} from '../../src/tenancy/config';
import type { FleetUsage } from '../../src/tenancy/ledger';
import { DEFAULT_FLEET_NAME, fleetWorkflowId, type TenancyConfig } from '../../src/tenancy/types';
import { fleetConfigureSignal, fleetUsageQuery } from '../../workflows/fleet-messages';
import { nonNegativeNumber, positiveInt, positiveNumber } from '../args';
import { connectClient } from '../client';
import { EXIT } from '../errors';
import { defaultCheckpointStore } from './report';

interface SetOptions {
  file?: string;
  priority?: number;
  weight?: number;
  maxInstances?: number;
  maxJobs?: number;
  maxSpendPerJob?: number;
  maxSpendPerDay?: number;
  onQuota?: 'queue' | 'reject';
  fleetMaxInstances?: number;
  fleetMaxJobs?: number;
  fleetShared?: boolean;
  fleetSlotsPerInstance?: number;
  fleetWarmSeconds?: number;
  checkpointStore: string;
  json?: boolean;
}

/** Tells a running fleet its new settings; without a server or fleet, jobs read them when they start. */
async function tellFleet(config: TenancyConfig): Promise<boolean> {
  let connected: Awaited<ReturnType<typeof connectClient>> | undefined;
  try {
    connected = await connectClient();
    await connected.client.workflow
      .getHandle(fleetWorkflowId(DEFAULT_FLEET_NAME))
      .signal(fleetConfigureSignal, { tenants: config.tenants, limits: config.fleet });
    return true;
  } catch {
    return false;
  } finally {
    await connected?.close();
  }
}

function formatQuotas(q: object): string {
  const parts = Object.entries(q as Record<string, number | undefined>)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${v}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

export function registerTenants(program: Command): void {
  const tenants = program
    .command('tenants')
    .description('tenants sharing a fleet: their priority, weight and quotas (docs/tenants.md)');
  const storeOption = () =>
    new Option('--checkpoint-store <url>', 'where tenant settings are kept').default(
      defaultCheckpointStore(),
    );

  tenants
    .command('list')
    .description('the configured tenants and fleet limits')
    .addOption(storeOption())
    .option('--json', 'print JSON')
    .action(async (opts: { checkpointStore: string; json?: boolean }) => {
      const config = (await withStore(opts.checkpointStore, readTenancyConfig)) ?? { tenants: [], fleet: {} };
      if (opts.json) return console.log(JSON.stringify(config));
      const limited = Object.values(config.fleet).some((v) => v !== undefined);
      if (config.tenants.length === 0)
        console.log(
          limited
            ? 'No tenants are configured: jobs run as `default` on the shared fleet.'
            : 'No tenants are configured: every job runs on its own, outside any fleet.',
        );
      for (const t of config.tenants)
        console.log(
          `${t.name}  priority ${t.priority}  weight ${t.weight}  on quota: ${t.onQuota}  quotas: ${formatQuotas(t.quotas)}`,
        );
      console.log(`fleet limits: ${formatQuotas(config.fleet)}`);
    });

  tenants
    .command('set')
    .description('add or change a tenant (options not given keep their value), or replace all with --file')
    .argument('[name]', 'the tenant')
    .option('--file <tenants.json>', 'replace every tenant and the fleet limits with this file')
    .option('--priority <1-5>', 'priority key of its jobs (1 first)', positiveInt)
    .option('--weight <w>', 'its share of contended capacity', positiveNumber)
    .option('--max-instances <n>', 'instances of all its jobs at once', positiveInt)
    .option('--max-jobs <n>', 'its jobs admitted at once', positiveInt)
    .option('--max-spend-per-job <usd>', 'instance spend of one job', positiveNumber)
    .option('--max-spend-per-day <usd>', 'instance spend per UTC day', positiveNumber)
    .addOption(
      new Option('--on-quota <what>', 'a job over a quota waits or is rejected').choices(['queue', 'reject']),
    )
    .option('--fleet-max-instances <n>', 'instances of the whole fleet at once', positiveInt)
    .option('--fleet-max-jobs <n>', 'jobs admitted at once on the whole fleet', positiveInt)
    .option('--fleet-shared', 'one pool of instances the fleet owns and packs jobs onto')
    .option('--no-fleet-shared', 'every job launches its own (leased) instances')
    .option('--fleet-slots-per-instance <n>', 'slots of each shared instance', positiveInt)
    .option('--fleet-warm-seconds <s>', 'how long an idle shared instance stays up', nonNegativeNumber)
    .addOption(storeOption())
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  spotdag tenants set research --weight 2 --max-instances 8 --max-spend-per-day 50\n' +
        '  spotdag tenants set interns --priority 5 --max-instances 1 --on-quota reject\n' +
        '  spotdag tenants set --file tenants.json',
    )
    .action(async (name: string | undefined, opts: SetOptions) => {
      const stored = await withStore(opts.checkpointStore, (store) =>
        updateTenancyConfig(store, (current) => {
          if (opts.file) return parseTenancyConfig(parseJsonText(readFileSync(opts.file, 'utf8'), opts.file));
          const fleet = {
            ...current.fleet,
            ...(opts.fleetMaxInstances !== undefined ? { maxInstances: opts.fleetMaxInstances } : {}),
            ...(opts.fleetMaxJobs !== undefined ? { maxConcurrentJobs: opts.fleetMaxJobs } : {}),
            ...(opts.fleetShared !== undefined ? { shared: opts.fleetShared } : {}),
            ...(opts.fleetSlotsPerInstance !== undefined
              ? { slotsPerInstance: opts.fleetSlotsPerInstance }
              : {}),
            ...(opts.fleetWarmSeconds !== undefined ? { warmSeconds: opts.fleetWarmSeconds } : {}),
          };
          if (name === undefined) return { ...current, fleet };
          const before = current.tenants.find((t) => t.name === name);
          const tenant = parseTenant({
            ...before,
            name,
            ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
            ...(opts.weight !== undefined ? { weight: opts.weight } : {}),
            ...(opts.onQuota !== undefined ? { onQuota: opts.onQuota } : {}),
            quotas: {
              ...before?.quotas,
              ...(opts.maxInstances !== undefined ? { maxInstances: opts.maxInstances } : {}),
              ...(opts.maxJobs !== undefined ? { maxConcurrentJobs: opts.maxJobs } : {}),
              ...(opts.maxSpendPerJob !== undefined ? { maxSpendPerJobUsd: opts.maxSpendPerJob } : {}),
              ...(opts.maxSpendPerDay !== undefined ? { maxSpendPerDayUsd: opts.maxSpendPerDay } : {}),
            },
          });
          return { tenants: [...current.tenants.filter((t) => t.name !== name), tenant], fleet };
        }),
      );
      const told = await tellFleet(stored);
      if (opts.json) return console.log(JSON.stringify({ ...stored, fleetTold: told }));
      console.log(`Stored ${stored.tenants.length} tenant(s) in ${opts.checkpointStore}.`);
      console.log(told ? 'The running fleet has the new settings.' : 'Jobs read them when they start.');
    });

  tenants
    .command('remove')
    .description('remove a tenant (its jobs already admitted run on; new ones are refused)')
    .argument('<name>', 'the tenant')
    .addOption(storeOption())
    .action(async (name: string, opts: { checkpointStore: string }) => {
      const stored = await withStore(opts.checkpointStore, (store) =>
        updateTenancyConfig(store, (current) => {
          if (!current.tenants.some((t) => t.name === name))
            throw Object.assign(new Error(`no tenant ${name} is configured`), { exitCode: 2 });
          return { ...current, tenants: current.tenants.filter((t) => t.name !== name) };
        }),
      );
      await tellFleet(stored);
      console.log(`Removed ${name}; ${stored.tenants.length} tenant(s) left.`);
    });

  tenants
    .command('usage')
    .description("each tenant's jobs, instances and spend now, from the running fleet")
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { client, close } = await connectClient();
      try {
        let usage: FleetUsage;
        try {
          usage = await client.workflow.getHandle(fleetWorkflowId(DEFAULT_FLEET_NAME)).query(fleetUsageQuery);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) {
            if (opts.json) return console.log(JSON.stringify({ tenants: [], jobs: [] }));
            return console.log('No fleet is running: no job has run as a tenant on this server yet.');
          }
          // A query is answered by a worker: none polls the control queue now.
          if (/no poller/i.test(`${(err as Error).message} ${String((err as Error).cause)}`))
            throw Object.assign(
              new Error(
                'the fleet workflow has no worker to answer now: start a control worker (`spotdag worker`) or run a job, then ask again',
              ),
              { exitCode: EXIT.environment },
            );
          throw err;
        }
        if (opts.json) return console.log(JSON.stringify(usage));
        for (const t of usage.tenants)
          console.log(
            `${t.tenant}  jobs ${t.admittedJobs} running, ${t.queuedJobs} queued  instances ${t.instances}` +
              `${t.quotas.maxInstances !== undefined ? `/${t.quotas.maxInstances}` : ''}` +
              `  spend today $${t.spendTodayUsd.toFixed(4)}, total $${t.spendUsd.toFixed(4)}`,
          );
        for (const j of usage.jobs)
          console.log(
            `  ${j.jobId}  ${j.tenant}  priority ${j.priority}  ${j.status}${j.position !== undefined ? ` #${j.position}` : ''}` +
              `  instances ${j.instances} (+${j.waitingInstances} waiting)  $${j.spendUsd.toFixed(4)}`,
          );
        for (const i of usage.sharedInstances ?? []) {
          const taken = Object.entries(i.taken).map(([job, n]) => `${job} ×${n}`);
          console.log(
            `shared ${i.instanceId ?? `${i.id} (launching)`}  ${i.pool}  ${i.slots} slots: ` +
              (taken.length > 0 ? taken.join(', ') : 'idle (warm)'),
          );
        }
      } finally {
        await close();
      }
    });
}
