/**
 * `spotdag bench tenancy`: tenants sharing one fleet, measured on real local instances.
 *
 * Three tenants (weights 1:1:2) each submit a backlog of priority-5 jobs onto a fleet of 4
 * instances; once every tenant has jobs waiting, a priority-1 job comes. The same priority-1 job
 * also runs alone first. Sampled every 100 ms all along: the instance processes that really run
 * (quota violations) and the fleet's books (each tenant's leased instances, for fairness).
 *
 * Then the same mix of jobs runs twice more, on a fleet whose jobs launch their own instances and
 * on a shared fleet (`fleet.shared`), and the instance time each used is compared.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openCheckpointStore } from '../src/checkpoint';
import { analyseDag } from '../src/dag/analyse';
import { parseWfFormat } from '../src/dag/wfformat';
import { simulateTenancy, type SimFleetKind, type TenancySimJob } from '../src/sim/tenancy';
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
  /** WfFormat workflows whose DAGs the simulated jobs run (one family per file). */
  workflowsDir: string;
  /** Skip the real run (the simulator only). */
  simulatorOnly?: boolean;
  /** Priority-5 jobs each tenant submits. */
  jobsPerTenant: number;
  /** Units of 100 ms of work of the priority-1 job (it runs on 2 instances). */
  urgentUnits: number;
  /** Units of each backlog job (1 instance). */
  backlogUnits: number;
  /** Jobs per tenant of the own-against-shared comparison (0: skip it). */
  sharedJobsPerTenant?: number;
  /** How long the shared fleet keeps an idle instance (default 1 s: about a local instance's boot). */
  sharedWarmSeconds?: number;
  log: (line: string) => void;
}

/** One run's figures (the simulator's, or the real run's). */
export interface TenancyFigures {
  quotaViolations: number;
  /** Jain's index over the tenants' mean instances ÷ weight while all had jobs waiting. */
  jainFairness: number;
  /** The priority-1 job's makespan under the backlog ÷ alone. */
  highPrioritySlowdown: number;
  jobs: number;
  tenants: Array<{ tenant: string; weight: number; meanInstances: number; sharePerWeight: number }>;
  urgentAloneSeconds: number;
  urgentUnderBacklogSeconds: number;
  violations: string[];
}

/** One simulated fleet over every run, beside its own-instances twin with as many slots. */
export interface FleetComparison {
  costUsd: number;
  costRatio: number;
  meanMakespanSeconds: number;
  makespanRatio: number;
  launches: number;
  jainFairness: number;
  highPrioritySlowdown: number;
  meanHighPrioritySlowdown: number;
  quotaViolations: number;
}

export interface TenancyBenchResult {
  /** Of the simulator and the real run together. */
  quotaViolations: number;
  /** The real run's (the simulator's with --simulator-only). */
  jainFairness: number;
  highPrioritySlowdown: number;
  /**
   * The simulator's: the same jobs on a shared, packed fleet ÷ each on its own instances
   * (`SHARED_FLEET` against `own` with as many slots). The real run does not share instances yet.
   */
  sharedFleetCostRatio: number;
  sharedFleetCostRatioNote: string;
  /** The simulator over each fleet: own and shared, with one and several slots per instance. */
  fleets: Array<SimFleet & FleetComparison>;
  realJobs: number;
  correct: boolean;
  simulator: TenancyFigures &
    SimFleet & {
      meanHighPrioritySlowdown: number;
      /** The baseline: the same job at the backlog's priority 5 (worst and mean over the families). */
      worstSlowdownWithoutPriority: number;
      meanSlowdownWithoutPriority: number;
      worstFamily: string;
      yields: number;
      lostWorkSeconds: number;
      /** Instance spend over every run, USD. */
      costUsd: number;
      launches: number;
      meanMakespanSeconds: number;
      workflows: string[];
    };
  real?: Omit<RealFigures, 'correct'>;
  /** Real jobs on own instances and on a shared fleet: instance time, shared ÷ own. */
  realFleets?: RealFleetComparison;
}

