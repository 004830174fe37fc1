/**
 * The job workflow under the runtime controller (src/controller): the workflow is the controller's
 * driver. It asks the `decide` activity what to do — at the start, when an instance is lost or a
 * launch refused, and on a durable timer (the controller's tick) — and carries the decisions out:
 * launch and release instances, start a child per sub-task on its planned instance, move children
 * whose instance is lost or whose work the controller stops, apply cuts (re-splits) to its plan.
 * Routine progress (a sub-task done, the next one started) needs no decision, so a sub-task costs
 * the engine what a plain child workflow costs. Workflow code: deterministic, no I/O.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ControlActivities } from '../activities/control';
import type { DecideActivity } from '../activities/decide';
import type { InstanceActivities } from '../activities/instance';
import { COMMAND_STEP } from '../src/dag/types';
import { PREFETCH_SLOTS, prefetchesToIssue } from '../src/job/prefetch';
import type { Resplit, ControllerMemory } from '../src/controller/types';
import type { SpotdagSchedule } from '../src/allocate/types';
import type { DecideEvent, DecideResponse, JobInstance } from '../src/job/decisions';
import { asJobPlan, subTaskDefinition } from '../src/job/plan';
import { subTaskSummary, type JobProgress } from '../src/job/summary';
import {
  DEFAULT_SUBTASK_POLICY,
  type ControllerSummary,
  type JobPlan,
  type JobResult,
  type PlanDocument,
  type PlannedSubTask,
  type Relocation,
  type SubTaskOutcome,
  type SubTaskPolicy,
} from '../src/job/types';
import { relocationWork } from '../src/job/work-accounting';
import { maxOf, pushAll } from '../src/util/array';
import {
  finalResult,
  insertSorted,
  jobTelemetry,
  MAX_PENDING_CHILDREN,
  newProgress,
  rootCause,
  type JobRunOptions,
  type JobTelemetry,
} from './job-shared';
import { defineQuery } from '@temporalio/workflow';
import {
  instanceLostSignal,
  subTaskLostSignal,
  subTaskMoveSignal,
  type InstanceLostReport,
  type LostReport,
} from './messages';

/** The runtime state of a controlled job, for operators and tests (`spotdag status --json`). */
export interface ControlledJobState {
  nowSeconds: number;
  nextTickAt?: number;
  onDemandMode: boolean;
  launching: number;
  eventDue: boolean;
  subTasks: Record<string, { status: string; on?: string; placedOn?: string }>;
  instances: JobInstance[];
  /** The latest moves of work off lost instances (this run's, at most MAX_MOVES), oldest first. */
  moves: MoveEvent[];
}

/** Work that left a lost instance: where from, why, and (once the controller placed it) where to. */
export interface MoveEvent {
  subTaskId: string;
  from: string;
  reason: string;
  atMs: number;
  to?: string;
}

const MAX_MOVES = 200;

export const jobStateQuery = defineQuery<ControlledJobState>('spotdagJobState');
import { spotdagSubTask } from './subtask';
import { FleetMembership } from './job-fleet';
import type { SharedInstanceGrant } from './fleet-messages';
import { temporalPriority } from '../src/tenancy/types';

const planning = proxyActivities<ControlActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['InvalidJobSpec'] },
});
const deciding = proxyActivities<DecideActivity>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: ['InvalidJobSpec', 'NoCheckpointStore'] },
});
/** Prefetches run on the instance's own queue, once, and may be dropped: the sub-task fetches what is missing. */
function prefetching(taskQueue: string) {
  return proxyActivities<InstanceActivities>({
    taskQueue,
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { maximumAttempts: 1 },
  });
}

/** Jobs that finished before episodes were recorded replay without the activity. */
const EPISODE_PATCH = 'spotdag-record-episode';
/** An episode is for learning: a job does not fail or wait long for want of one. */
const recording = proxyActivities<DecideActivity>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

const provisioning = proxyActivities<ControlActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 5 },
});

/** What one run of the controlled job hands the next when it continues as new. */
export interface ControlledContinuation {
  version: 2;
  startedAtMs: number;
  plan: JobPlan;
  /** Definitions of sub-tasks cut or changed by re-splits (the stored job has the originals). */
  definitions: Record<number, PlannedSubTask>;
  resplits: Resplit[];
  /** One character per sub-task: '1' done, '0' not yet, 'x' failed or skipped. */
  done: string;
  failed?: Array<{ subTaskId: string; error: string }>;
  skipped?: string[];
  outputs: Record<string, unknown>;
  instances: JobInstance[];
  /** The latest decision's placements (not-done sub-tasks) and start order. */
  placedOn: Record<number, string>;
  order: number[];
  schedule?: PlanDocument<SpotdagSchedule>;
  memory?: ControllerMemory;
  nextTickAt?: number;
  onDemandMode: boolean;
  summary: ControllerSummary;
  progress: JobProgress;
  runs: number;
}

export function isControlledContinuation(value: unknown): value is ControlledContinuation {
  return typeof value === 'object' && value !== null && (value as { version?: unknown }).version === 2;
}

type Status = 'pending' | 'running' | 'parked' | 'done' | 'dropped';

interface Child {
  workflowId: string;
  /** The instance (plan id) its work is on now; undefined while it waits for an order. */
  on?: string;
  startedAt: number;
  generation: number;
}

type Finished = { k: number; outcome: SubTaskOutcome } | { k: number; error: unknown };

