/**
 * The runtime controller (src/controller) as a simulator policy: the simulator's re-plan events
 * become controller events, its runtime state the controller's state, and the controller's cuts a
 * change of the simulated DAG. The same controller runs in the job workflow through the `decide`
 * activity; this adapter only translates.
 */
import { DirectedGraph } from 'graphology';
import type { Preferences } from '../allocate/preferences';
import { dagArrays, type DagArrays } from '../allocate/rank';
import type { AllocationForecast, RankOrder, ResolvedFleet, RuntimeState } from '../allocate/types';
import {
  Controller,
  DEFAULT_ENGINE_OVERHEAD_SECONDS,
  freshMemory,
  tickSeconds,
  type ControllerEvent,
  type ControllerFleet,
  type ControllerMemory,
  type ControllerOptions,
  type ControllerState,
  type Decision,
} from '../controller';
import type { TaskDag } from '../dag';
import type { ReplanEvent, SimPlan, SimPolicy } from './simulator';

export interface ControllerPolicyEnv {
  d: DagArrays;
  /**
   * The DAG with its attributes (ranges), when sub-tasks may be cut; it is cut in place, and must
   * have the same nodes in the same order as `d`. Without it the fixed DAG of `d` is planned.
   */
  dag?: TaskDag;
  fleet: ResolvedFleet;
  preferences: Preferences;
}

export interface ControllerPolicyOptions extends ControllerOptions {
  name?: string;
  forecast: AllocationForecast;
  /** The shortest period between periodic decisions (default 60 s). */
  minTickSeconds?: number;
  /** How long an interrupting pool gets no new spot (default 0: the learned model says when it is back). */
  penaltySeconds?: number;
  /** Sees every decision (tracing, `bench twin`). */
  onDecision?: (decision: Decision, state: ControllerState) => void;
  order?: RankOrder;
}

/** The simulator's fleet as the controller's machine model. */
export function simControllerFleet(
  fleet: ResolvedFleet,
  timing: { minTickSeconds?: number; penaltySeconds?: number } = {},
): ControllerFleet {
  return {
    ...fleet,
    engineOverheadSeconds: DEFAULT_ENGINE_OVERHEAD_SECONDS,
    minTickSeconds: timing.minTickSeconds ?? 60,
    penaltySeconds: timing.penaltySeconds ?? 0,
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
  // Interruptions penalise a pool; a refusal only says it has no capacity now.
  const refused = event.reason === 'launch-failed';
  return {
    kind,
    pools: refused ? [] : event.pools,
    refusedPools: refused ? event.pools : [],
    observations: event.observations,
    capacity: event.capacity,
  };
}

/**
 * The controller's state from the simulator's: checkpointed work of running sub-tasks is theirs,
 * and the unit position of every checkpoint is where the units it covers end (a range's units are
 * equally long), so that cuts start exactly after the work the simulator keeps.
 */
function controllerState(state: RuntimeState, dag: TaskDag | undefined): ControllerState {
  const progress = { ...state.progress };
  const positions: Record<string, number> = {};
  const running = state.running.map((r) => {
    const saved = progress[r.subTaskId] ?? 0;
    delete progress[r.subTaskId];
    return { ...r, checkpointedSeconds: saved };
  });
  if (dag) {
    const positionOf = (id: string, saved: number) => {
      const a = dag.getNodeAttributes(id);
      if (!a.range || !(a.durationSeconds > 0)) return;
      const units = a.range.end - a.range.start + 1;
      positions[id] = a.range.start + Math.floor((saved / a.durationSeconds) * units + 1e-9);
    };
    for (const [id, saved] of Object.entries(progress)) positionOf(id, saved);
    for (const r of running) if (r.checkpointedSeconds > 0) positionOf(r.subTaskId, r.checkpointedSeconds);
  }
  return { ...state, running, progress, positions };
}

/** spotdag's policy in the simulator: the runtime controller. */
export function controllerPolicy(env: ControllerPolicyEnv, options: ControllerPolicyOptions): SimPolicy {
  const fleet = simControllerFleet(env.fleet, options);
  const controller = new Controller({
    forecast: options.forecast,
    fleet,
    preferences: env.preferences,
    // Cutting needs the DAG's ranges; a simulator without them plans the fixed DAG.
    options: { ...options, resplit: env.dag !== undefined && options.resplit !== false },
  });
  const dag = env.dag ?? arraysAsDag(env.d);
  let memory: ControllerMemory = freshMemory();
  const decide = (state: RuntimeState, event: ReplanEvent | undefined, previous?: SimPlan): SimPlan => {
    const controllerView = controllerState(state, env.dag);
    const decision = controller.decide(dag, controllerView, controllerEvent(event), memory, previous);
    options.onDecision?.(decision, controllerView);
    memory = decision.memory;
    if (decision.resplits.length === 0 && decision.stopRunning.length === 0) return decision.schedule;
    return { ...decision.schedule, dagChange: { d: dagArrays(dag), stop: decision.stopRunning } };
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