/** One real run of the same jobs on a fleet: the instance processes' time and launches. */
export interface RealFleetRun {
  fleet: 'own' | 'shared';
  jobs: number;
  instanceSeconds: number;
  launches: number;
  makespanSeconds: number;
  quotaViolations: number;
}

export interface RealFleetComparison {
  runs: RealFleetRun[];
  /** The shared fleet's instance time ÷ the own fleet's (instances of one size: cost alike). */
  sharedFleetCostRatio: number;
  slotsPerInstance: number;
  warmSeconds: number;
  correct: boolean;
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
  log('the simulator: WfCommons workflows as jobs of three tenants…');
  const simulator = simulateBench(options.workflowsDir);
  log('the simulator: the same jobs on own and shared fleets…');
  const fleets = compareFleets(options.workflowsDir, simulator);
  const shared = fleets.find((f) => sameFleet(f, SHARED_FLEET))!;
  const real = options.simulatorOnly ? undefined : await realRun(options, (stack) => measure(stack, options));
  const sharedJobs = options.sharedJobsPerTenant ?? 4;
  const realFleets =
    options.simulatorOnly || sharedJobs === 0
      ? undefined
      : await realRun(options, (stack) =>
          compareRealFleets(stack, sharedJobs, options.sharedWarmSeconds ?? SHARED_WARM_SECONDS, log),
        );
  const top = real ?? simulator;
  return {
    quotaViolations:
      simulator.quotaViolations +
      fleets.reduce((n, f) => n + f.quotaViolations, 0) +
      (real?.quotaViolations ?? 0) +
      (realFleets?.runs.reduce((n, r) => n + r.quotaViolations, 0) ?? 0),
    jainFairness: top.jainFairness,
    highPrioritySlowdown: top.highPrioritySlowdown,
    sharedFleetCostRatio: shared.costRatio,
    sharedFleetCostRatioNote:
      `the simulator's (${shared.slotsPerInstance} slots per instance, ${shared.warmSeconds} s warm)` +
      (realFleets ? `; real jobs: ${realFleets.sharedFleetCostRatio.toFixed(3)} (realFleets)` : ''),
    fleets,
    realJobs: (real?.jobs ?? 0) + (realFleets?.runs.reduce((n, r) => n + r.jobs, 0) ?? 0),
    correct: (real?.correct ?? true) && (realFleets?.correct ?? true),
    simulator,
    ...(real ? { real: omitCorrect(real) } : {}),
    ...(realFleets ? { realFleets } : {}),
  };
}

function omitCorrect<T extends { correct: boolean }>(x: T): Omit<T, 'correct'> {
  const { correct: _correct, ...rest } = x;
  return rest;
}

/** A WfFormat workflow as a simulated job's DAG: durations and dependencies in topological order. */
function workflowDag(file: string): Pick<TenancySimJob, 'durations' | 'deps'> & { maxParallelism: number } {
  const { dag } = parseWfFormat(JSON.parse(readFileSync(file, 'utf8')));
  const analysis = analyseDag(dag);
  const order = analysis.topologicalOrder;
  const index = new Map(order.map((id, k) => [id, k]));
  return {
    durations: order.map((id) => dag.getNodeAttribute(id, 'durationSeconds')),
    deps: order.map((id) => dag.inNeighbors(id).map((d) => index.get(d)!)),
    maxParallelism: analysis.maxParallelism,
  };
}

const SIM_FLEET: TenancyConfig = { tenants: TENANTS.tenants, fleet: { maxInstances: 16 } };
/** EC2-like: a minute to boot, a checkpoint a minute, half a minute to drain on a yield. */
const SIM_TIMING = { bootSeconds: 60, pricePerHour: 0.1, checkpointSeconds: 60, drainSeconds: 30 };

/** How the simulated fleet is shared: each job its own instances, or one packed pool. */
export interface SimFleet {
  fleet: SimFleetKind;
  slotsPerInstance: number;
  warmSeconds: number;
}