/** The controlled job: plan, then drive the controller's decisions until every sub-task is settled. */
export async function controlledJob(
  jobId: string,
  spec: unknown,
  options: JobRunOptions,
  continued?: ControlledContinuation,
): Promise<JobResult> {
  const startedAtMs = continued?.startedAtMs ?? Date.now();
  const progress = continued?.progress ?? newProgress();
  const telemetry = jobTelemetry(jobId, options, startedAtMs, progress);
  let state = continued;
  if (!state) {
    telemetry.setPhase('decompose');
    const plan = asJobPlan(await planning.decomposeJob(jobId, spec));
    progress.total = plan.ids.length;
    progress.stages = plan.stages.map((s) => ({ stage: s.stage, done: 0, total: s.count }));
    state = {
      version: 2,
      startedAtMs,
      plan,
      definitions: {},
      resplits: [],
      done: '0'.repeat(plan.ids.length),
      outputs: {},
      instances: [],
      placedOn: {},
      order: [],
      onDemandMode: false,
      summary: {
        decisions: 0,
        resplits: 0,
        pieces: 0,
        safetyNet: false,
        spotInstances: 0,
        onDemandInstances: 0,
        refusedLaunches: 0,
      },
      progress,
      runs: 0,
    };
  }
  const tenancy = state.plan.tenancy;
  const fleet = tenancy ? new FleetMembership(jobId, tenancy) : undefined;
  const run = new ControlledRun(jobId, state, options, telemetry, fleet);
  let next: 'done' | 'continue' | undefined;
  try {
    if (fleet && !continued) {
      const deadline = state.plan.preferences.deadline;
      const latestStartMs =
        deadline === undefined ? undefined : startedAtMs + (deadline - state.plan.criticalPathSeconds) * 1000;
      await fleet.join(telemetry, progress, state.plan.fleet.instances, latestStartMs);
    }
    next = await run.execute(!continued);
  } finally {
    if (next !== 'continue') {
      telemetry.setPhase('release');
      await CancellationScope.nonCancellable(async () => {
        await provisioning.releaseInstances(jobId, []);
        await fleet?.leave(); // after the release: the leases went back once the instances were gone
      });
    }
  }
  if (next === 'continue') {
    log.info('continuing as new', { run: state.runs + 1, done: progress.done, total: progress.total });
    return continueAsNew(null, options, { ...run.snapshot(), runs: state.runs + 1 });
  }
  // On a shared fleet the job holds slots of the fleet's instances: its cost is its share of them.
  const billed = fleet?.shared ? undefined : await provisioning.billJob(jobId);
  if (billed !== undefined) progress.costSoFarUsd = billed;
  const result = run.result(billed);
  if (patched(EPISODE_PATCH)) await run.recordEpisode(result);
  telemetry.setPhase('done');
  return result;
}

/** One run of the controlled job (between continue-as-new). Named steps, shared state. */
class ControlledRun {
  private readonly plan: JobPlan;
  private readonly policy: SubTaskPolicy;
  private readonly maxInFlight: number;
  private readonly maxPerRun: number;
  private readonly finishRest: boolean;
  private readonly progress: JobProgress;
  private status: Status[];
  private readonly outputs: Map<string, unknown>;
  private readonly instances = new Map<string, JobInstance>();
  /** Provider instance id → plan id. */
  private readonly planIdOf = new Map<string, string>();
  private readonly children = new Map<number, Child>();
  private dependents: number[][] = [];
  private waitingOn: number[] = [];
  private readyOn = new Map<string, number[]>();
  private rank = new Map<number, number>();
  private readonly finished: Finished[] = [];
  private readonly lostReports: LostReport[] = [];
  private readonly lostInstances: InstanceLostReport[] = [];
  private readonly launched: Array<Awaited<ReturnType<ControlActivities['launchInstances']>>> = [];
  private launching = 0;
  private releasing = 0;
  private readonly pendingEvent: DecideEvent = { kind: 'tick', lostPools: [], refusedPools: [] };
  private eventDue = false;
  private readonly interruptionsByPool = new Map<string, number>();
  private readonly exposureFlushedAtMs = new Map<string, number>();
  private startedThisRun = 0;
  private draining = false;
  /** Sub-tasks whose inputs an instance was asked to prefetch (in this run). */
  private readonly prefetched = new Set<number>();
  /** Prefetches under way per instance (plan id): they take activity slots of its worker. */
  private readonly prefetchesOn = new Map<string, number>();
  /** Instances reported lost before their launch came back (the job did not know their ids yet). */
  private readonly lostBeforeLaunch = new Map<string, InstanceLostReport>();
  private readonly prefetch: boolean;
  private readonly failed: Array<{ subTaskId: string; error: string }>;
  private readonly skipped: string[];
  private readonly moves: MoveEvent[] = [];

  constructor(
    private readonly jobId: string,
    private readonly state: ControlledContinuation,
    options: JobRunOptions,
    private readonly telemetry: JobTelemetry,
    private readonly fleet?: FleetMembership,
  ) {
    this.plan = state.plan;
    this.policy = { ...DEFAULT_SUBTASK_POLICY, ...options.subTaskPolicy };
    this.maxInFlight = Math.min(options.maxChildrenInFlight ?? 500, MAX_PENDING_CHILDREN);
    this.maxPerRun = options.maxChildrenPerRun ?? 2_000;
    this.finishRest = options.onSubTaskFailure === 'finish-rest';
    this.prefetch = options.prefetchInputs !== false;
    this.progress = state.progress;
    this.status = Array.from(state.done, (c) => (c === '1' ? 'done' : c === 'x' ? 'dropped' : 'pending'));
    this.outputs = new Map(Object.entries(state.outputs));
    this.failed = state.failed ?? [];
    this.skipped = state.skipped ?? [];
    for (const inst of state.instances) {
      this.instances.set(inst.planId, inst);
      if (inst.id) this.planIdOf.set(inst.id, inst.planId);
    }
    this.rebuildDependencies();
    setHandler(subTaskLostSignal, (report) => {
      this.lostReports.push(report);
    });
    setHandler(instanceLostSignal, (report) => {
      this.lostInstances.push(report);
    });
    setHandler(jobStateQuery, () => ({
      nowSeconds: this.nowSeconds,
      nextTickAt: this.state.nextTickAt,
      onDemandMode: this.state.onDemandMode,
      launching: this.launching,
      eventDue: this.eventDue,
      subTasks: Object.fromEntries(
        this.plan.ids.map((id, k) => [
          id,
          { status: this.status[k]!, on: this.children.get(k)?.on, placedOn: this.state.placedOn[k] },
        ]),
      ),
      instances: [...this.instances.values()],
      moves: this.moves,
    }));
  }

