/**
 * `spotdag bench tenancy`: tenants sharing one fleet, measured on real local instances.
 *
 * Three tenants (weights 1:1:2) each submit a backlog of priority-5 jobs onto a fleet of 4
 * instances; once every tenant has jobs waiting, a priority-1 job comes. The same priority-1 job
 * also runs alone first. Sampled every 100 ms all along: the instance processes that really run
 * (quota violations) and the fleet's books (each tenant's leased instances, for fairness).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openCheckpointStore } from '../src/checkpoint';
import type { JobResult } from '../src/job/types';
import { CONTROL_TASK_QUEUE } from '../src/names';
import { expectedWorkloadSum, workloadJobSpec } from '../src/steps';
import { updateTenancyConfig } from '../src/tenancy/config';
import { DEFAULT_FLEET_NAME, fleetWorkflowId, type TenancyConfig } from '../src/tenancy/types';
import { spotdagJob } from '../workflows';
import { fleetUsageQuery } from '../workflows/fleet-messages';
import { stopLocalServer } from '../workers/dev-server';
import { startLocalStack, type LocalStack } from '../workers/local-stack';

export interface TenancyBenchOptions {
  /** Priority-5 jobs each tenant submits. */
  jobsPerTenant: number;
  /** Units of 100 ms of work of the priority-1 job (it runs on 2 instances). */
  urgentUnits: number;
  /** Units of each backlog job (1 instance). */
  backlogUnits: number;
  log: (line: string) => void;
}

export interface TenancyBenchResult {
  quotaViolations: number;
  /** Jain's index over the tenants' mean leased instances ÷ weight while all had jobs waiting. */
  jainFairness: number;
  /** The priority-1 job's makespan under the backlog ÷ alone. */
  highPrioritySlowdown: number;
  /** Not measured: jobs do not share instances yet (docs/tenants.md, "Not yet"). */
  sharedFleetCostRatio: null;
  sharedFleetCostRatioNote: string;
  realJobs: number;
  correct: boolean;
  details: {
    tenants: Array<{ tenant: string; weight: number; meanInstances: number; sharePerWeight: number }>;
    backloggedSamples: number;
    samples: number;
    violations: string[];
    urgentAloneSeconds: number;
    urgentUnderBacklogSeconds: number;
    fleetMaxInstances: number;
  };
}

const FLEET_MAX_INSTANCES = 4;
const TENANTS: TenancyConfig = {
  tenants: [
    { name: 'alpha', priority: 5, weight: 1, quotas: {}, onQuota: 'queue' },
    { name: 'beta', priority: 5, weight: 1, quotas: {}, onQuota: 'queue' },
    { name: 'gamma', priority: 5, weight: 2, quotas: {}, onQuota: 'queue' },
  ],
  fleet: { maxInstances: FLEET_MAX_INSTANCES },
};

/** Jain's fairness index of `x`: 1 when all are equal, 1/n when one has everything. */
export function jainIndex(x: number[]): number {
  const sum = x.reduce((a, b) => a + b, 0);
  const squares = x.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (x.length * squares);
}

function jobSpec(tenant: string, units: number, instances: number, priority?: number) {
  return {
    ...workloadJobSpec(units, { chunks: instances * 2, instances, input: { unitMs: 100, busy: false } }),
    name: `tenancy-${tenant}`,
    tenant,
    ...(priority !== undefined ? { priority } : {}),
  };
}

export async function runTenancyBench(options: TenancyBenchOptions): Promise<TenancyBenchResult> {
  const { log } = options;
  const stateDir = mkdtempSync(path.join(tmpdir(), 'spotdag-tenancy-'));
  const stack = await startLocalStack({ stateDir, checkpointIntervalMs: 500, log });
  try {
    const store = await openCheckpointStore(stack.checkpointStore);
    try {
      await updateTenancyConfig(store, () => TENANTS);
    } finally {
      await store.close();
    }
    return await stack.runUntil(() => measure(stack, options));
  } finally {
    await Promise.all((await stack.provisioner.list()).map((i) => stack.provisioner.stop(i.id, 2_000)));
    await stack.close();
    await stopLocalServer(stateDir);
  }
}

