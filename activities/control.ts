import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { allocate } from '../src/allocate';
import {
  localFleetModel,
  localMarketView,
  marketAllocationForecast,
  plannedDag,
} from '../src/job/allocation-input';
import type { Preferences } from '../src/allocate/preferences';
import { JobSpecError } from '../src/dag';
import type { InstanceMarket } from '../src/job/instance-market';
import type { CheckpointStore } from '../src/checkpoint';
import { jobPlanOf, schedulePlanOf } from '../src/job/plan';
import type { LaunchResult } from '../src/job/decisions';
import type {
  DecomposedJob,
  InstancePlan,
  InstanceRef,
  JobPlan,
  MarketView,
  PlanDocument,
  ProvisionedInstance,
  Schedule,
  SchedulePlan,
} from '../src/job/types';
import type { FleetSpec } from '../src/provision/fleet';
import type { Provisioner } from '../src/provision/provisioner';
import { knownSteps } from '../src/steps';
import { loadDocument, saveDocument } from './documents';
import { JobDags } from './job-dags';
import { decomposedJobOf, prepareJob, type PreparedJob } from '../src/planning/pipeline';
import { replacementFor, type MovingSubTask } from './replacement';
import { instancesWithin, readTenancyConfig, resolveTenancy } from '../src/tenancy/config';

export interface ControlActivityDeps {
  client: Client;
  provisioner: Provisioner;
  /** How long to wait for a new instance to poll its task queue. */
  instanceReadyTimeoutMs?: number;
  /** The market of the provisioner's provider when it is not `local` (EC2: `Ec2Market`). */
  market?: InstanceMarket;
  /** The DAGs decomposed here, for the decide activity of the same worker. */
  dags?: JobDags;
  /**
   * Where the decomposed job and the schedule are kept, by reference (the instances' checkpoint
   * store). Without one they travel inline in workflow history, which bounds a job to Temporal's
   * 2 MB payload limit (a few thousand sub-tasks).
   */
  store?: CheckpointStore;
}

/** Error type of a rejected job spec; workflows treat it as non-retryable. */
export const INVALID_JOB_SPEC = 'InvalidJobSpec';

/**
 * Waits until a worker polls `taskQueue`. With `alive`, asked every couple of seconds, an instance
 * that dies before it polls (killed while booting, terminated on launch) ends the wait at once:
 * the result is then 'dead' rather than a timeout minutes later. 'late': no poller by the timeout
 * (a hung boot): the instance is given up, not the whole launch retried.
 */
async function waitForPoller(
  client: Client,
  taskQueue: string,
  timeoutMs: number,
  alive?: () => Promise<boolean>,
): Promise<'ready' | 'dead' | 'late'> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 1; ; round++) {
    const response = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    if ((response.pollers?.length ?? 0) > 0) return 'ready';
    if (alive && round % 8 === 0 && !(await alive())) return 'dead';
    if (Date.now() > deadline) return 'late';
    Context.current().heartbeat(`waiting for ${taskQueue}`);
    await Context.current().sleep(250); // rejects when the activity is cancelled (e.g. the job is)
  }
}

/** Waits until a worker polls `taskQueue`, or fails (the activity retries) after `timeoutMs`. */
async function polling(client: Client, taskQueue: string, timeoutMs: number): Promise<void> {
  if ((await waitForPoller(client, taskQueue, timeoutMs)) === 'late')
    throw new Error(`no worker polls ${taskQueue} after ${timeoutMs} ms`);
}

/**
 * Provisioner errors that say retrying cannot help (`nonRetryable: true`, e.g. a spend cap) fail
 * the activity for good, typed by the error's name; others are retried by Temporal.
 */
async function provisioning<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof Error && (err as { nonRetryable?: unknown }).nonRetryable === true) {
      throw ApplicationFailure.nonRetryable(err.message, err.name);
    }
    throw err;
  }
}