export const OWN_FLEET: SimFleet = { fleet: 'own', slotsPerInstance: 1, warmSeconds: 0 };

type SimulatorFigures = TenancyBenchResult['simulator'];

/** The shared fleet `sharedFleetCostRatio` is of: 4-slot instances (a sub-task a core), a minute warm. */
export const SHARED_FLEET: SimFleet = { fleet: 'shared', slotsPerInstance: 4, warmSeconds: 60 };

const sameFleet = (a: SimFleet, b: SimFleet) =>
  a.fleet === b.fleet && a.slotsPerInstance === b.slotsPerInstance && a.warmSeconds === b.warmSeconds;

/**
 * Own and shared fleets (no warm time, and a minute) with 1 and 4 slots per instance, over the same
 * jobs. `ownOneSlot`: the own fleet with one slot, when it was simulated already.
 */
export function compareFleets(
  workflowsDir: string,
  ownOneSlot?: SimulatorFigures,
): Array<SimFleet & FleetComparison> {
  return [1, 4].flatMap((slotsPerInstance) => {
    const own =
      slotsPerInstance === 1 && ownOneSlot
        ? ownOneSlot
        : simulateBench(workflowsDir, { ...OWN_FLEET, slotsPerInstance });
    return [
      own,
      ...[0, 60].map((warmSeconds) =>
        simulateBench(workflowsDir, { fleet: 'shared', slotsPerInstance, warmSeconds }),
      ),
    ].map((f) => ({
      fleet: f.fleet,
      slotsPerInstance: f.slotsPerInstance,
      warmSeconds: f.warmSeconds,
      costUsd: f.costUsd,
      costRatio: f.costUsd / own.costUsd,
      meanMakespanSeconds: f.meanMakespanSeconds,
      makespanRatio: f.meanMakespanSeconds / own.meanMakespanSeconds,
      launches: f.launches,
      jainFairness: f.jainFairness,
      highPrioritySlowdown: f.highPrioritySlowdown,
      meanHighPrioritySlowdown: f.meanHighPrioritySlowdown,
      quotaViolations: f.quotaViolations,
    }));
  });
}

/**
 * Each tenant submits one job per workflow family (up to 4 instances' worth each, one a minute)
 * onto a fleet of 16 instances; a priority-1 job of beta comes 5 minutes in.
 */
