/**
 * Tenants on one fleet (real Temporal server, real local instances): quotas sampled all along,
 * priority over a backlog, a control-worker restart mid-run.
 */
import { LOCAL_TIMING } from '../../src/job/allocation-input';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import { ReplayMarket } from '../../src/provision/replay-market';
import { handMadeScenario } from '../../src/sim/replay-scenario';
import { expectedWorkloadSum, workloadJobSpec } from '../../src/steps';
import type { FleetUsage } from '../../src/tenancy/ledger';
import { DEFAULT_FLEET_NAME, fleetWorkflowId, type TenancyConfig } from '../../src/tenancy/types';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { SubTaskOutcome } from '../../src/job/types';
import { progressQuery, spotdagFleet, spotdagJob } from '../../workflows';
import { fleetConfigureSignal, fleetUsageQuery } from '../../workflows/fleet-messages';
import { recordHistory, setTenancy, startTestStack, stopAllInstances, uniqueId, waitFor } from './helpers';

const UNITS = 80;
const PHASE = defineSearchAttributeKey('SpotdagPhase', SearchAttributeType.KEYWORD);
const TENANTS: TenancyConfig = {
  tenants: [
    { name: 'alpha', priority: 5, weight: 1, quotas: { maxInstances: 1 }, onQuota: 'queue' },
    { name: 'beta', priority: 5, weight: 1, quotas: {}, onQuota: 'queue' },
    { name: 'gamma', priority: 5, weight: 2, quotas: { maxConcurrentJobs: 2 }, onQuota: 'queue' },
    { name: 'interns', priority: 5, weight: 1, quotas: { maxConcurrentJobs: 1 }, onQuota: 'reject' },
  ],
  fleet: { maxInstances: 4, maxConcurrentJobs: 3 },
};

function spec(tenant: string, priority?: number) {
  return {
    // One 4 s chunk per instance: a yield lands in the middle of a sub-task, past a checkpoint.
    ...workloadJobSpec(UNITS, { chunks: 2, instances: 2, input: { unitMs: 100, busy: false } }),
    tenant,
    ...(priority !== undefined ? { priority } : {}),
  };
}