  private get nowSeconds(): number {
    return (Date.now() - this.state.startedAtMs) / 1000;
  }

  // ---- the loop --------------------------------------------------------------------------------

  async execute(first: boolean): Promise<'done' | 'continue'> {
    if (first) {
      this.telemetry.setPhase('allocate');
      await this.decide({ kind: 'start', lostPools: [], refusedPools: [] });
      this.progress.plannedCostUsd = this.lastPrediction.cost;
      this.progress.plannedMakespanSeconds = this.lastPrediction.makespan;
    } else {
      this.applyPlacements(this.state.placedOn, this.state.order);
    }
    this.telemetry.setPhase('run');
    for (;;) {
      this.launchDue();
      this.releaseIdle();
      if (this.settled()) break;
      const wantsNewRun = this.startedThisRun >= this.maxPerRun || workflowInfo().continueAsNewSuggested;
      if (wantsNewRun) this.draining = true;
      this.dispatch();
      this.publish();
      if (this.draining && this.children.size === 0 && this.launching === 0) return 'continue';
      const waitingForLeases = [...this.instances.values()].some(
        (i) => i.leaseRequested && !i.leased && !i.lost,
      );
      if (
        this.children.size === 0 &&
        this.launching === 0 &&
        !waitingForLeases &&
        !this.state.nextTickAt &&
        !this.eventDue
      )
        throw ApplicationFailure.nonRetryable(`no sub-task can start: ${this.unstartable()}`, 'NoProgress');
      const tickInMs =
        this.state.nextTickAt !== undefined
          ? Math.max(0, this.state.startedAtMs + this.state.nextTickAt * 1000 - Date.now())
          : undefined;
      const wake = () =>
        this.finished.length > 0 ||
        this.lostReports.length > 0 ||
        this.lostInstances.length > 0 ||
        this.launched.length > 0 ||
        this.fleet?.hasNews === true ||
        this.eventDue;
      const woke =
        tickInMs === undefined
          ? (await condition(wake), true)
          : await condition(wake, Math.max(1, Math.ceil(tickInMs)));
      this.fleet?.throwIfStopped();
      this.takeGrants();
      this.yieldOwed();
      this.takeLaunches();
      this.takeLostReports();
      this.takeFinished();
      if (!woke && this.state.nextTickAt !== undefined && this.nowSeconds >= this.state.nextTickAt - 1e-3)
        this.eventDue = true;
      if (this.eventDue && !this.settled()) await this.decide(this.pendingEvent);
    }
    this.publish();
    return 'done';
  }

  private settled(): boolean {
    return this.status.every((s) => s === 'done' || s === 'dropped');
  }

  private unstartable(): string {
    const waiting = this.status.flatMap((s, k) =>
      s === 'pending' || s === 'parked' ? [this.plan.ids[k]!] : [],
    );
    return `${waiting.length} sub-task(s) wait (${waiting.slice(0, 5).join(', ')}) with no instance coming`;
  }

  // ---- decisions -------------------------------------------------------------------------------

  private lastPrediction = { cost: 0, makespan: 0 };

  /** Asks the controller, then carries its decision out. */
  private async decide(event: DecideEvent): Promise<void> {
    this.eventDue = false;
    const nowMs = Date.now();
    const observations = this.observations(nowMs);
    const request = {
      jobId: this.jobId,
      job: this.plan.job,
      resplits: this.state.resplits,
      startedAtMs: this.state.startedAtMs,
      nowSeconds: (nowMs - this.state.startedAtMs) / 1000,
      event: { ...event, lostPools: [...event.lostPools], refusedPools: [...event.refusedPools] },
      done: this.doneString(),
      running: [...this.children]
        .filter(([, c]) => c.on !== undefined)
        .map(([index, c]) => ({ index, instance: c.on!, startedAt: c.startedAt })),
      checkpointed: [...this.children].filter(([, c]) => c.on === undefined).map(([k]) => k),
      instances: [...this.instances.values()],
      observations,
      memory: this.state.memory,
      previous: this.state.schedule,
      spentUsd: this.costSoFar(nowMs),
    };
    this.pendingEvent.kind = 'tick';
    this.pendingEvent.lostPools = [];
    this.pendingEvent.refusedPools = [];
    const response = await deciding.decide(request);
    this.apply(response);
  }

  private apply(response: DecideResponse): void {
    for (const note of response.notes) log.info(note);
    const summary = this.state.summary;
    summary.decisions++;
    summary.resplits += response.resplits.length;
    summary.pieces += response.resplits.reduce((n, r) => n + r.parts, 0);
    if (response.onDemandMode) summary.safetyNet = true;
    pushAll(this.state.resplits, response.resplits);
    this.applyPatch(response);
    for (const k of response.stopRunning) this.stop(k);
    // Instances: keep what is launched, take the plan's new ones, forget planned ones it dropped.
    const planned = new Set(response.instances.map((i) => i.id));
    const dropped: string[] = [];
    for (const [planId, inst] of this.instances)
      if (inst.launchedAtMs === undefined && !planned.has(planId) && !inst.lost) {
        // A tenant's instance being launched stays known: its lease goes back once it is released.
        if (this.fleet && inst.launching) continue;
        this.instances.delete(planId);
        if (inst.leaseRequested) dropped.push(planId);
      }
    this.fleet?.giveBack(dropped);
    for (const p of response.instances) {
      const known = this.instances.get(p.id);
      if (known) {
        known.launchAt = p.launchAt;
        continue;
      }
      this.instances.set(p.id, {
        planId: p.id,
        pool: p.pool,
        market: p.market,
        maxPricePerHour: p.maxPricePerHour,
        pricePerHour: p.predictedPricePerHour,
        slots: p.slots,
        launchAt: p.launchAt,
      });
    }
    this.applyPlacements(response.placedOn, response.order);
    this.state.schedule = response.schedule;
    this.state.memory = response.memory;
    this.state.nextTickAt = response.nextTickAt;
    this.state.onDemandMode = response.onDemandMode;
    this.lastPrediction = { cost: response.predictedCostUsd, makespan: response.predictedMakespanSeconds };
  }