export function simulateBench(workflowsDir: string, fleet: SimFleet = OWN_FLEET): SimulatorFigures {
  const files = readdirSync(workflowsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(workflowsDir, f));
  if (files.length === 0)
    throw Object.assign(new Error(`--workflows: no .json in ${workflowsDir}`), { exitCode: 2 });
  // A job reserves no more than its DAG can keep busy (as a real job's plan does).
  const slots = fleet.slotsPerInstance;
  const dags = files.map(workflowDag).map(({ maxParallelism, ...dag }) => ({
    ...dag,
    instances: Math.ceil(Math.min(4 * slots, maxParallelism) / slots),
  }));
  const jobs: TenancySimJob[] = [];
  // Every tenant runs the same families in the same order: they differ only in weight.
  SIM_FLEET.tenants.forEach((t) => {
    for (let i = 0; i < dags.length; i++)
      jobs.push({
        id: `${t.name}-${i}`,
        tenant: t.name,
        priority: 5,
        arrivalSeconds: i * 60,
        ...dags[i]!,
      });
  });
  const options = { ...SIM_TIMING, ...fleet, config: SIM_FLEET };
  // The priority-1 job is each family in turn: its worst slowdown is reported.
  const runs = dags.map((dag, i) => {
    const urgent: TenancySimJob = { id: 'urgent', tenant: 'beta', priority: 1, arrivalSeconds: 300, ...dag };
    const alone = simulateTenancy({ ...options, jobs: [{ ...urgent, arrivalSeconds: 0 }] });
    const busy = simulateTenancy({ ...options, jobs: [...jobs, urgent] });
    // The baseline: the same job at the backlog's priority (admitted in its turn, takes nothing).
    const unprioritised = simulateTenancy({ ...options, jobs: [...jobs, { ...urgent, priority: 5 }] });
    return {
      family: path.basename(files[i]!),
      alone,
      busy,
      slowdown: busy.makespanSeconds.urgent! / alone.makespanSeconds.urgent!,
      baselineSlowdown: unprioritised.makespanSeconds.urgent! / alone.makespanSeconds.urgent!,
    };
  });
  const worst = runs.reduce((a, b) => (b.slowdown > a.slowdown ? b : a));
  // Fairness, violations and yields over every run (the backlog is the same in each).
  const backlogged = runs.reduce((n, r) => n + r.busy.backloggedSeconds, 0);
  const tenants = SIM_FLEET.tenants.map((t) => {
    const meanInstances =
      runs.reduce(
        (n, r) => n + (r.busy.meanInstancesWhileBacklogged[t.name] ?? 0) * r.busy.backloggedSeconds,
        0,
      ) / Math.max(1e-9, backlogged);
    return { tenant: t.name, weight: t.weight, meanInstances, sharePerWeight: meanInstances / t.weight };
  });
  const violations = runs.flatMap((r) => r.busy.quotaViolations);
  const makespans = runs.flatMap((r) => Object.values(r.busy.makespanSeconds));
  return {
    ...fleet,
    quotaViolations: violations.length,
    jainFairness: jainIndex(tenants.map((t) => t.sharePerWeight)),
    highPrioritySlowdown: worst.slowdown,
    meanHighPrioritySlowdown: runs.reduce((n, r) => n + r.slowdown, 0) / runs.length,
    meanSlowdownWithoutPriority: runs.reduce((n, r) => n + r.baselineSlowdown, 0) / runs.length,
    worstSlowdownWithoutPriority: runs.reduce((n, r) => Math.max(n, r.baselineSlowdown), 0),
    worstFamily: worst.family,
    jobs: runs.length * (jobs.length + 1),
    tenants,
    urgentAloneSeconds: worst.alone.makespanSeconds.urgent!,
    urgentUnderBacklogSeconds: worst.busy.makespanSeconds.urgent!,
    violations: violations.slice(0, 20),
    yields: runs.reduce((n, r) => n + r.busy.yields, 0),
    lostWorkSeconds: runs.reduce((n, r) => n + r.busy.lostWorkSeconds, 0),
    costUsd: runs.reduce((n, r) => n + r.busy.costUsd, 0),
    launches: runs.reduce((n, r) => n + r.busy.launches, 0),
    meanMakespanSeconds: makespans.reduce((a, b) => a + b, 0) / makespans.length,
    workflows: files.map((f) => path.basename(f)),
  };
}

export async function realRun<T>(
  options: TenancyBenchOptions,
  run: (stack: LocalStack) => Promise<T>,
): Promise<T> {
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
    return await stack.runUntil(() => run(stack));
  } finally {
    await Promise.all((await stack.provisioner.list()).map((i) => stack.provisioner.stop(i.id, 2_000)));
    await stack.close();
    await stopLocalServer(stateDir);
  }
}

type RealFigures = TenancyFigures & {
  /** The baseline: the same job at priority 5, submitted with the priority-1 one. */
  slowdownWithoutPriority: number;
  samples: number;
  backloggedSamples: number;
  correct: boolean;
};