async function measure(stack: LocalStack, options: TenancyBenchOptions): Promise<TenancyBenchResult> {
  const { log } = options;
  const stamp = Date.now().toString(36);
  const start = async (workflowId: string, spec: ReturnType<typeof jobSpec>) => {
    const handle = await stack.client.workflow.start(spotdagJob, {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: 5 } }],
    });
    const startedAtMs = Date.now();
    return handle
      .result()
      .then((result: JobResult) => ({ result, seconds: (Date.now() - startedAtMs) / 1000 }));
  };
  const urgentSpec = jobSpec('beta', options.urgentUnits, 2, 1);
  const expectUrgent = expectedWorkloadSum(1, options.urgentUnits);
  const expectBacklog = expectedWorkloadSum(1, options.backlogUnits);

  log('the priority-1 job alone…');
  const alone = await start(`tenancy-urgent-alone-${stamp}`, urgentSpec);
  log(`  ${alone.seconds.toFixed(1)} s`);

  const tenantOf = new Map<string, string>();
  const fleet = stack.client.workflow.getHandle(fleetWorkflowId(DEFAULT_FLEET_NAME));
  const violations: string[] = [];
  const leasedSum = new Map<string, number>();
  let backlogged = 0;
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const live = await stack.provisioner.list();
      const running = live.filter((i) => i.jobId !== undefined && tenantOf.has(i.jobId)).length;
      if (running > FLEET_MAX_INSTANCES)
        violations.push(`${running} instances running on a fleet of ${FLEET_MAX_INSTANCES}`);
      const usage = await fleet.query(fleetUsageQuery).catch(() => undefined);
      if (usage) {
        const leased = usage.tenants.reduce((n, t) => n + t.instances, 0);
        if (leased > FLEET_MAX_INSTANCES)
          violations.push(`${leased} leases on a fleet of ${FLEET_MAX_INSTANCES}`);
        const names = TENANTS.tenants.map((t) => t.name);
        const waiting = (name: string) => usage.jobs.some((j) => j.tenant === name && j.status === 'queued');
        if (names.every(waiting)) {
          backlogged++;
          for (const t of usage.tenants)
            leasedSum.set(t.tenant, (leasedSum.get(t.tenant) ?? 0) + t.instances);
        }
      }
      samples++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  try {
    log(`a backlog of ${options.jobsPerTenant} priority-5 jobs per tenant…`);
    const backlog: Array<Promise<{ result: JobResult; seconds: number }>> = [];
    for (let i = 0; i < options.jobsPerTenant; i++)
      for (const t of TENANTS.tenants) {
        const id = `tenancy-${t.name}-${i}-${stamp}`;
        tenantOf.set(id, t.name);
        backlog.push(start(id, jobSpec(t.name, options.backlogUnits, 1)));
      }
    while (backlogged < 20) await new Promise((r) => setTimeout(r, 100)); // every tenant has jobs waiting
    log('the priority-1 job behind it…');
    const urgentId = `tenancy-urgent-${stamp}`;
    tenantOf.set(urgentId, 'beta');
    const underBacklog = await start(urgentId, urgentSpec);
    log(`  ${underBacklog.seconds.toFixed(1)} s`);
    const done = await Promise.all(backlog);
    const correct =
      alone.result.result === expectUrgent &&
      underBacklog.result.result === expectUrgent &&
      done.every((d) => d.result.result === expectBacklog);
    const tenants = TENANTS.tenants.map((t) => {
      const meanInstances = (leasedSum.get(t.name) ?? 0) / Math.max(1, backlogged);
      return { tenant: t.name, weight: t.weight, meanInstances, sharePerWeight: meanInstances / t.weight };
    });
    return {
      quotaViolations: violations.length,
      jainFairness: jainIndex(tenants.map((t) => t.sharePerWeight)),
      highPrioritySlowdown: underBacklog.seconds / alone.seconds,
      sharedFleetCostRatio: null,
      sharedFleetCostRatioNote:
        'not measured: each job still launches its own instances under the fleet’s leases; packing jobs onto shared instances is not built (docs/tenants.md)',
      realJobs: 2 + backlog.length,
      correct,
      details: {
        tenants,
        backloggedSamples: backlogged,
        samples,
        violations: violations.slice(0, 20),
        urgentAloneSeconds: alone.seconds,
        urgentUnderBacklogSeconds: underBacklog.seconds,
        fleetMaxInstances: FLEET_MAX_INSTANCES,
      },
    };
  } finally {
    sampling = false;
    await sampler;
  }
}

export function formatTenancyBench(r: TenancyBenchResult): string {
  const rows = [
    ['tenant', 'weight', 'mean instances while all wait', 'share ÷ weight'],
    ...r.details.tenants.map((t) => [
      t.tenant,
      String(t.weight),
      t.meanInstances.toFixed(2),
      t.sharePerWeight.toFixed(2),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => rows.reduce((w, row) => Math.max(w, row[c]!.length), 0));
  const lines = rows.map((row) =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  );
  return (
    `${lines.join('\n')}\n` +
    `quotaViolations ${r.quotaViolations} (${r.details.samples} samples); jainFairness ${r.jainFairness.toFixed(3)} ` +
    `(${r.details.backloggedSamples} samples with every tenant waiting); highPrioritySlowdown ${r.highPrioritySlowdown.toFixed(2)} ` +
    `(${r.details.urgentUnderBacklogSeconds.toFixed(1)} s under the backlog ÷ ${r.details.urgentAloneSeconds.toFixed(1)} s alone); ` +
    `realJobs ${r.realJobs}; results ${r.correct ? 'exact' : 'WRONG'}\n` +
    `sharedFleetCostRatio: ${r.sharedFleetCostRatioNote}\n`
  );
}

export function writeTenancyJson(file: string, r: TenancyBenchResult): void {
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
}