  /** Cuts: new pieces join the plan, the cut sub-tasks and their dependents change. */
  private applyPatch(response: DecideResponse): void {
    if (response.patch.length === 0) return;
    const plan = this.plan;
    for (const e of response.patch) {
      const isNew = e.index >= plan.ids.length;
      if (isNew) {
        plan.ids[e.index] = e.id;
        plan.stageOf[e.index] = e.stage;
        this.status[e.index] = 'pending';
        plan.stages[e.stage]!.count++;
        const stage = this.progress.stages[e.stage];
        if (stage) stage.total++;
        this.progress.total++;
      }
      plan.deps[e.index] = e.deps;
      plan.indexInStage[e.index] = e.indexInStage;
      plan.durationSeconds[e.index] = e.durationSeconds;
      this.state.definitions[e.index] = e.definition;
    }
    this.rebuildDependencies();
  }

  private rebuildDependencies(): void {
    const n = this.plan.ids.length;
    this.dependents = Array.from({ length: n }, () => []);
    this.waitingOn = new Array<number>(n).fill(0);
    this.plan.deps.forEach((deps, k) => {
      for (const d of deps) {
        this.dependents[d]!.push(k);
        if (this.status[d] !== 'done') this.waitingOn[k]!++;
      }
    });
  }

  /** The plan's placements: per instance, the ready sub-tasks in start order. */
  private applyPlacements(placedOn: Record<number, string>, order: number[]): void {
    this.state.placedOn = placedOn;
    this.state.order = order;
    this.rank = new Map(order.map((k, r) => [k, r]));
    this.readyOn = new Map();
    for (const k of order) {
      if (!this.waiting(k) || this.waitingOn[k] !== 0) continue;
      const on = placedOn[k];
      if (on === undefined) continue;
      let list = this.readyOn.get(on);
      if (!list) this.readyOn.set(on, (list = []));
      list.push(k);
    }
  }

  /** Not done and not running: pending (no child yet) or parked (its child waits for an order). */
  private waiting(k: number): boolean {
    return this.status[k] === 'pending' || this.status[k] === 'parked';
  }

  /** The controller stops a running sub-task (a cut, the safety net): its child waits for an order. */
  private stop(k: number): void {
    const child = this.children.get(k);
    if (!child || this.status[k] !== 'running') return;
    this.status[k] = 'parked';
    child.on = undefined;
    this.order(k, child, undefined, 'stopped');
  }

  /** Records work leaving a lost instance, for the operator's one line per event. */
  private moved(subTaskId: string, from: string, reason: string, atMs: number): void {
    this.moves.push({ subTaskId, from, reason, atMs });
    if (this.moves.length > MAX_MOVES) this.moves.shift();
  }

  /** Sends a child its next order: go to `instance`, or stop and wait (none). */
  private order(
    k: number,
    child: Child,
    instance: JobInstance | undefined,
    reason: Relocation['reason'],
    diedAtMs?: number,
  ): void {
    if (instance) {
      const id = this.plan.ids[k]!;
      for (let i = this.moves.length - 1; i >= 0; i--) {
        const move = this.moves[i]!;
        if (move.subTaskId !== id) continue;
        move.to ??= instance.id;
        break;
      }
    }
    child.generation++;
    const definition = this.state.definitions[k];
    const handle = getExternalWorkflowHandle(child.workflowId);
    handle
      .signal(subTaskMoveSignal, {
        generation: child.generation,
        ...(instance ? { instance: { id: instance.id!, taskQueue: instance.taskQueue! } } : {}),
        ...(definition ? { subTask: definition } : {}),
        reason,
        ...(diedAtMs !== undefined ? { diedAtMs } : {}),
      })
      .catch(() => undefined); // a child that already finished needs no order
  }

  // ---- instances -------------------------------------------------------------------------------

  /** Launches the plan's instances whose time has come. */
  private launchDue(): void {
    const now = this.nowSeconds;
    const dueNow = [...this.instances.values()].filter(
      (i) => i.launchedAtMs === undefined && !i.lost && !i.launching && (i.launchAt ?? 0) <= now + 1e-3,
    );
    // On a fleet with tenants an instance launches once its lease is granted.
    const due = this.fleet ? dueNow.filter((i) => i.leased) : dueNow;
    if (this.fleet) {
      const ask = dueNow.filter((i) => !i.leaseRequested);
      for (const i of ask) i.leaseRequested = true;
      const shared = this.fleet.shared;
      // On a shared fleet a job leases the slots its plan uses there, not the whole instance: the
      // rest is for other jobs. It keeps to them (its instance has that many slots from now on).
      if (shared) for (const i of ask) i.slots = Math.max(1, Math.min(i.slots, this.placedWidth(i.planId)));
      this.fleet.request(
        ask.map((i) => ({
          planId: i.planId,
          pricePerHour: i.maxPricePerHour,
          ...(shared ? { shared: { pool: i.pool, market: i.market, slots: i.slots } } : {}),
        })),
      );
      // A shared fleet's lease comes with its instance, already running (takeGrants).
      if (shared) return;
    }
    if (due.length === 0) return;
    for (const i of due) i.launching = true;
    this.launching++;
    provisioning
      .launchInstances(
        this.jobId,
        due.map((i) => ({
          id: i.planId,
          pool: i.pool,
          slots: i.slots,
          market: i.market,
          maxPricePerHour: i.maxPricePerHour,
        })),
        this.state.startedAtMs,
      )
      .then(
        (result) => this.launched.push(result),
        (err: unknown) => {
          log.warn('launching instances failed; the controller re-plans', { error: rootCause(err) });
          this.launched.push({
            launched: [],
            refused: due.map((i) => ({ planId: i.planId, pool: i.pool, reason: rootCause(err) })),
          });
        },
      );
  }

