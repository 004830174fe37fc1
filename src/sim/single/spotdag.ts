/**
 * spotdag in the single-job benchmark: the runtime controller, as in `bench schedule` and in real
 * jobs (plan at the start, decide again after every interruption or refused launch and on its
 * periodic tick, learning from what it saw, with its deadline safety net),
 * planning a one-sub-task DAG on a market of one pool — the trace's — with the benchmark's fixed
 * spot and on-demand prices. Its plans are carried out tick by tick in the single-job model:
 *
 * - the plan's instance for the sub-task is requested at the first tick at or after its
 *   `launchAt`; on-demand is always granted; spot only at a tick with capacity, else the launch
 *   is refused and spotdag re-plans;
 * - a preemption ends the instance; spotdag re-plans with the work done so far as checkpointed
 *   progress (progress survives in this model);
 * - the fleet it plans with is the model's: boot = the restart overhead d (billed, no progress),
 *   no separate restart, free checkpoints.
 *
 * What spotdag knows at the start: the fixed prices, and an interruption model with default
 * priors trained on the trace's 3 days before the start tick (as `bench schedule` trains it).
 */
import { DirectedGraph } from 'graphology';
import { BUILTIN_SHAPES, marketForecast } from '../../allocate/market-forecast';
import { preferencesSchema } from '../../allocate/preferences';
import { dagArrays } from '../../allocate/rank';
import {
  resolveFleet,
  type RuntimeState,
  type SpotdagInstancePlan,
  type SpotdagSchedule,
} from '../../allocate/types';
import type { DependencyAttributes, SubTaskAttributes, TaskDag } from '../../dag';
import { InterruptionModel } from '../../forecast';
import type { AvailabilityTrace, Pool } from '../../market';
import { controllerPolicy, type ControllerPolicyOptions } from '../controller-policy';
import { learnTraceHistory } from '../scenario';
import type { ReplanEvent, SimPolicy } from '../simulator';
import type { Choice, JobView, SingleJob, SinglePolicy } from './job';

export interface SpotdagSingleInput {
  /** Sees every decision of the controller (tracing). */
  onDecision?: ControllerPolicyOptions['onDecision'];
  job: SingleJob;
  /** The whole trace the job's availability was cut from. */
  trace: AvailabilityTrace;
  startTick: number;
  /** Trace history the interruption model learns from (default 3 days). */
  historySeconds?: number;
}

const SUB_TASK = 'job';
/** Re-plans at one tick beyond this mean the policy cannot place the job: a bug, not a decision. */
const MAX_REPLANS_PER_TICK = 20;

function poolOf(trace: AvailabilityTrace): Pool {
  if (trace.pool && BUILTIN_SHAPES[trace.pool.instanceType]) return trace.pool;
  return {
    instanceType: 'p3.2xlarge',
    region: trace.pool?.region ?? 'trace',
    zone: trace.pool?.zone ?? 'trace',
  };
}

function oneSubTaskDag(workSeconds: number): TaskDag {
  const dag: TaskDag = new DirectedGraph<SubTaskAttributes, DependencyAttributes>();
  dag.addNode(SUB_TASK, {
    id: SUB_TASK,
    stage: SUB_TASK,
    step: SUB_TASK,
    kind: 'task',
    cpu: 1,
    memoryMiB: 1024,
    durationSeconds: workSeconds,
    durationUncertainty: 0,
    priority: workSeconds,
    index: 0,
    count: 1,
  });
  return dag;
}

