/**
 * The runtime controller (src/controller) as a simulator policy: the simulator's re-plan events
 * become controller events, its runtime state the controller's state. The same controller runs in
 * the job workflow through the `decide` activity; this adapter only translates.
 */
import type { Preferences } from '../allocate/preferences';
import type { DagArrays } from '../allocate/rank';
import type { AllocationForecast, RankOrder, ResolvedFleet, RuntimeState } from '../allocate/types';
import {
  Controller,
  DEFAULT_ENGINE_OVERHEAD_SECONDS,
  freshMemory,
  PENALTY_SECONDS,
  tickSeconds,
  type ControllerEvent,
  type ControllerFleet,
  type ControllerMemory,
  type ControllerOptions,
} from '../controller';
import { DirectedGraph } from 'graphology';
import type { TaskDag } from '../dag';
import type { ReplanEvent, SimPolicy } from './simulator';

export interface ControllerPolicyEnv {
  d: DagArrays;
  /** The DAG with its attributes (ranges) when sub-tasks may be re-split; else only `d` is planned. */
  dag?: TaskDag;
  fleet: ResolvedFleet;
  preferences: Preferences;
}

export interface ControllerPolicyOptions extends ControllerOptions {
  name?: string;
  forecast: AllocationForecast;
  /** Seconds from a spot notice to the end of the instance (default 120, as AWS). */
  noticeSeconds?: number;
  order?: RankOrder;
}

/** The simulator's fleet as the controller's machine model. */
export function simControllerFleet(fleet: ResolvedFleet, noticeSeconds?: number): ControllerFleet {
  return {
    ...fleet,
    noticeSeconds: noticeSeconds ?? fleet.noticeSeconds,
    engineOverheadSeconds: DEFAULT_ENGINE_OVERHEAD_SECONDS,
    minTickSeconds: 60,
    penaltySeconds: PENALTY_SECONDS,
  };
}

function controllerEvent(event: ReplanEvent | undefined): ControllerEvent {
  if (!event) return { kind: 'start' };
  const kind =
    event.reason === 'interruption'
      ? 'spot-notice'
      : event.reason === 'launch-failed'
        ? 'launch-refused'
        : 'tick';
  const refused = event.reason === 'launch-failed';
  return {
    kind,
    pools: refused ? [] : event.pools,
    refusedPools: refused ? event.pools : [],
    observations: event.observations,
  };
}

/** spotdag's policy in the simulator: the runtime controller. */
export function controllerPolicy(env: ControllerPolicyEnv, options: ControllerPolicyOptions): SimPolicy {
  const fleet = simControllerFleet(env.fleet, options.noticeSeconds);
  const controller = new Controller({
    forecast: options.forecast,
    fleet,
    preferences: env.preferences,
    // Cutting needs the DAG's ranges; a simulator without them plans the fixed DAG.
    options: { ...options, resplit: env.dag !== undefined && options.resplit !== false },
  });
  const dag = env.dag ?? arraysAsDag(env.d);
  let memory: ControllerMemory = freshMemory();
  const decide = (
    state: RuntimeState,
    event: ReplanEvent | undefined,
    previous?: ReturnType<SimPolicy['plan']>,
  ) => {
    const decision = controller.decide(dag, { ...state }, controllerEvent(event), memory, previous);
    memory = decision.memory;
    return decision.schedule;
  };
  return {
    name: options.name ?? 'spotdag',
    onNoCapacity: 'replan',
    replanEverySeconds: tickSeconds(env.preferences, fleet),
    plan: () => decide({ nowSeconds: 0, done: [], running: [], instances: [] }, undefined),
    replan: (state, event, previous) => decide(state, event, previous),
  };
}

/** A graphology DAG with the arrays' nodes and edges (no ranges: nothing can be cut). */
function arraysAsDag(d: DagArrays): TaskDag {
  const dag: TaskDag = new DirectedGraph();
  for (let v = 0; v < d.ids.length; v++) {
    dag.addNode(d.ids[v]!, {
      id: d.ids[v]!,
      stage: 'task',
      step: 'task',
      kind: 'task',
      cpu: d.cpu[v]!,
      memoryMiB: d.memoryMiB[v]!,
      durationSeconds: d.duration[v]!,
      durationUncertainty: 0,
      priority: 0,
      index: v,
      count: d.ids.length,
    });
  }
  for (let v = 0; v < d.ids.length; v++)
    for (let i = d.predStart[v]!; i < d.predStart[v + 1]!; i++)
      dag.addDirectedEdge(d.ids[d.pred[i]!]!, d.ids[v]!, { bytes: d.predBytes[i]! });
  return dag;
}