  private takeLaunches(): void {
    for (const result of this.launched.splice(0)) {
      this.launching--;
      for (const l of result.launched) {
        const inst = this.instances.get(l.planId);
        if (!inst) continue;
        Object.assign(inst, {
          id: l.id,
          taskQueue: l.taskQueue,
          launchedAtMs: l.launchedAtMs,
          launching: false,
        });
        if (inst.market === 'spot') this.state.summary.spotInstances++;
        else this.state.summary.onDemandInstances++;
        this.planIdOf.set(l.id, l.planId);
        this.exposureFlushedAtMs.set(l.planId, l.launchedAtMs);
        const lost = this.lostBeforeLaunch.get(l.id);
        if (lost) {
          this.lostBeforeLaunch.delete(l.id);
          this.lostInstances.push(lost); // taken with the others, right after the launches
        }
      }
      for (const r of result.refused) {
        const inst = this.instances.get(r.planId);
        if (inst) {
          inst.launching = false;
          if (inst.leased) this.fleet?.giveBack([inst.planId]);
        }
        this.refusedLaunch(inst ?? { planId: r.planId, pool: r.pool }, r.reason);
      }
    }
  }

  /**
   * How many sub-tasks the plan may run at once on an instance: the most of one stage it puts
   * there (a stage's sub-tasks do not wait for each other), counting those not started yet.
   */
  private placedWidth(planId: string): number {
    const perStage = new Map<number, number>();
    for (const [key, on] of Object.entries(this.state.placedOn)) {
      const k = Number(key);
      if (on !== planId || !this.waiting(k)) continue;
      const stage = this.plan.stageOf[k]!;
      perStage.set(stage, (perStage.get(stage) ?? 0) + 1);
    }
    return maxOf([0, ...perStage.values()]);
  }

  /** A launch refused (or its instance dead before it polled): the controller re-plans its work. */
  private refusedLaunch(
    inst: Pick<JobInstance, 'planId' | 'pool'> & Partial<JobInstance>,
    reason: string,
  ): void {
    if (this.instances.has(inst.planId)) {
      inst.lost = true;
      inst.endedAtMs = Date.now();
    }
    log.warn('launch refused', { instance: inst.planId, pool: inst.pool, reason });
    this.state.summary.refusedLaunches++;
    this.pendingEvent.kind = 'launch-refused';
    this.pendingEvent.refusedPools.push(inst.pool);
    this.eventDue = true;
  }

  /** Releases launched instances the plan no longer uses and that have nothing to run. */
  private releaseIdle(): void {
    const busy = new Set<string>();
    for (const c of this.children.values()) if (c.on) busy.add(c.on);
    for (const [k, on] of Object.entries(this.state.placedOn)) if (this.waiting(Number(k))) busy.add(on);
    const idle = [...this.instances.values()].filter(
      (i) => i.launchedAtMs !== undefined && i.endedAtMs === undefined && !busy.has(i.planId),
    );
    if (idle.length === 0) return;
    const now = Date.now();
    for (const i of idle) i.endedAtMs = now;
    if (this.fleet?.shared) {
      this.fleet.giveBack(idle.map((i) => i.planId)); // the fleet keeps the instance warm, or for others
      return;
    }
    this.releasing++;
    provisioning
      .releaseInstanceIds(
        this.jobId,
        idle.map((i) => i.id!),
      )
      .then(
        () => {
          this.releasing--;
          this.fleet?.giveBack(idle.filter((i) => i.leased).map((i) => i.planId));
        },
        (err: unknown) => {
          this.releasing--;
          log.warn('releasing idle instances failed; they are released at the end', {
            error: rootCause(err),
          });
        },
      );
  }

  /**
   * Lost instances, as a child found (its activity timed out, or got the spot notice) or as the
   * provider saw (the process exited, the interruption came): every sub-task there waits for the
   * controller, which re-plans now.
   */
  private takeLostReports(): void {
    for (const report of this.lostReports.splice(0)) {
      const k = this.plan.ids.indexOf(report.subTaskId);
      const child = k >= 0 ? this.children.get(k) : undefined;
      if (child && this.status[k] === 'running') {
        this.status[k] = 'parked';
        child.on = undefined;
        this.moved(report.subTaskId, report.instanceId, report.reason, report.atMs);
      }
      // A parked child needs a decision, whatever else is known of its instance.
      this.eventDue = true;
      this.instanceLost(report.instanceId, report.reason, report.atMs);
    }
    for (const report of this.lostInstances.splice(0)) {
      // Lost before the job knew its id (its launch is still coming back): when it comes.
      if (!this.planIdOf.has(report.instanceId)) {
        this.lostBeforeLaunch.set(report.instanceId, report);
        continue;
      }
      // No poller on its queue: presumed dead (hung or gone), when is not known. A worker whose
      // activity slots are all taken does not poll: its activities' heartbeats watch it instead.
      if (report.reason === 'no-poller') {
        if (!this.allSlotsBusy(report.instanceId))
          this.instanceLost(report.instanceId, report.reason, report.atMs);
        continue;
      }
      // The provider saw the instance die: its time is when the work stopped.
      this.instanceLost(report.instanceId, report.reason, report.atMs, true);
    }
  }

  private allSlotsBusy(instanceId: string): boolean {
    const planId = this.planIdOf.get(instanceId);
    const inst = planId === undefined ? undefined : this.instances.get(planId);
    if (!inst) return false;
    let running = this.prefetchesOn.get(inst.planId) ?? 0;
    for (const [j, c] of this.children) if (c.on === planId && this.status[j] === 'running') running++;
    return running >= inst.slots + PREFETCH_SLOTS;
  }