describe('tenants sharing a fleet (real instances)', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;

  beforeAll(async () => {
    stack = await startTestStack({ checkpointIntervalMs: 500 });
    await setTenancy(stack, TENANTS);
  });
  afterAll(async () => {
    await stopAllInstances(stack);
    await stack.close();
  });

  it('keeps every quota while 7 jobs of 3 tenants run, lets priority 1 take instances at a checkpoint, and survives a control-worker restart', async () => {
    const fleet = stack.client.workflow.getHandle(fleetWorkflowId(DEFAULT_FLEET_NAME));
    /** The fleet's books; none before the first job starts the fleet. */
    const fleetJobs = async () => (await fleet.query(fleetUsageQuery).catch(() => undefined))?.jobs ?? [];
    const backlog = ['alpha', 'alpha', 'beta', 'beta', 'gamma', 'gamma'].map((tenant) => ({
      tenant,
      workflowId: uniqueId(`tenancy-${tenant}`),
    }));
    const urgent = { tenant: 'beta', workflowId: uniqueId('tenancy-urgent') };
    const tenantOf = new Map([...backlog, urgent].map((j) => [j.workflowId, j.tenant]));
    const violations: string[] = [];
    let queuedAtSubmit: string[] = [];
    let urgentRunningAt = 0;
    const admittedAt = new Map<string, number>();
    let samples = 0;
    let sampling = true;
    // Sampled all along: the instances that really run (the provider's processes) per tenant and
    // in all, and the fleet's own books.
    const sampler = (async () => {
      while (sampling) {
        const live = await stack.provisioner.list();
        const perTenant = new Map<string, number>();
        for (const i of live) {
          const tenant = i.jobId === undefined ? undefined : tenantOf.get(i.jobId);
          if (tenant) perTenant.set(tenant, (perTenant.get(tenant) ?? 0) + 1);
        }
        const mine = [...perTenant.values()].reduce((a, b) => a + b, 0);
        if (mine > TENANTS.fleet.maxInstances!) violations.push(`${mine} instances on the fleet`);
        if ((perTenant.get('alpha') ?? 0) > 1)
          violations.push(`alpha ran ${perTenant.get('alpha')} instances`);
        try {
          const usage: FleetUsage = await fleet.query(fleetUsageQuery);
          const admitted = usage.jobs.filter((j) => j.status === 'admitted');
          if (admitted.length > TENANTS.fleet.maxConcurrentJobs!)
            violations.push(`${admitted.length} jobs admitted`);
          const gamma = admitted.filter((j) => j.tenant === 'gamma').length;
          if (gamma > 2) violations.push(`gamma had ${gamma} jobs admitted`);
          for (const j of admitted) if (!admittedAt.has(j.jobId)) admittedAt.set(j.jobId, Date.now());
        } catch {
          // No fleet yet, or no worker to answer (the restart): the processes are still sampled.
        }
        samples++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const start = (job: { tenant: string; workflowId: string }, priority?: number) =>
      stack.client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId: job.workflowId,
        args: [spec(job.tenant, priority), { subTaskPolicy: { heartbeatTimeoutSeconds: 5 } }],
      });

    try {
      // First control worker: the backlog, then the urgent job once the fleet is full and jobs wait.
      const first = await stack.createWorker();
      const handles = await first.runUntil(async () => {
        const started: Array<Awaited<ReturnType<typeof start>>> = [];
        for (const job of backlog) started.push(await start(job));
        await waitFor(
          async () => (await fleetJobs()).filter((j) => j.status === 'queued').length >= 3,
          60_000,
          'three backlog jobs queued',
        );
        // A backlog job waits visibly: phase `queued` with its place, in its search attribute too.
        await waitFor(
          async () => {
            const waiting = (await fleetJobs()).find((j) => j.status === 'queued');
            if (!waiting) return false;
            const handle = stack.client.workflow.getHandle(waiting.jobId);
            const progress = await handle.query(progressQuery).catch(() => undefined);
            const phase = (await handle.describe()).typedSearchAttributes.get(PHASE);
            return progress?.phase === 'queued' && (progress.queuePosition ?? 0) >= 1 && phase === 'queued';
          },
          30_000,
          'a backlog job shown queued',
        );
        // The urgent job, submitted behind them once the admitted ones run on all their instances
        // (and have checkpointed), takes instances from them.
        await waitFor(
          async () => {
            const admitted = (await fleetJobs()).filter((j) => j.status === 'admitted');
            const running = await Promise.all(
              admitted.map((j) =>
                stack.client.workflow
                  .getHandle(j.jobId)
                  .query(progressQuery)
                  .catch(() => undefined),
              ),
            );
            return (
              admitted.length > 0 && running.every((p, i) => p?.running === admitted[i]!.reservedInstances)
            );
          },
          60_000,
          'the admitted backlog jobs running on all their instances',
        );
        await new Promise((r) => setTimeout(r, 1_000));
        queuedAtSubmit = (await fleetJobs()).filter((j) => j.status === 'queued').map((j) => j.jobId);
        const urgentHandle = await start(urgent, 1);
        await waitFor(
          async () => {
            const p = await urgentHandle.query(progressQuery).catch(() => undefined);
            return (p?.running ?? 0) + (p?.done ?? 0) > 0;
          },
          60_000,
          'the urgent job running a sub-task',
        );
        urgentRunningAt = Date.now();
        // Restart while jobs run.
        await waitFor(
          async () => (await Promise.all(started.map((h) => h.query(progressQuery)))).some((p) => p.done > 0),
          60_000,
          'a backlog job making progress',
        );
        return [...started, urgentHandle];
      });
      // Second control worker (a new process would do the same): everything carries on.
      const results = await stack.runUntil(() => Promise.all(handles.map((h) => h.result())));
      for (const result of results) expect(result.result).toBe(expectedWorkloadSum(1, UNITS));

      // The urgent job (priority 1, submitted last) ran a sub-task before any backlog job that was
      // queued when it came was even admitted.
      expect(queuedAtSubmit.length).toBeGreaterThan(0);
      for (const jobId of queuedAtSubmit) expect(admittedAt.get(jobId)).toBeGreaterThan(urgentRunningAt);

      // The instances it took were yielded at a checkpoint: a stopped sub-task resumed from it.
      const outcomes = await Promise.all(
        backlog.map(async (job) => {
          const history = await stack.client.workflow.getHandle(job.workflowId).fetchHistory();
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
      const yielded = outcomes.flat().filter((o) => o.relocations.some((r) => r.reason === 'stopped'));
      console.log(
        JSON.stringify(yielded.map((o) => ({ id: o.subTaskId, resumedFromProgress: o.resumedFromProgress }))),
      );
      expect(yielded.some((o) => (o.resumedFromProgress ?? 0) > 0)).toBe(true);

      // Its sub-tasks' child workflows carry its priority and its tenant's fairness key and weight
      // (their activities inherit them).
      const history = await stack.client.workflow.getHandle(urgent.workflowId).fetchHistory();
      const children = (history.events ?? []).flatMap((e) =>
        e.startChildWorkflowExecutionInitiatedEventAttributes
          ? [e.startChildWorkflowExecutionInitiatedEventAttributes]
          : [],
      );
      expect(children.length).toBeGreaterThan(0);
      await recordHistory(stack.client, 'spotdagJob-tenant-urgent', urgent.workflowId);
      await recordHistory(stack.client, 'spotdagFleet-running', fleetWorkflowId(DEFAULT_FLEET_NAME));
      for (const child of children)
        expect(child.priority).toMatchObject({ priorityKey: 1, fairnessKey: 'beta', fairnessWeight: 1 });

      // A tenant set to reject: its second job fails naming the quota while the first runs.
      const interns = [uniqueId('tenancy-interns'), uniqueId('tenancy-interns')];
      const [ok, refused] = await stack.runUntil(async () => {
        const a = await start({ tenant: 'interns', workflowId: interns[0]! });
        await waitFor(
          async () => (await fleetJobs()).some((j) => j.jobId === interns[0] && j.status === 'admitted'),
          30_000,
          'the interns job admitted',
        );
        const b = await start({ tenant: 'interns', workflowId: interns[1]! });
        return Promise.allSettled([a.result(), b.result()]);
      });
      expect(ok.status).toBe('fulfilled');
      expect(refused.status).toBe('rejected');
      expect(String((refused as PromiseRejectedResult).reason.cause?.message)).toContain(
        'tenant interns: quotas.maxConcurrentJobs (1) reached',
      );
    } finally {
      sampling = false;
      await sampler;
    }
    console.log(JSON.stringify({ samples, violations, admittedAt: Object.fromEntries(admittedAt) }));
    expect(samples).toBeGreaterThan(50);
    expect(violations).toEqual([]);
  }, 300_000);
});

describe('the fleet workflow across continue-as-new', () => {
  it('carries its books to the next run', async () => {
    const stack = await startTestStack();
    try {
      const fleetId = uniqueId('fleet-can');
      const tenants = Array.from({ length: 25 }, (_, i) => ({
        name: `t${i}`,
        priority: 3,
        weight: 1 + (i % 3),
        quotas: { maxInstances: i + 1 },
        onQuota: 'queue' as const,
      }));
      const usage = await stack.runUntil(async () => {
        const handle = await stack.client.workflow.start(spotdagFleet, {
          taskQueue: CONTROL_TASK_QUEUE,
          workflowId: fleetId,
          args: [fleetId, null, { eventsPerRun: 10 }],
        });
        // One new tenant per message: 25 messages, so at least two new runs, each starting from
        // the books the last one carried.
        for (let i = 1; i <= tenants.length; i++)
          await handle.signal(fleetConfigureSignal, {
            tenants: [tenants[i - 1]!],
            limits: { maxInstances: 99 },
          });
        await waitFor(
          async () =>
            (await handle.query(fleetUsageQuery).catch(() => undefined))?.tenants.length === tenants.length,
          30_000,
          'every tenant in the books',
        );
        // It continued as new (more than once): the current run is not the first.
        expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
        return handle.query(fleetUsageQuery);
      });
      expect(usage.limits).toEqual({ maxInstances: 99 });
      const byName = (x: { name: string }, y: { name: string }) => (x.name < y.name ? -1 : 1);
      expect(usage.tenants.map((t) => ({ name: t.tenant, weight: t.weight, quotas: t.quotas }))).toEqual(
        [...tenants].sort(byName).map((t) => ({ name: t.name, weight: t.weight, quotas: t.quotas })),
      );
      await stack.client.workflow.getHandle(fleetId).terminate('test over');
    } finally {
      await stack.close();
    }
  });
});

describe("a tenant's spend quota (real instances on a priced market)", () => {
  it('stops a job before its spend passes the quota, naming it; nothing it ran cost more', async () => {
    // Spot at $0.03/h, on-demand at $0.10/h, never interrupted: the job's instances cost money.
    const market = new ReplayMarket({
      id: uniqueId('spend-market'),
      scenario: handMadeScenario([
        {
          instanceType: 'c5.large',
          zone: 'us-east-1a',
          region: 'us-east-1',
          vcpu: 2,
          memoryMiB: 4096,
          spotPricePerHour: 0.03,
          onDemandPricePerHour: 0.1,
          available: Array<boolean>(3600).fill(true),
          tickSeconds: 1,
          hazardPerHour: 0,
        },
      ]),
      fleet: {
        maxInstances: 2,
        bootSeconds: 2,
        checkpointSeconds: 0.1,
        restartSeconds: 1,
        minCheckpointIntervalSeconds: 1,
      },
      timing: LOCAL_TIMING,
    });
    const stack = await startTestStack({ market, checkpointIntervalMs: 500 });
    const cap = 0.0002; // 24 s of spot at $0.03/h, 7 s of on-demand at $0.10/h
    try {
      await setTenancy(stack, {
        tenants: [
          { name: 'capped', priority: 3, weight: 1, quotas: { maxSpendPerJobUsd: cap }, onQuota: 'queue' },
        ],
        fleet: { drainSeconds: 3 },
      });
      const workflowId = uniqueId('spend-capped');
      const spec = {
        // A minute of work on one instance: more than the quota buys at any of the market's prices.
        ...workloadJobSpec(300, { chunks: 2, instances: 1, input: { unitMs: 200, busy: false } }),
        tenant: 'capped',
      };
      const outcome = await stack.runUntil(async () => {
        const handle = await stack.client.workflow.start(spotdagJob, {
          taskQueue: CONTROL_TASK_QUEUE,
          workflowId,
          args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: 5 } }],
        });
        return handle.result().then(
          () => undefined,
          (err: Error & { cause?: Error }) => err.cause?.message,
        );
      });
      expect(outcome).toBe(`tenant capped: quotas.maxSpendPerJobUsd ($${cap}) reached by job ${workflowId}`);
      // What its instances cost, as the provider bills them (at the price paid, for the time run).
      const billed = await stack.provisioner.bill(workflowId);
      console.log(JSON.stringify({ billed, cap }));
      expect(billed).toBeGreaterThan(0);
      expect(billed).toBeLessThanOrEqual(cap);
      expect(await stack.provisioner.list(workflowId)).toEqual([]);
      // The fleet's books (at the price bound the job planned with, at least what was paid) agree.
      const usage = await stack.runUntil(() =>
        stack.client.workflow.getHandle(fleetWorkflowId(DEFAULT_FLEET_NAME)).query(fleetUsageQuery),
      );
      const capped = usage.tenants.find((t) => t.tenant === 'capped')!;
      expect(capped.spendUsd).toBeGreaterThanOrEqual(billed);
      expect(capped.spendUsd).toBeLessThanOrEqual(cap);
    } finally {
      await stopAllInstances(stack);
      await stack.close();
    }
  }, 120_000);
});
