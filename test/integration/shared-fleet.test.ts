/**
 * A shared fleet (`fleet.shared`) on a real Temporal server with real local instances: the fleet
 * workflow launches the instances, packs leases of several tenants' jobs onto them, keeps them
 * warm for the next job, terminates one that is killed for real and tells every job on it; the
 * instance limit holds all along, and the control worker is replaced right after the kill.
 */
import type { SubTaskOutcome } from '../../src/job/types';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import { expectedWorkloadSum, workloadJobSpec } from '../../src/steps';
import type { FleetUsage } from '../../src/tenancy/ledger';
import { DEFAULT_FLEET_NAME, fleetWorkflowId, type TenancyConfig } from '../../src/tenancy/types';
import { progressQuery, spotdagJob } from '../../workflows';
import { fleetUsageQuery } from '../../workflows/fleet-messages';
import {
  endDefaultFleet,
  recordHistory,
  setTenancy,
  startTestStack,
  stopAllInstances,
  TEST_LONG_POLL_SECONDS,
  uniqueId,
  waitFor,
} from './helpers';

const UNITS = 60;
const MAX_INSTANCES = 3;
const TENANTS: TenancyConfig = {
  tenants: [
    { name: 'alpha', priority: 5, weight: 1, quotas: { maxInstances: 1 }, onQuota: 'queue' },
    { name: 'beta', priority: 5, weight: 1, quotas: {}, onQuota: 'queue' },
    { name: 'gamma', priority: 5, weight: 2, quotas: {}, onQuota: 'queue' },
  ],
  fleet: { maxInstances: MAX_INSTANCES, shared: true, slotsPerInstance: 2, warmSeconds: 5 },
};

/** A job of one instance with one slot: two jobs fit on one of the fleet's instances. */
function spec(tenant: string) {
  return {
    ...workloadJobSpec(UNITS, {
      chunks: 2,
      instances: 1,
      slotsPerInstance: 1,
      input: { unitMs: 100, busy: false },
    }),
    tenant,
  };
}