  /**
   * A lost (or yielded) instance of a tenant's job is terminated before its lease goes back: one
   * that only looks lost (hung, suspended) must not run beside its replacement over the quota.
   */
  private releaseLost(inst: JobInstance, why: 'lost' | 'yield'): void {
    if (this.fleet?.shared) {
      // The fleet owns it: a lost one it terminates (and tells the other jobs there) before the
      // lease goes back; a yielded one keeps running others' work.
      if (why === 'lost') this.fleet.reportLost(inst.planId, inst.id!, 'lost');
      else this.fleet.giveBack([inst.planId]);
      return;
    }
    provisioning.releaseInstanceIds(this.jobId, [inst.id!]).then(
      () => this.fleet?.giveBack([inst.planId]),
      (err: unknown) =>
        log.warn('releasing a lost instance failed; its lease goes back at the end', {
          error: rootCause(err),
        }),
    );
  }

  /**
   * Leases the fleet granted: those instances may launch (on a shared fleet: are running, on the
   * fleet's instance the grant names); any the plan no longer wants go back.
   */
  private takeGrants(): void {
    if (!this.fleet) return;
    const grants = this.fleet.takeGrants();
    const unwanted: string[] = [];
    for (const planId of grants.planIds) {
      const inst = this.instances.get(planId);
      if (!inst || inst.lost || inst.endedAtMs !== undefined) {
        if (!inst || grants.instances[planId]) unwanted.push(planId);
        continue;
      }
      inst.leased = true;
      const on = grants.instances[planId];
      if (on && inst.launchedAtMs === undefined) this.tookSharedInstance(inst, on); // not again on a repeat
    }
    this.fleet.giveBack(unwanted);
    for (const [planId, reason] of Object.entries(grants.refused)) {
      const inst = this.instances.get(planId);
      if (inst && inst.launchedAtMs === undefined) this.refusedLaunch(inst, reason);
    }
  }

  /** A lease on a shared instance: the job's instance runs from now, at its share of the price. */
  private tookSharedInstance(inst: JobInstance, on: SharedInstanceGrant): void {
    const nowMs = Date.now();
    Object.assign(inst, {
      id: on.id,
      taskQueue: on.taskQueue,
      launchedAtMs: nowMs,
      pricePerHour: (inst.pricePerHour * inst.slots) / Math.max(inst.slots, on.slots),
    });
    if (inst.market === 'spot') this.state.summary.spotInstances++;
    else this.state.summary.onDemandInstances++;
    this.planIdOf.set(on.id, inst.planId);
    this.exposureFlushedAtMs.set(inst.planId, nowMs);
    log.info('placed on a shared instance', { lease: inst.planId, instance: on.id, slots: on.slots });
  }

  /**
   * Gives back the instances the fleet asked for (a higher priority needs them): leases not yet
   * launched first, then the instances running the fewest sub-tasks. Their running sub-tasks stop
   * (they checkpoint and wait for the controller to place them again); the instance is released
   * (its worker drains: a step still running checkpoints on the way out), then its lease goes back.
   */
  private yieldOwed(): void {
    let owed = this.fleet?.takeOwed() ?? 0;
    if (owed === 0) return;
    const runningOn = (planId: string) => [...this.children.values()].filter((c) => c.on === planId).length;
    const held = [...this.instances.values()]
      .filter((i) => i.leased && !i.launching && !i.lost && i.endedAtMs === undefined)
      .sort(
        (a, b) =>
          Number(a.launchedAtMs !== undefined) - Number(b.launchedAtMs !== undefined) ||
          runningOn(a.planId) - runningOn(b.planId),
      );
    const nowMs = Date.now();
    for (const inst of held) {
      if (owed-- <= 0) break;
      log.info('yielding an instance to a higher priority', { instance: inst.id ?? inst.planId });
      if (inst.launchedAtMs === undefined) {
        inst.leased = false;
        inst.leaseRequested = false; // asked again at its launch time: it waits for room
        this.fleet!.giveBack([inst.planId]);
        continue;
      }
      for (const [k, c] of this.children) if (c.on === inst.planId) this.stop(k);
      inst.endedAtMs = nowMs;
      this.releaseLost(inst, 'yield');
    }
    this.pendingEvent.kind = 'instance-lost';
    this.eventDue = true;
  }

  private instanceLost(instanceId: string, reason: string, atMs: number, diedThen = false): void {
    const planId = this.planIdOf.get(instanceId);
    const inst = planId === undefined ? undefined : this.instances.get(planId);
    if (!inst || inst.lost) return;
    // Released on purpose: its end is no loss (a provider may report the exit it caused).
    if (inst.endedAtMs !== undefined) return;
    inst.lost = true;
    inst.endedAtMs = atMs;
    this.progress.interruptions++;
    if (this.fleet && inst.leased) this.releaseLost(inst, 'lost');
    log.warn('instance lost', { instance: instanceId, pool: inst.pool, reason });
    if (inst.market === 'spot') {
      this.pendingEvent.lostPools.push(inst.pool);
      this.interruptionsByPool.set(inst.pool, (this.interruptionsByPool.get(inst.pool) ?? 0) + 1);
    }
    // Its sub-tasks stop now (running, or queued and not started) rather than each waiting for
    // its own timeout.
    for (const [j, c] of this.children) {
      if (c.on !== inst.planId) continue;
      this.status[j] = 'parked';
      c.on = undefined;
      this.moved(this.plan.ids[j]!, instanceId, reason, atMs);
      this.order(j, c, undefined, 'instance-lost', diedThen ? atMs : undefined);
    }
    this.pendingEvent.kind = 'instance-lost';
    this.eventDue = true;
  }