async function measure(stack: LocalStack, options: TenancyBenchOptions): Promise<RealFigures> {
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
  const backlogIds = new Set<string>();
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
        // Fairness is among the backlog's priority-5 jobs, while every tenant has some waiting.
        const backlogJobs = usage.jobs.filter((j) => backlogIds.has(j.jobId));
        const waiting = (name: string) => backlogJobs.some((j) => j.tenant === name && j.status === 'queued');
        if (names.every(waiting)) {
          backlogged++;
          for (const j of backlogJobs) leasedSum.set(j.tenant, (leasedSum.get(j.tenant) ?? 0) + j.instances);
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
        backlogIds.add(id);
        backlog.push(start(id, jobSpec(t.name, options.backlogUnits, 1)));
      }
    while (backlogged < 20) await new Promise((r) => setTimeout(r, 100)); // every tenant has jobs waiting
    log('the priority-1 job behind it, and the same job at priority 5 (the baseline)…');
    const urgentId = `tenancy-urgent-${stamp}`;
    const baselineId = `tenancy-urgent-p5-${stamp}`;
    tenantOf.set(urgentId, 'beta');
    tenantOf.set(baselineId, 'beta');
    const prioritised = start(urgentId, urgentSpec);
    const unprioritised = start(baselineId, jobSpec('beta', options.urgentUnits, 2, 5));
    const underBacklog = await prioritised;
    log(`  priority 1: ${underBacklog.seconds.toFixed(1)} s`);
    const baseline = await unprioritised;
    log(`  priority 5: ${baseline.seconds.toFixed(1)} s`);
    const done = await Promise.all(backlog);
    const correct =
      alone.result.result === expectUrgent &&
      underBacklog.result.result === expectUrgent &&
      baseline.result.result === expectUrgent &&
      done.every((d) => d.result.result === expectBacklog);
    const tenants = TENANTS.tenants.map((t) => {
      const meanInstances = (leasedSum.get(t.name) ?? 0) / Math.max(1, backlogged);
      return { tenant: t.name, weight: t.weight, meanInstances, sharePerWeight: meanInstances / t.weight };
    });
    return {
      quotaViolations: violations.length,
      jainFairness: jainIndex(tenants.map((t) => t.sharePerWeight)),
      highPrioritySlowdown: underBacklog.seconds / alone.seconds,
      slowdownWithoutPriority: baseline.seconds / alone.seconds,
      jobs: 3 + backlog.length,
      tenants,
      urgentAloneSeconds: alone.seconds,
      urgentUnderBacklogSeconds: underBacklog.seconds,
      violations: violations.slice(0, 20),
      samples,
      backloggedSamples: backlogged,
      correct,
    };
  } finally {
    sampling = false;
    await sampler;
  }
}

const SHARED_SLOTS = 4;
/** Keeping an idle instance warm about as long as a boot takes is the rent-or-buy rule (2-competitive). */
const SHARED_WARM_SECONDS = 1;

/**
 * The same jobs twice: each launching its own instances (4 slots), then on a shared fleet of
 * 4-slot instances kept warm `warmSeconds`. Half the jobs keep 4 sub-tasks at once busy, half 2 (as a DAG's
 * narrow phases do). The instance processes are sampled every 100 ms: their time is the cost, as
 * every instance is of one size.
 */
export async function compareRealFleets(
  stack: LocalStack,
  jobsPerTenant: number,
  warmSeconds: number,
  log: (line: string) => void,
): Promise<RealFleetComparison> {
  const runs: RealFleetRun[] = [];
  let correct = true;
  for (const fleet of ['own', 'shared'] as const) {
    const store = await openCheckpointStore(stack.checkpointStore);
    try {
      await updateTenancyConfig(store, () => ({
        tenants: TENANTS.tenants,
        fleet: {
          maxInstances: FLEET_MAX_INSTANCES,
          ...(fleet === 'shared' ? { shared: true, slotsPerInstance: SHARED_SLOTS, warmSeconds } : {}),
        },
      }));
    } finally {
      await store.close();
    }
    log(
      `the same ${jobsPerTenant * TENANTS.tenants.length} jobs on ${fleet === 'own' ? 'their own instances' : 'a shared fleet'}…`,
    );
    const run = await fleetRun(stack, fleet, jobsPerTenant);
    correct &&= run.correct;
    runs.push(run.figures);
    log(
      `  ${run.figures.instanceSeconds.toFixed(1)} instance-s, ${run.figures.launches} launches, ${run.figures.makespanSeconds.toFixed(1)} s`,
    );
  }
  return {
    runs,
    sharedFleetCostRatio: runs[1]!.instanceSeconds / runs[0]!.instanceSeconds,
    slotsPerInstance: SHARED_SLOTS,
    warmSeconds,
    correct,
  };
}