/** Sends a Temporal heartbeat every few seconds while `work` runs (e.g. EC2 launches). */
async function heartbeating<T>(work: Promise<T>): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat('provisioning'), 5_000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** Planning and provisioning activities, run by the control worker. */
export function createControlActivities(deps: ControlActivityDeps) {
  const provider = deps.provisioner.provider ?? 'local';
  /** The market of a non-local fleet; decomposeJob has already rejected another provider. */
  const providerMarket = (fleet: FleetSpec): InstanceMarket => {
    if (deps.market?.provider === fleet.provider) return deps.market;
    throw ApplicationFailure.nonRetryable(
      `fleet.provider: this control worker has no "${fleet.provider}" market (it provisions "${provider}")`,
      INVALID_JOB_SPEC,
    );
  };
  /** The planning pipeline's first step: a spec becomes a checked DAG, or a typed, final failure. */
  const prepare = (input: unknown): PreparedJob => {
    try {
      return prepareJob(input, { knownSteps: knownSteps(), provider });
    } catch (err) {
      if (err instanceof JobSpecError || (err as { exitCode?: number }).exitCode === 2) {
        throw ApplicationFailure.nonRetryable((err as Error).message, INVALID_JOB_SPEC);
      }
      throw err;
    }
  };
  /** The job's tenant and priority against the stored tenant settings (an unknown tenant: final). */
  const tenancyOf = async (tenant: string | undefined, priority: number | undefined) => {
    const config = deps.store ? await readTenancyConfig(deps.store) : undefined;
    try {
      return resolveTenancy(config, tenant, priority);
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, INVALID_JOB_SPEC);
    }
  };
  return {
    /**
     * Validates the spec and decomposes it into a DAG of sub-tasks, in topological order. The
     * decomposed job goes to the checkpoint store; the result is its reference and a compact plan.
     */
    async decomposeJob(jobId: string, input: unknown): Promise<JobPlan> {
      const prepared = prepare(input);
      const tenancy = await tenancyOf(prepared.spec.tenant, prepared.spec.priority);
      // A tenant's job plans no more instances at once than its quotas allow.
      if (tenancy)
        prepared.spec.fleet = {
          ...prepared.spec.fleet,
          instances: instancesWithin(prepared.spec.fleet.instances, tenancy),
        };
      const job = decomposedJobOf(jobId, prepared);
      const document = await saveDocument(deps.store, jobId, job);
      // The graph rebuilt from the stored list, so node order is the sub-task index order.
      deps.dags?.remember(JobDags.key(jobId, document), job, plannedDag(job));
      const plan = jobPlanOf(job, document);
      return tenancy ? { ...plan, tenancy } : plan;
    },

    /**
     * The market the fleet buys from: the provider's (EC2: pools with forecasts). Local instances
     * are processes on this machine: one pool, free, not interrupted by any market.
     */
    async forecastMarket(fleet: FleetSpec, horizonSeconds = 24 * 3600): Promise<MarketView> {
      if (fleet.provider !== 'local') {
        const market = providerMarket(fleet);
        return provisioning(() => market.forecast(fleet, horizonSeconds));
      }
      return localMarketView(fleet, horizonSeconds, Date.now());
    },

    /**
     * Places the decomposed job (read by reference) on instances. The schedule goes to the
     * checkpoint store; the result is its reference and what the parent workflow needs of it.
     */
    async allocateSubTasks(
      jobPlan: Pick<JobPlan, 'jobId' | 'job'> | DecomposedJob, // the whole job: versions before references
      market: MarketView,
      fleet: FleetSpec,
      preferences: Preferences,
    ): Promise<SchedulePlan> {
      const job =
        'subTasks' in jobPlan
          ? jobPlan
          : await loadDocument<DecomposedJob>(deps.store, jobPlan.jobId, jobPlan.job);
      const model =
        fleet.provider === 'local' ? localFleetModel(fleet) : providerMarket(fleet).fleetModel(fleet);
      const schedule = allocate(plannedDag(job), marketAllocationForecast(market), model, preferences);
      const document: PlanDocument<Schedule> = await saveDocument(deps.store, job.jobId, schedule);
      return schedulePlanOf(schedule, { ids: job.subTasks.map((s) => s.id) }, document);
    },

    /** Provisions the schedule's instances and waits until each polls its task queue. */
    async provisionInstances(
      jobId: string,
      schedule: Pick<Schedule, 'instances'>,
    ): Promise<ProvisionedInstance[]> {
      const instances = await provisioning(() =>
        heartbeating(deps.provisioner.provision(jobId, schedule.instances)),
      );
      const timeout = deps.instanceReadyTimeoutMs ?? 60_000;
      await Promise.all(instances.map((i) => polling(deps.client, i.taskQueue, timeout)));
      return instances;
    },

    /** A replacement for an instance presumed lost, polling its queue, for a sub-task to move to. */
    async relocateSubTask(
      jobId: string,
      subTaskId: string,
      lostInstanceId: string,
      reason: string,
      moving: MovingSubTask = {}, // absent in histories of older versions
    ): Promise<InstanceRef> {
      const log = Context.current().log;
      const placement = await replacementFor(
        { ...deps, log: (message, details) => log.warn(message, details) },
        jobId,
        subTaskId,
        lostInstanceId,
        moving,
      );
      const replacement = await provisioning(() =>
        deps.provisioner.replace(jobId, lostInstanceId, placement),
      );
      log.warn('instance lost; sub-task moves', {
        subTask: subTaskId,
        lost: lostInstanceId,
        replacement: replacement.id,
        pool: replacement.pool,
        reason,
      });
      await polling(deps.client, replacement.taskQueue, deps.instanceReadyTimeoutMs ?? 60_000);
      return { id: replacement.id, taskQueue: replacement.taskQueue };
    },

    /**
     * Launches planned instances for the runtime controller and waits until each polls its queue.
     * Spot requests the market refuses come back as `refused` (the controller re-plans them).
     */
    async launchInstances(jobId: string, plans: InstancePlan[], jobStartMs: number): Promise<LaunchResult> {
      const outcome = await provisioning(() =>
        heartbeating(
          deps.provisioner.launchPlans
            ? deps.provisioner.launchPlans(jobId, plans, { jobStartMs })
            : deps.provisioner.provision(jobId, plans).then((launched) => ({
                launched: launched.map((i) => ({ ...i, launchedAtMs: Date.now() })),
                refused: [],
              })),
        ),
      );
      const timeout = deps.instanceReadyTimeoutMs ?? 60_000;
      // Gone, or seen lost by its provider (a process suspended while it boots).
      const alive = async (id: string) =>
        !deps.provisioner.isLost?.(id) && (await deps.provisioner.list(jobId)).some((i) => i.id === id);
      const ready = await Promise.all(
        outcome.launched.map((i) => waitForPoller(deps.client, i.taskQueue, timeout, () => alive(i.id))),
      );
      const up = outcome.launched.filter((_, n) => ready[n] === 'ready');
      // Dead or lost before it polled, or hung (it never polled): the controller re-plans its work
      // as for a refused launch. A hung one is released first, so that it neither runs nor bills
      // (what is left of a lost one goes with the job's instances at its end).
      const late = outcome.launched.filter((_, n) => ready[n] === 'late');
      if (late.length > 0) await deps.provisioner.release(jobId, late);
      const died = outcome.launched.flatMap((i, n) =>
        ready[n] === 'ready'
          ? []
          : [
              {
                planId: i.planId,
                pool: i.pool,
                reason:
                  ready[n] === 'dead'
                    ? `instance ${i.id} died before it polled its queue`
                    : `instance ${i.id} did not poll its queue within ${timeout / 1000} s`,
              },
            ],
      );
      return {
        launched: up.map((i) => ({
          planId: i.planId,
          id: i.id,
          taskQueue: i.taskQueue,
          pool: i.pool,
          launchedAtMs: i.launchedAtMs,
        })),
        refused: [...outcome.refused, ...died],
      };
    },

    /** Releases some of a job's instances (the runtime controller no longer needs them). */
    async releaseInstanceIds(jobId: string, ids: string[]): Promise<void> {
      const wanted = new Set(ids);
      const live = (await deps.provisioner.list(jobId)).filter((i) => wanted.has(i.id));
      await deps.provisioner.release(jobId, live);
    },

    /** What the job's instances cost (USD), when the provider can tell; undefined otherwise. */
    async billJob(jobId: string): Promise<number | undefined> {
      return deps.provisioner.bill ? deps.provisioner.bill(jobId) : undefined;
    },

    /** Releases the job's instances, replacements included. */
    async releaseInstances(jobId: string, instances: ProvisionedInstance[]): Promise<void> {
      const live = await deps.provisioner.list(jobId);
      const all = new Map([...instances, ...live].map((i) => [i.id, i]));
      await deps.provisioner.release(jobId, [...all.values()]);
    },
  };
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