  /** Spot exposure since the last decision and interruptions, per pool (what the controller learns from). */
  private observations(
    nowMs: number,
  ): Array<{ pool: string; exposureSeconds: number; interruptions: number }> {
    const byPool = new Map<string, { exposureSeconds: number; interruptions: number }>();
    for (const inst of this.instances.values()) {
      if (inst.market !== 'spot' || inst.launchedAtMs === undefined) continue;
      const from = this.exposureFlushedAtMs.get(inst.planId) ?? inst.launchedAtMs;
      const to = Math.min(nowMs, inst.endedAtMs ?? nowMs);
      if (to <= from) continue;
      this.exposureFlushedAtMs.set(inst.planId, to);
      const o = byPool.get(inst.pool) ?? { exposureSeconds: 0, interruptions: 0 };
      o.exposureSeconds += (to - from) / 1000;
      byPool.set(inst.pool, o);
    }
    for (const [pool, count] of this.interruptionsByPool) {
      const o = byPool.get(pool) ?? { exposureSeconds: 0, interruptions: 0 };
      o.interruptions += count;
      byPool.set(pool, o);
    }
    this.interruptionsByPool.clear();
    return [...byPool].map(([pool, o]) => ({ pool, ...o }));
  }

  private costSoFar(nowMs: number): number {
    let usd = 0;
    for (const inst of this.instances.values()) {
      if (inst.launchedAtMs === undefined) continue;
      const end = inst.endedAtMs ?? nowMs;
      usd += (Math.max(0, end - inst.launchedAtMs) / 3_600_000) * inst.pricePerHour;
    }
    return usd;
  }

  // ---- sub-tasks -------------------------------------------------------------------------------

  /** Starts (or moves) ready sub-tasks on launched instances with a free slot, in plan order. */
  private dispatch(): void {
    const used = new Map<string, number>();
    for (const c of this.children.values()) if (c.on) used.set(c.on, (used.get(c.on) ?? 0) + 1);
    const byRank = (a: number, b: number) => (this.rank.get(a) ?? Infinity) - (this.rank.get(b) ?? Infinity);
    for (;;) {
      let best: { k: number; inst: JobInstance } | undefined;
      for (const [planId, list] of this.readyOn) {
        const head = list[0];
        if (head === undefined) continue;
        const inst = this.instances.get(planId);
        if (!inst || inst.launchedAtMs === undefined || inst.endedAtMs !== undefined) continue;
        if ((used.get(planId) ?? 0) >= inst.slots) continue;
        const newChild = this.status[head] === 'pending';
        if (newChild && (this.draining || this.children.size >= this.maxInFlight)) continue;
        if (!best || byRank(head, best.k) < 0) best = { k: head, inst };
      }
      if (!best) return this.prefetchInputs(used);
      const { k, inst } = best;
      this.readyOn.get(inst.planId)!.shift();
      used.set(inst.planId, (used.get(inst.planId) ?? 0) + 1);
      if (this.status[k] === 'parked') {
        const child = this.children.get(k)!;
        child.on = inst.planId;
        child.startedAt = this.nowSeconds;
        this.status[k] = 'running';
        this.order(k, child, inst, 'stopped'); // the reason it left its last instance is the child's
      } else this.start(k, inst);
    }
  }

  /**
   * Busy instances fetch the inputs of their next ready command sub-task from the artifact store
   * while they finish the one before (fire and forget: the sub-task fetches whatever is missing).
   */
  private prefetchInputs(used: Map<string, number>): void {
    if (!this.prefetch) return;
    const requests = prefetchesToIssue<string>({
      readyOn: this.readyOn,
      freeSlots: (planId) => {
        const inst = this.instances.get(planId);
        if (!inst || inst.launchedAtMs === undefined || inst.endedAtMs !== undefined) return Infinity;
        return inst.slots - (used.get(planId) ?? 0);
      },
      prefetched: (k) => this.prefetched.has(k),
      inputBytes: (k) => (this.plan.stages[this.plan.stageOf[k]!]?.step === COMMAND_STEP ? 1 : 0),
    });
    for (const { subTask: k, instance } of requests) {
      const inst = this.instances.get(instance)!;
      this.prefetched.add(k);
      this.prefetchesOn.set(instance, (this.prefetchesOn.get(instance) ?? 0) + 1);
      prefetching(inst.taskQueue!)
        .prefetchInputs({ jobId: this.plan.jobId, ...this.definitionOf(k), ...this.inputsOf(k) })
        .catch(() => undefined) // the sub-task fetches what a lost or failed prefetch did not
        .finally(() => this.prefetchesOn.set(instance, (this.prefetchesOn.get(instance) ?? 1) - 1));
    }
  }

  /** Where the instance reads a sub-task's definition: inline after a cut, else the stored job. */
  private definitionOf(k: number) {
    const definition = this.state.definitions[k];
    return definition ? { subTask: definition } : subTaskDefinition(this.plan, k);
  }

  /** Dependency outputs the workflow holds (those not in the checkpoint store). */
  private inputsOf(k: number): { inputs?: Record<string, unknown> } {
    const inputs: Record<string, unknown> = {};
    for (const d of this.plan.deps[k]!) {
      const depId = this.plan.ids[d]!;
      if (this.outputs.has(depId)) inputs[depId] = this.outputs.get(depId);
    }
    return Object.keys(inputs).length > 0 ? { inputs } : {};
  }

  private start(k: number, inst: JobInstance): void {
    const plan = this.plan;
    const id = plan.ids[k]!;
    const stage = plan.stages[plan.stageOf[k]!]!;
    this.status[k] = 'running';
    this.startedThisRun++;
    const workflowId = `${plan.jobId}/${id}`;
    this.children.set(k, { workflowId, on: inst.planId, startedAt: this.nowSeconds, generation: 0 });
    executeChild(spotdagSubTask, {
      workflowId,
      ...(this.plan.tenancy ? { priority: temporalPriority(this.plan.tenancy) } : {}),
      staticSummary: subTaskSummary(
        { stage: stage.stage, index: plan.indexInStage[k]!, count: stage.count },
        { instanceType: inst.pool.split('@')[0]!, zone: inst.pool.split('@')[1] ?? '', market: inst.market },
      ),
      args: [
        {
          jobId: plan.jobId,
          ...this.definitionOf(k),
          instance: { id: inst.id!, taskQueue: inst.taskQueue! },
          ...this.inputsOf(k),
          policy: this.policy,
          moves: 'parent',
        },
      ],
    }).then(
      (outcome) => this.finished.push({ k, outcome }),
      (error: unknown) => this.finished.push({ k, error }),
    );
  }