async function fleetRun(
  stack: LocalStack,
  fleet: 'own' | 'shared',
  jobsPerTenant: number,
): Promise<{ figures: RealFleetRun; correct: boolean }> {
  const stamp = `${fleet}-${Date.now().toString(36)}`;
  const fleetId = fleetWorkflowId(DEFAULT_FLEET_NAME);
  const jobIds = new Set<string>();
  const seen = new Map<string, { first: number; last: number }>();
  const violations: string[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const now = Date.now();
      const live = (await stack.provisioner.list()).filter(
        (i) => i.jobId === fleetId || (i.jobId !== undefined && jobIds.has(i.jobId)),
      );
      if (live.length > FLEET_MAX_INSTANCES)
        violations.push(`${live.length} instances running on a fleet of ${FLEET_MAX_INSTANCES}`);
      for (const i of live) {
        const s = seen.get(i.id);
        if (s) s.last = now;
        else seen.set(i.id, { first: now, last: now });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const startedAtMs = Date.now();
  try {
    const runs: Array<Promise<{ result: JobResult; expected: number }>> = [];
    for (let i = 0; i < jobsPerTenant; i++)
      for (const t of TENANTS.tenants) {
        const id = `tenancy-${stamp}-${t.name}-${i}`;
        jobIds.add(id);
        const wide = runs.length % 2 === 0;
        const units = 40;
        const spec = {
          ...workloadJobSpec(units, {
            chunks: wide ? 4 : 2,
            instances: 1,
            slotsPerInstance: SHARED_SLOTS,
            input: { unitMs: 100, busy: false },
          }),
          name: `tenancy-${t.name}`,
          tenant: t.name,
        };
        runs.push(
          stack.client.workflow
            .start(spotdagJob, {
              taskQueue: CONTROL_TASK_QUEUE,
              workflowId: id,
              args: [spec, { subTaskPolicy: { heartbeatTimeoutSeconds: 5 } }],
            })
            .then((h) => h.result())
            .then((result: JobResult) => ({ result, expected: expectedWorkloadSum(1, units) })),
        );
      }
    const done = await Promise.all(runs);
    const makespanSeconds = (Date.now() - startedAtMs) / 1000;
    // Until the instances are gone (a shared fleet keeps its last ones warm a while).
    while ((await stack.provisioner.list()).some((i) => i.jobId === fleetId || jobIds.has(i.jobId ?? '')))
      await new Promise((r) => setTimeout(r, 200));
    let instanceSeconds = 0;
    for (const s of seen.values()) instanceSeconds += (s.last - s.first) / 1000 + 0.1;
    return {
      figures: {
        fleet,
        jobs: runs.length,
        instanceSeconds,
        launches: seen.size,
        makespanSeconds,
        quotaViolations: violations.length,
      },
      correct: done.every((d) => d.result.result === d.expected),
    };
  } finally {
    sampling = false;
    await sampler;
  }
}

/** Rows as a plain table: the first column left-aligned, the others right-aligned. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => rows.reduce((w, row) => Math.max(w, row[c]!.length), 0));
  return rows
    .map((row) =>
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
    )
    .join('\n');
}

function fleetsLines(fleets: TenancyBenchResult['fleets']): string {
  return `${table([
    [
      'fleet',
      'slots',
      'warm s',
      'cost $',
      '÷ own',
      'mean makespan s',
      '÷ own',
      'launches',
      'Jain',
      'p1 slowdown worst',
      'mean',
      'violations',
    ],
    ...fleets.map((f) => [
      f.fleet,
      String(f.slotsPerInstance),
      String(f.warmSeconds),
      f.costUsd.toFixed(2),
      f.costRatio.toFixed(3),
      f.meanMakespanSeconds.toFixed(0),
      f.makespanRatio.toFixed(3),
      String(f.launches),
      f.jainFairness.toFixed(3),
      f.highPrioritySlowdown.toFixed(3),
      f.meanHighPrioritySlowdown.toFixed(3),
      String(f.quotaViolations),
    ]),
  ])}\n`;
}

function figuresLines(name: string, f: TenancyFigures): string {
  const lines = table([
    ['tenant', 'weight', 'mean instances while all wait', 'share ÷ weight'],
    ...f.tenants.map((t) => [
      t.tenant,
      String(t.weight),
      t.meanInstances.toFixed(2),
      t.sharePerWeight.toFixed(2),
    ]),
  ]);
  return (
    `${name}: ${f.jobs} jobs\n${lines}\n` +
    `  quotaViolations ${f.quotaViolations}; jainFairness ${f.jainFairness.toFixed(3)}; ` +
    `highPrioritySlowdown ${f.highPrioritySlowdown.toFixed(3)} ` +
    `(${f.urgentUnderBacklogSeconds.toFixed(1)} s under the backlog ÷ ${f.urgentAloneSeconds.toFixed(1)} s alone)\n`
  );
}

export function formatTenancyBench(r: TenancyBenchResult): string {
  return (
    figuresLines(
      'simulator (the fleet ledger over WfCommons DAGs, EC2-like timing; jobs over all runs)',
      r.simulator,
    ) +
    `  the priority-1 job as each of ${r.simulator.workflows.length} families: worst slowdown on ${r.simulator.worstFamily}, mean ${r.simulator.meanHighPrioritySlowdown.toFixed(3)} ` +
    `(without its priority: worst ${r.simulator.worstSlowdownWithoutPriority.toFixed(2)}, mean ${r.simulator.meanSlowdownWithoutPriority.toFixed(2)}); ` +
    `yields ${r.simulator.yields}, work lost to them ${r.simulator.lostWorkSeconds.toFixed(0)} s\n` +
    'the simulator, the same jobs on each fleet (÷ own: against own instances with as many slots):\n' +
    fleetsLines(r.fleets) +
    (r.real
      ? figuresLines(`real run (local instances, ${r.real.samples} samples)`, r.real) +
        `  the same job at priority 5 (the baseline): slowdown ${r.real.slowdownWithoutPriority.toFixed(2)}\n`
      : 'real run: skipped\n') +
    (r.realFleets ? realFleetsLines(r.realFleets) : '') +
    `quotaViolations ${r.quotaViolations}; jainFairness ${r.jainFairness.toFixed(3)}; highPrioritySlowdown ${r.highPrioritySlowdown.toFixed(3)}; ` +
    `realJobs ${r.realJobs}; results ${r.correct ? 'exact' : 'WRONG'}\n` +
    `sharedFleetCostRatio ${r.sharedFleetCostRatio.toFixed(3)}: ${r.sharedFleetCostRatioNote}\n`
  );
}

function realFleetsLines(c: RealFleetComparison): string {
  return (
    `real jobs on their own instances and on a shared fleet (${c.slotsPerInstance}-slot instances, ${c.warmSeconds} s warm):\n` +
    table([
      ['fleet', 'jobs', 'instance-s', '÷ own', 'launches', 'makespan s', 'violations'],
      ...c.runs.map((r) => [
        r.fleet,
        String(r.jobs),
        r.instanceSeconds.toFixed(1),
        (r.instanceSeconds / c.runs[0]!.instanceSeconds).toFixed(3),
        String(r.launches),
        r.makespanSeconds.toFixed(1),
        String(r.quotaViolations),
      ]),
    ]) +
    '\n'
  );
}

export function writeTenancyJson(file: string, r: TenancyBenchResult): void {
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
}