/** The real spotdag policy on a one-sub-task DAG, driven tick by tick. */
export function spotdagSinglePolicy(input: SpotdagSingleInput): SinglePolicy {
  const { job, trace, startTick } = input;
  const pool = poolOf(trace);
  const startMs = trace.startMs + startTick * trace.gapSeconds * 1000;
  const model = new InterruptionModel();
  learnTraceHistory(model, pool, trace, startTick, input.historySeconds ?? 3 * 86400, startMs);
  const steps = Math.ceil(job.deadlineSeconds / 3600) + 2;
  const forecast = marketForecast({
    forecasts: [
      {
        pool,
        startMs,
        stepSeconds: 3600,
        mean: new Array<number>(steps).fill(job.spotPricePerHour),
        lower: new Array<number>(steps).fill(job.spotPricePerHour),
        upper: new Array<number>(steps).fill(job.spotPricePerHour),
        models: { fixed: 1 },
      },
    ],
    interruptions: model,
    onDemandPrice: () => job.onDemandPricePerHour,
    startMs,
  });
  const option = forecast.pools[0]!;
  const fleet = resolveFleet({ bootSeconds: job.overheadSeconds, restartSeconds: 0, checkpointSeconds: 0 });
  const preferences = preferencesSchema.parse({ objective: 'minimize-cost', deadline: job.deadlineSeconds });
  const policy: SimPolicy = controllerPolicy(
    { d: dagArrays(oneSubTaskDag(job.workSeconds)), fleet, preferences },
    { forecast, onDecision: input.onDecision },
  );
  const period = policy.replanEverySeconds ?? Infinity;
  let lastReplanAt = 0;

  let schedule: SpotdagSchedule | undefined;
  let last: Choice = 'none';
  let spotSinceTick = 0;
  let nextInstanceId = 0;

  /** The instance the plan puts the job on, or undefined when the job keeps running where it is. */
  const instanceOf = (s: SpotdagSchedule) => {
    const placement = s.placements.find((p) => p.subTaskId === SUB_TASK);
    return placement && s.instances.find((i) => i.id === placement.instanceId)!;
  };
  /** The instance the job runs on now (the plan's, when it started there). */
  let current: SpotdagInstancePlan | undefined;

  const replan = (view: JobView, event: ReplanEvent) => {
    const { state } = view;
    const t = state.tick * job.gapSeconds;
    lastReplanAt = t;
    nextInstanceId++;
    // Running: the controller sees it running (progress survives, so nothing is unsaved) and only
    // moves it when it decides to (back to spot, the safety net); otherwise it places it anew.
    const running = state.on !== 'none' && current !== undefined;
    const runtime: RuntimeState = {
      nowSeconds: t,
      done: [],
      running: running
        ? [
            {
              subTaskId: SUB_TASK,
              instanceId: current!.id,
              expectedFinish: t + state.overheadLeft + (job.workSeconds - state.done),
              unsavedSeconds: 0,
            },
          ]
        : [],
      progress: state.done > 0 ? { [SUB_TASK]: state.done } : {},
      instances: running ? [{ ...current!, launched: true }] : [],
      penalisedPools: event.pools,
      displaced: running ? [] : [SUB_TASK],
      nextInstanceId,
      spentUsd: state.costUsd,
    };
    schedule = policy.replan(
      runtime,
      { ...event, capacity: { [option.key]: view.spotAvailable } },
      schedule!,
    );
  };

  return {
    name: 'spotdag',
    decide(view): Choice {
      const { state } = view;
      const t = state.tick * job.gapSeconds;
      schedule ??= policy.plan();
      if (last === 'spot' && state.on === 'none') {
        // Preempted at this tick.
        replan(view, {
          reason: 'interruption',
          pools: [option.key],
          observations: [
            {
              pool: option.key,
              exposureSeconds: (state.tick - spotSinceTick) * job.gapSeconds,
              interruptions: 1,
            },
          ],
          waitingPools: [],
        });
      } else if (t - lastReplanAt >= period) {
        // The controller's periodic decision (its safety net may release, or engage).
        const exposure = state.on === 'spot' ? (state.tick - spotSinceTick) * job.gapSeconds : 0;
        if (state.on === 'spot') spotSinceTick = state.tick;
        replan(view, {
          reason: 'periodic',
          pools: [],
          observations:
            exposure > 0 ? [{ pool: option.key, exposureSeconds: exposure, interruptions: 0 }] : [],
          waitingPools: [],
        });
      }
      for (let attempt = 0; attempt < MAX_REPLANS_PER_TICK; attempt++) {
        const instance = instanceOf(schedule);
        if (!instance) return (last = state.on); // keeps running where it is
        let choice: Choice;
        if (t + 1e-6 < instance.launchAt) choice = 'none';
        else if (instance.market === 'on-demand') choice = 'on-demand';
        else if (view.spotAvailable) choice = 'spot';
        else {
          replan(view, { reason: 'launch-failed', pools: [option.key], observations: [], waitingPools: [] });
          continue;
        }
        if (choice === 'spot' && state.on !== 'spot') spotSinceTick = state.tick;
        current = choice === 'none' ? undefined : instance;
        last = choice;
        return choice;
      }
      throw new Error(
        `spotdag re-planned ${MAX_REPLANS_PER_TICK} times at tick ${state.tick} without a launch`,
      );
    },
  };
}
