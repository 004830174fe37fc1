/**
 * spotdag in the single-job benchmark: the same `spotdagPolicy` as `bench schedule` (allocate at
 * the start, reallocate after every interruption or refused launch, learning from what it saw),
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
import { BUILTIN_SHAPES, marketForecast, StepFunction } from '../../allocate/market-forecast';
import { preferencesSchema } from '../../allocate/preferences';
import { dagArrays } from '../../allocate/rank';
import { resolveFleet, type RuntimeState, type SpotdagSchedule } from '../../allocate/types';
import type { DependencyAttributes, SubTaskAttributes, TaskDag } from '../../dag';
import { InterruptionModel } from '../../forecast';
import type { AvailabilityTrace, Pool } from '../../market';
import { CyclicTrace, SimMarket } from '../market';
import { spotdagPolicy } from '../policies';
import { learnTraceHistory } from '../scenario';
import type { ReplanEvent, SimPolicy } from '../simulator';
import type { Choice, JobView, SingleJob, SinglePolicy } from './job';

export interface SpotdagSingleInput {
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
  const market = new SimMarket([
    {
      option,
      price: new StepFunction(0, 3600, [job.spotPricePerHour]),
      trace: new CyclicTrace(trace),
      offsetTicks: startTick,
      traceName: trace.name,
    },
  ]);
  const fleet = resolveFleet({ bootSeconds: job.overheadSeconds, restartSeconds: 0, checkpointSeconds: 0 });
  const preferences = preferencesSchema.parse({ objective: 'minimize-cost', deadline: job.deadlineSeconds });
  const policy: SimPolicy = spotdagPolicy(
    { d: dagArrays(oneSubTaskDag(job.workSeconds)), fleet, preferences, market },
    { forecast },
  );

  let schedule: SpotdagSchedule | undefined;
  let last: Choice = 'none';
  let spotSinceTick = 0;
  let nextInstanceId = 0;

  const instanceOf = (s: SpotdagSchedule) => {
    const placement = s.placements.find((p) => p.subTaskId === SUB_TASK)!;
    return s.instances.find((i) => i.id === placement.instanceId)!;
  };

  const replan = (view: JobView, event: ReplanEvent) => {
    const { state } = view;
    nextInstanceId++;
    const runtime: RuntimeState = {
      nowSeconds: state.tick * job.gapSeconds,
      done: [],
      running: [],
      progress: state.done > 0 ? { [SUB_TASK]: state.done } : {},
      instances: [],
      penalisedPools: event.pools,
      displaced: [SUB_TASK],
      nextInstanceId,
      spentUsd: state.costUsd,
    };
    schedule = policy.replan(runtime, event, schedule!);
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
      }
      for (let attempt = 0; attempt < MAX_REPLANS_PER_TICK; attempt++) {
        const instance = instanceOf(schedule);
        let choice: Choice;
        if (t + 1e-6 < instance.launchAt) choice = 'none';
        else if (instance.market === 'on-demand') choice = 'on-demand';
        else if (view.spotAvailable) choice = 'spot';
        else {
          replan(view, { reason: 'launch-failed', pools: [option.key], observations: [], waitingPools: [] });
          continue;
        }
        if (choice === 'spot' && state.on !== 'spot') spotSinceTick = state.tick;
        last = choice;
        return choice;
      }
      throw new Error(
        `spotdag re-planned ${MAX_REPLANS_PER_TICK} times at tick ${state.tick} without a launch`,
      );
    },
  };
}