describe('a shared fleet (real instances)', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  const fleetId = fleetWorkflowId(DEFAULT_FLEET_NAME);

  beforeAll(async () => {
    stack = await startTestStack({ checkpointIntervalMs: 500 });
    // A fleet left by another test file would carry its books: this one starts afresh.
    await endDefaultFleet(stack, 'a fresh fleet for the shared-fleet test');
    await setTenancy(stack, TENANTS);
  });
  afterAll(async () => {
    // Later test files start their own fleet (with their own settings).
    await endDefaultFleet(stack, 'the shared-fleet test is over');
    await stopAllInstances(stack);
    await stack.close();
  });

  it('packs 6 jobs of 3 tenants onto the fleet’s instances, keeps the instance limit, and moves the work of a killed instance across a control-worker restart', async () => {
    const fleet = stack.client.workflow.getHandle(fleetId);
    const jobs = ['alpha', 'alpha', 'beta', 'beta', 'gamma', 'gamma'].map((tenant) => ({
      tenant,
      workflowId: uniqueId(`shared-${tenant}`),
    }));
    const violations: string[] = [];
    const launched = new Set<string>();
    let mostJobsOnOne = 0;
    let samples = 0;
    let sampling = true;
    let lastUsage: FleetUsage | undefined;
    const sampler = (async () => {
      while (sampling) {
        // The processes that really run: the fleet's, and none of any job's own.
        const live = await stack.provisioner.list();
        for (const i of live) if (i.jobId === fleetId) launched.add(i.id);
        const own = live.filter((i) => i.jobId !== fleetId && jobs.some((j) => j.workflowId === i.jobId));
        if (own.length > 0)
          violations.push(`a job launched its own instance: ${own.map((i) => i.id).join(', ')}`);
        const fleets = live.filter((i) => i.jobId === fleetId).length;
        if (fleets > MAX_INSTANCES) violations.push(`${fleets} instances on the fleet`);
        try {
          lastUsage = await fleet.query(fleetUsageQuery);
          for (const inst of lastUsage.sharedInstances ?? [])
            mostJobsOnOne = Math.max(mostJobsOnOne, Object.keys(inst.taken).length);
          const alpha = lastUsage.tenants.find((t) => t.tenant === 'alpha');
          if (alpha && alpha.instances > 1) violations.push(`alpha held ${alpha.instances} leases`);
        } catch {
          // No fleet yet.
        }
        samples++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    let killed: { id: string; jobs: string[] } | undefined;
    try {
      // The first control worker runs until the kill; a second one (a restart) runs the rest.
      const first = await stack.createWorker();
      const handles = await first.runUntil(async () => {
        const handles = [];
        for (const job of jobs)
          handles.push(
            await stack.client.workflow.start(spotdagJob, {
              taskQueue: CONTROL_TASK_QUEUE,
              workflowId: job.workflowId,
              args: [spec(job.tenant), { subTaskPolicy: { heartbeatTimeoutSeconds: 5 } }],
            }),
          );
        // Once an instance runs sub-tasks of two jobs, and both have checkpointed, it is killed.
        await waitFor(
          async () => {
            const usage = await fleet.query(fleetUsageQuery).catch(() => undefined);
            const shared = usage?.sharedInstances?.find(
              (i) => Object.keys(i.taken).length >= 2 && i.instanceId !== undefined,
            );
            if (!shared) return false;
            const progress = await Promise.all(
              Object.keys(shared.taken).map((id) =>
                stack.client.workflow
                  .getHandle(id)
                  .query(progressQuery)
                  .catch(() => undefined),
              ),
            );
            if (!progress.every((p) => (p?.running ?? 0) > 0)) return false;
            killed = { id: shared.instanceId!, jobs: Object.keys(shared.taken) };
            return true;
          },
          90_000,
          'an instance running sub-tasks of two jobs',
        );
        await new Promise((r) => setTimeout(r, 1_500)); // past a checkpoint
        expect(stack.provisioner.kill(killed!.id, 'SIGKILL')).toBe(true);
        return handles;
      });
      const results = await stack.runUntil(async () => {
        const done = await Promise.all(handles.map((h) => h.result()));
        // Warm instances go after their warm time: the fleet holds none.
        await waitFor(
          async () => (await stack.provisioner.list()).every((i) => i.jobId !== fleetId),
          30_000,
          'the fleet releasing its warm instances',
        );
        lastUsage = await fleet.query(fleetUsageQuery);
        await recordHistory(stack.client, 'spotdagJob-shared-fleet', killed!.jobs[0]!);
        await recordHistory(stack.client, 'spotdagFleet-shared', fleetId);
        return done;
      });
      for (const result of results) expect(result.result).toBe(expectedWorkloadSum(1, UNITS));

      // Both jobs on the killed instance were told, and their work moved on, from a checkpoint.
      for (const jobId of killed!.jobs) {
        const result = results[jobs.findIndex((j) => j.workflowId === jobId)]!;
        expect(result.interruptions).toBeGreaterThanOrEqual(1);
      }
      const outcomes = await Promise.all(
        killed!.jobs.map(async (jobId) => {
          const history = await stack.client.workflow.getHandle(jobId).fetchHistory();
          const ids = (history.events ?? []).flatMap((e) => {
            const id = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
            return id ? [id] : [];
          });
          return Promise.all(
            [...new Set(ids)].map(
              (id) => stack.client.workflow.getHandle(id).result() as Promise<SubTaskOutcome>,
            ),
          );
        }),
      );
      const moved = outcomes.flat().filter((o) => o.relocations.length > 0);
      expect(moved.length).toBeGreaterThan(0);
      expect(moved.some((o) => (o.resumedFromProgress ?? 0) > 0)).toBe(true);
    } finally {
      sampling = false;
      await sampler;
    }
    console.log(JSON.stringify({ samples, violations, launched: launched.size, mostJobsOnOne }));
    expect(samples).toBeGreaterThan(50);
    expect(violations).toEqual([]);
    // Packed: two jobs on one instance; and fewer instances launched than the jobs' leases (6).
    expect(mostJobsOnOne).toBeGreaterThanOrEqual(2);
    expect(launched.size).toBeLessThan(jobs.length);
    expect(lastUsage?.sharedInstances ?? []).toEqual([]);
    expect(lastUsage?.jobs ?? []).toEqual([]);
  }, 300_000);
});

/**
 * A shared instance that hangs while warm (a SIGSTOP the provider is told not to see): it has free
 * slots, so it would poll if it were alive; the poller watch tells the fleet, which terminates it,
 * and the next job gets a new instance.
 */
describe('a hung shared instance (real instances)', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  const fleetId = fleetWorkflowId(DEFAULT_FLEET_NAME);

  beforeAll(async () => {
    stack = await startTestStack({
      checkpointIntervalMs: 500,
      seeSuspended: false,
      // The test server holds polls 1 s: a queue with no poll for 2 s has a dead or hung worker.
      liveness: { pollerBoundSeconds: TEST_LONG_POLL_SECONDS + 1, pollerCheckEverySeconds: 0.5 },
    });
    await endDefaultFleet(stack, 'a fresh fleet for the hung-instance test');
    await setTenancy(stack, { ...TENANTS, fleet: { ...TENANTS.fleet, warmSeconds: 120 } });
  });
  afterAll(async () => {
    await endDefaultFleet(stack, 'the hung-instance test is over');
    await stopAllInstances(stack);
    await stack.close();
  });

  it('is terminated once it stops polling with a slot free, and the next job runs on a new one', async () => {
    const fleet = stack.client.workflow.getHandle(fleetId);
    const run = (tenant: string) =>
      stack.client.workflow.execute(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId: uniqueId(`shared-hung-${tenant}`),
        args: [spec(tenant), { subTaskPolicy: { heartbeatTimeoutSeconds: 5 } }],
      });
    await stack.runUntil(async () => {
      expect((await run('beta')).result).toBe(expectedWorkloadSum(1, UNITS));
      // Its instance stays warm, with nothing leased.
      const warm = (await fleet.query(fleetUsageQuery)).sharedInstances ?? [];
      expect(warm).toHaveLength(1);
      expect(warm[0]!.taken).toEqual({});
      const hung = warm[0]!.instanceId!;
      expect(stack.provisioner.kill(hung, 'SIGSTOP')).toBe(true);
      await waitFor(
        async () => (await stack.provisioner.list()).every((i) => i.id !== hung),
        30_000, // found within the bound, then released: SIGTERM, and SIGKILL 10 s later
        'the fleet terminating the hung instance',
      );
      expect((await fleet.query(fleetUsageQuery)).sharedInstances ?? []).toEqual([]);
      // The next job gets a new instance, and its result is exact.
      expect((await run('gamma')).result).toBe(expectedWorkloadSum(1, UNITS));
      const next = (await fleet.query(fleetUsageQuery)).sharedInstances ?? [];
      expect(next.map((i) => i.instanceId)).not.toContain(hung);
      expect(next).toHaveLength(1);
    });
  }, 120_000);
});
