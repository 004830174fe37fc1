import path from 'node:path';
import { CreateFleetCommand, CreateTagsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { InstancePlan, ProvisionedInstance } from '../job/types';
import { instanceTaskQueue } from '../names';
import { pushAll } from '../util/array';
import { createEc2Client } from './ec2-client';
import { isCapacityErrorCode, LaunchFailedError, NoCapacityError } from './ec2-errors';
import {
  launchSlot,
  planLaunch,
  slotKey,
  type LaunchAttempt,
  type LaunchContext,
  type LaunchPlan,
} from './ec2-fleet-request';
import {
  describeTaggedInstances,
  LIVE_STATES,
  terminateInstances,
  terminateJobInstances,
  type TaggedInstance,
} from './ec2-instances';
import { Ec2InstanceWatch } from './ec2-instance-watch';
import { ensureLaunchTemplate } from './ec2-launch-template';
import type { Ec2Settings } from './ec2-settings';
import { TAG } from './ec2-tags';
import type { InstanceLostEvent, InstancePlacement, Provisioner } from './provisioner';
import { FileSpendLedger, MemorySpendLedger, SpendGuard, type SpendLedger } from './spend-guard';

export interface Ec2ProvisionerOptions {
  settings: Ec2Settings;
  /** Default: createEc2Client(settings) (default credential chain, standard retries). */
  client?: EC2Client;
  /** Spend reservations; default a file per job in `<stateDir>/ec2-spend/`, in memory without stateDir. */
  ledger?: SpendLedger;
  stateDir?: string;
  /** On-demand prices (catalog) and pool scores that order the overrides. */
  context?: LaunchContext;
  log?: (line: string) => void;
}

type Ec2Failure = { market: string; code: string; message: string };

function toInstance(i: TaggedInstance): ProvisionedInstance {
  return {
    id: i.instanceId,
    taskQueue: instanceTaskQueue(i.instanceId),
    pool: i.tags[TAG.pool] ?? `${i.instanceType}@${i.zone ?? 'unknown'}`,
    planId: i.tags[TAG.plan] ?? '',
    handle: i.instanceId,
    ...(i.tags[TAG.job] ? { jobId: i.tags[TAG.job] } : {}),
  };
}

function generationOf(i: TaggedInstance): number {
  return Number(i.tags[TAG.generation] ?? 0);
}

/** The live instance of each plan; after replacements, the newest generation. */
function newestByPlan(instances: TaggedInstance[]): Map<string, TaggedInstance> {
  const byPlan = new Map<string, TaggedInstance>();
  for (const i of instances) {
    const plan = i.tags[TAG.plan] ?? '';
    const current = byPlan.get(plan);
    if (!current || generationOf(i) > generationOf(current)) byPlan.set(plan, i);
  }
  return byPlan;
}

function serviceErrorCode(err: unknown): string | undefined {
  const e = err as { name?: string; Code?: string } | null;
  return e?.Code ?? e?.name;
}

/**
 * Instances as EC2 instances, launched with CreateFleet (type `instant`), one fleet per plan slot:
 * spot first, on-demand when spot capacity is refused and the settings allow it. Every launch passes
 * the spend guard first. An instance's id is its EC2 id and its queue `spotdag-i-<EC2 id>`: the
 * instance's boot script reads the id from IMDS (see ec2-user-data.ts).
 *
 * Idempotency: a plan slot that already has a live instance tagged (job, plan) is not launched
 * again; the ClientToken (job, plan, generation, market) makes EC2 itself answer a repeated
 * CreateFleet with the fleet it already launched, covering a retry before the instance is visible.
 */
export class Ec2Provisioner implements Provisioner {
  readonly provider = 'ec2';
  readonly client: EC2Client;
  readonly guard: SpendGuard;
  private templateReady?: Promise<void>;
  private readonly watch: Ec2InstanceWatch;
  private watchTimer?: NodeJS.Timeout;

  constructor(private readonly options: Ec2ProvisionerOptions) {
    this.client = options.client ?? createEc2Client(options.settings);
    const ledger =
      options.ledger ??
      (options.stateDir
        ? new FileSpendLedger(path.join(options.stateDir, 'ec2-spend'))
        : new MemorySpendLedger());
    this.guard = new SpendGuard(options.settings.limits, ledger);
    this.watch = new Ec2InstanceWatch(this.client, this.options.log);
  }

  /**
   * Reads the instances' states every `timeouts.instanceStatePollSeconds` and tells `listener` of
   * each one that stopped running without spotdag releasing it (spot reclaimed it, it was
   * terminated on launch or by someone else).
   */
  watchLost(listener: (event: InstanceLostEvent) => void): void {
    if (this.watchTimer) clearInterval(this.watchTimer);
    let checking = false;
    this.watchTimer = setInterval(() => {
      if (checking) return;
      checking = true;
      this.watch
        .check()
        .then((events) => events.forEach(listener))
        .catch((err: unknown) => this.options.log?.(`instance states: ${(err as Error).message}`))
        .finally(() => (checking = false));
    }, this.options.settings.timeouts.instanceStatePollSeconds * 1000);
    this.watchTimer.unref();
  }

  /** Stops `watchLost`'s polling. */
  close(): void {
    clearInterval(this.watchTimer);
    this.watchTimer = undefined;
  }

  async provision(jobId: string, plans: InstancePlan[]): Promise<ProvisionedInstance[]> {
    return this.guard.serialize(jobId, async () => {
      const all = await describeTaggedInstances(this.client, { jobId });
      const live = all.filter((i) => (LIVE_STATES as readonly string[]).includes(i.state));
      const existing = newestByPlan(live);
      // A plan whose instance ended launches its next generation: a new ClientToken, since EC2
      // would answer the old one with the ended instance.
      const ended = newestByPlan(all);
      const launches = plans
        .filter((p) => !existing.has(p.id))
        .map((p) => {
          const previous = ended.get(p.id);
          const generation = previous ? generationOf(previous) + 1 : 0;
          return planLaunch(
            launchSlot(jobId, p, generation, this.options.settings),
            this.options.settings,
            this.options.context,
          );
        });
      // All or nothing: a schedule that does not fit the caps launches nothing.
      this.guard.admit(
        jobId,
        live.length,
        launches.map((l) => ({ key: slotKey(l.slot), usd: l.worstCaseUsd })),
      );
      const launched = new Map<string, ProvisionedInstance>();
      for (const launch of launches) launched.set(launch.slot.planId, await this.launch(launch));
      return plans.map((p) => {
        const found = existing.get(p.id);
        return found ? toInstance(found) : launched.get(p.id)!;
      });
    });
  }

  async replace(
    jobId: string,
    lostInstanceId: string,
    placement?: InstancePlacement,
  ): Promise<ProvisionedInstance> {
    return this.guard.serialize(jobId, async () => {
      const lost = await this.find(jobId, lostInstanceId);
      if (!lost) throw new Error(`unknown instance ${lostInstanceId} of job ${jobId}`);
      const planId = lost.tags[TAG.plan] ?? '';
      const generation = generationOf(lost) + 1;
      const live = await this.live(jobId);
      const replacement = live.find((i) => i.tags[TAG.plan] === planId && generationOf(i) >= generation);
      if (replacement) return toInstance(replacement);
      // A lost instance may still run (and bill): it is presumed dead, so end it. Fencing rejects
      // whatever it writes in the meantime.
      if ((LIVE_STATES as readonly string[]).includes(lost.state)) {
        this.options.log?.(`terminating lost instance ${lostInstanceId}`);
        this.watch.releasing([lostInstanceId]);
        await terminateInstances(this.client, [lostInstanceId]);
      }
      const plan: InstancePlan = {
        id: planId,
        pool: lost.tags[TAG.pool] ?? `${lost.instanceType}@${lost.zone ?? ''}`,
        slots: Number(lost.tags[TAG.slots] ?? 1),
        market: lost.tags[TAG.market] === 'on-demand' ? 'on-demand' : 'spot',
        ...(lost.tags[TAG.maxPrice] ? { maxPricePerHour: Number(lost.tags[TAG.maxPrice]) } : {}),
        ...placement,
      };
      const launch = planLaunch(
        launchSlot(jobId, plan, generation, this.options.settings),
        this.options.settings,
        this.options.context,
      );
      const others = live.filter((i) => i.instanceId !== lostInstanceId).length;
      this.guard.admit(jobId, others, [{ key: slotKey(launch.slot), usd: launch.worstCaseUsd }]);
      return this.launch(launch);
    });
  }

  /** Terminates the given instances, but only those tagged with this job. */
  async release(jobId: string, instances: ProvisionedInstance[]): Promise<void> {
    if (instances.length === 0) return;
    const ids = new Set(instances.map((i) => i.handle));
    const owned = (await this.live(jobId)).filter((i) => ids.has(i.instanceId));
    this.watch.releasing(owned.map((i) => i.instanceId));
    await terminateInstances(
      this.client,
      owned.map((i) => i.instanceId),
    );
  }

  async list(jobId?: string): Promise<ProvisionedInstance[]> {
    return (await describeTaggedInstances(this.client, { jobId, states: LIVE_STATES })).map(toInstance);
  }

  /** Terminates everything tagged with the job (also stopped instances); returns their ids. */
  async cleanup(jobId: string): Promise<string[]> {
    const live = await describeTaggedInstances(this.client, { jobId, states: LIVE_STATES });
    this.watch.releasing(live.map((i) => i.instanceId));
    return (await terminateJobInstances(this.client, jobId)).map((i) => i.instanceId);
  }

  /** The job's instance by id in any state, or undefined (EC2 forgets terminated ones after a while). */
  private async find(jobId: string, instanceId: string): Promise<TaggedInstance | undefined> {
    try {
      return (await describeTaggedInstances(this.client, { jobId, instanceIds: [instanceId] }))[0];
    } catch (err) {
      if (serviceErrorCode(err)?.startsWith('InvalidInstanceID')) return undefined;
      throw err;
    }
  }

  private live(jobId: string): Promise<TaggedInstance[]> {
    return describeTaggedInstances(this.client, { jobId, states: LIVE_STATES });
  }

  /** Tries the plan's attempts in order; capacity refusals move on to the next market. */
  private async launch(plan: LaunchPlan): Promise<ProvisionedInstance> {
    this.templateReady ??= ensureLaunchTemplate(this.client, this.options.settings).catch((err: unknown) => {
      this.templateReady = undefined;
      throw err;
    });
    await this.templateReady;
    const refusals: Ec2Failure[] = [];
    for (const attempt of plan.attempts) {
      const outcome = await this.createFleet(plan, attempt);
      if (typeof outcome === 'string') {
        const instance: ProvisionedInstance = {
          id: outcome,
          taskQueue: instanceTaskQueue(outcome),
          pool: plan.slot.pool,
          planId: plan.slot.planId,
          handle: outcome,
          jobId: plan.slot.jobId,
        };
        await this.client.send(
          new CreateTagsCommand({
            Resources: [outcome],
            Tags: [{ Key: TAG.queue, Value: instance.taskQueue }],
          }),
        );
        this.options.log?.(
          `launched ${attempt.market} ${outcome} for ${plan.slot.planId} (${plan.slot.jobId})`,
        );
        return instance;
      }
      pushAll(refusals, outcome);
      this.options.log?.(
        `${attempt.market} refused for ${plan.slot.planId}: ${outcome.map((f) => f.code).join(', ')}`,
      );
    }
    throw new NoCapacityError(plan.slot.planId, refusals);
  }

  /** The launched instance id, or the capacity refusals; any other failure throws. */
  private async createFleet(plan: LaunchPlan, attempt: LaunchAttempt): Promise<string | Ec2Failure[]> {
    const { market } = attempt;
    let response;
    try {
      response = await this.client.send(new CreateFleetCommand(attempt.request));
    } catch (err) {
      const code = serviceErrorCode(err);
      if (isCapacityErrorCode(code)) return [{ market, code: code!, message: (err as Error).message }];
      throw err;
    }
    const id = response.Instances?.flatMap((i) => i.InstanceIds ?? [])[0];
    if (id) return id;
    const failures = (response.Errors ?? []).map((e) => ({
      market,
      code: e.ErrorCode ?? 'Unknown',
      message: e.ErrorMessage ?? '',
    }));
    const other = failures.find((f) => !isCapacityErrorCode(f.code));
    if (other) throw new LaunchFailedError(plan.slot.planId, other.code, other.message);
    return failures.length > 0
      ? failures
      : [{ market, code: 'NoInstances', message: 'CreateFleet launched nothing' }];
  }
}