  private takeFinished(): void {
    for (const f of this.finished.splice(0)) {
      const { k } = f;
      this.children.delete(k);
      const id = this.plan.ids[k]!;
      if ('error' in f) {
        if (!this.finishRest)
          throw ApplicationFailure.nonRetryable(
            `sub-task ${id} failed: ${rootCause(f.error)}`,
            'SubTaskFailed',
          );
        log.warn('sub-task failed; the rest of the job goes on', { subTask: id, error: rootCause(f.error) });
        this.drop(k, rootCause(f.error));
        continue;
      }
      const { outcome } = f;
      this.status[k] = 'done';
      this.progress.done++;
      const stage = this.progress.stages[this.plan.stageOf[k]!];
      if (stage) stage.done++;
      const dependents = this.dependents[k]!;
      if (!outcome.stored || dependents.length === 0) this.outputs.set(id, outcome.output);
      const work = relocationWork(outcome, this.plan.durationSeconds[k]!);
      this.progress.workLostSeconds += work.lostSeconds;
      this.progress.workLostEstimatedSeconds =
        (this.progress.workLostEstimatedSeconds ?? 0) + work.estimatedLostSeconds;
      this.progress.workSavedSeconds += work.savedSeconds;
      for (const next of dependents) {
        if (--this.waitingOn[next]! === 0 && this.waiting(next)) {
          const on = this.state.placedOn[next];
          if (on === undefined) continue;
          let list = this.readyOn.get(on);
          if (!list) this.readyOn.set(on, (list = []));
          insertSorted(list, next, (a, b) => (this.rank.get(a) ?? Infinity) - (this.rank.get(b) ?? Infinity));
        }
      }
    }
  }

  /** Drops a failed sub-task and everything downstream of it; the rest goes on. */
  private drop(k: number, error: string): void {
    this.failed.push({ subTaskId: this.plan.ids[k]!, error });
    this.status[k] = 'dropped';
    const stack = [k];
    while (stack.length > 0) {
      for (const next of this.dependents[stack.pop()!]!) {
        if (this.status[next] === 'dropped') continue;
        this.status[next] = 'dropped';
        this.skipped.push(this.plan.ids[next]!);
        stack.push(next);
      }
    }
  }

  // ---- reporting -------------------------------------------------------------------------------

  private publish(): void {
    this.progress.running = [...this.children.values()].filter((c) => c.on !== undefined).length;
    this.progress.costSoFarUsd = this.costSoFar(Date.now());
    this.telemetry.publish();
  }

  private doneString(): string {
    return this.status.map((s) => (s === 'done' ? '1' : s === 'dropped' ? 'x' : '0')).join('');
  }

  /** The state the next run continues from. */
  snapshot(): ControlledContinuation {
    const open = (k: number) => this.waiting(k);
    return {
      ...this.state,
      done: this.doneString(),
      outputs: Object.fromEntries(this.outputs),
      instances: [...this.instances.values()],
      // Placements of what is still to run: the next run's plan until its first decision.
      order: this.state.order.filter(open),
      placedOn: Object.fromEntries(Object.entries(this.state.placedOn).filter(([k]) => open(Number(k)))),
      ...(this.failed.length > 0 ? { failed: this.failed, skipped: this.skipped } : {}),
    };
  }

  /** The job's episode for `spotdag learn update`; a failure to record it only logs. */
  async recordEpisode(result: JobResult): Promise<void> {
    const s = this.state.summary;
    try {
      await recording.recordEpisode({
        jobId: this.jobId,
        startedAtMs: this.state.startedAtMs,
        finishedAtMs: Date.now(),
        policyVersion: this.state.memory?.policyVersion ?? 0,
        job: this.plan.job,
        subTasks: this.plan.ids.length,
        decisions: {
          count: s.decisions,
          resplits: s.resplits,
          safetyNet: s.safetyNet,
          spotInstances: s.spotInstances,
          onDemandInstances: s.onDemandInstances,
          refusedLaunches: s.refusedLaunches,
        },
        outcome: {
          costUsd: result.costUsd,
          elapsedSeconds: result.elapsedSeconds,
          interruptions: result.interruptions,
          workLostSeconds: result.workLostSeconds,
          failedSubTasks: result.failedSubTasks?.length ?? 0,
        },
      });
    } catch (err) {
      log.warn('could not record the job’s episode for learning', { error: String(err) });
    }
  }

  result(billedUsd: number | undefined): JobResult {
    const p = this.progress;
    return {
      jobId: this.jobId,
      name: this.plan.name,
      result: finalResult(this.plan, Object.fromEntries(this.outputs)),
      subTasks: this.plan.ids.length,
      instances: this.instances.size,
      predictedMakespanSeconds: p.plannedMakespanSeconds,
      predictedCostUsd: p.plannedCostUsd,
      costUsd: billedUsd ?? p.costSoFarUsd,
      interruptions: p.interruptions,
      workLostSeconds: p.workLostSeconds,
      workLostEstimatedSeconds: p.workLostEstimatedSeconds ?? 0,
      workSavedSeconds: p.workSavedSeconds,
      elapsedSeconds: (Date.now() - this.state.startedAtMs) / 1000,
      ...(this.failed.length ? { failedSubTasks: this.failed, skippedSubTasks: this.skipped } : {}),
      controller: this.state.summary,
    };
  }
}
