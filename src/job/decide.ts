/**
 * The pure half of the `decide` activity: the controller's inputs from what the workflow sends,
 * and the workflow's compact answer from the controller's decision. The activity adds the I/O
 * (documents, checkpoints, the learned model, fencing).
 */
import type { AllocationForecast, SpotdagInstancePlan, SpotdagSchedule } from '../allocate/types';
import type {
  ControllerEvent,
  ControllerMemory,
  ControllerState,
  Decision,
  Resplit,
} from '../controller/types';
import { splitSubTask, type SubTaskAttributes, type TaskDag } from '../dag';
import type { DecideRequest, DecideResponse, PlanPatchEntry } from './decisions';
import type { DecomposedJob, PlannedSubTask } from './types';

/** The job's DAG as it stands: a copy of the planned DAG with every cut made so far, in order. */
export function currentDag(planned: TaskDag, resplits: readonly Resplit[]): TaskDag {
  const dag = planned.copy();
  for (const r of resplits)
    splitSubTask(dag, r.subTaskId, { parts: r.parts, remainder: r.remainder, updatePriorities: false });
  return dag;
}

/** What a store's checkpoint says of a not-done sub-task. */
export interface CheckpointInfo {
  /** Share of the sub-task its last good checkpoint keeps. */
  progress: number;
  /** The unit position it reached, when its step reports one. */
  position?: number;
  /** When it was written (epoch ms). */
  atMs?: number;
}

/** What the controller's view needs of a node of the current DAG. */
export type NodeSize = Pick<SubTaskAttributes, 'durationSeconds' | 'range'>;

/**
 * Seconds of a sub-task's work its checkpoint keeps. Over a range with a unit position: the units
 * before it in the range the sub-task has now — the share the step reported is of the range it ran
 * over, which a cut since may have shortened. Otherwise that share.
 */
function checkpointedSeconds(c: CheckpointInfo, node: NodeSize): number {
  const { range, durationSeconds } = node;
  if (!range || c.position === undefined) return c.progress * durationSeconds;
  const units = range.end - range.start + 1;
  return Math.min(1, Math.max(0, (c.position - range.start) / units)) * durationSeconds;
}

/** The controller's view of the job from the workflow's request and the store's checkpoints. */
export function controllerStateOf(
  request: DecideRequest,
  ids: readonly string[],
  nodeOf: (index: number) => NodeSize,
  checkpoints: ReadonlyMap<number, CheckpointInfo>,
  forecast: AllocationForecast,
): ControllerState {
  const now = request.nowSeconds;
  const id = (i: number) => ids[i]!;
  const duration = (i: number) => nodeOf(i).durationSeconds;
  const progress: Record<string, number> = {};
  const positions: Record<string, number> = {};
  const at: Record<string, number> = {};
  for (const [i, c] of checkpoints) {
    if (c.atMs !== undefined) at[id(i)] = (c.atMs - request.startedAtMs) / 1000;
    const saved = checkpointedSeconds(c, nodeOf(i));
    if (saved > 0) progress[id(i)] = saved;
    if (c.position !== undefined) positions[id(i)] = c.position;
  }
  const running = request.running.map((r) => {
    const saved = progress[id(r.index)] ?? 0;
    delete progress[id(r.index)]; // a running sub-task's checkpoint is its own field
    const checkpointedAt = saved > 0 ? at[id(r.index)] : undefined;
    // The rest of its work runs from its last checkpoint, or from its start when it resumed from one.
    const from = Math.max(r.startedAt, checkpointedAt ?? -Infinity);
    return {
      subTaskId: id(r.index),
      instanceId: r.instance,
      startedAt: r.startedAt,
      expectedFinish: Math.max(now + 1, from + duration(r.index) - saved),
      checkpointedSeconds: saved,
      checkpointedAt,
    };
  });
  // Done work: its outputs are in the store (or with the workflow), ready before now.
  const done: ControllerState['done'] = [];
  for (let i = 0; i < request.done.length; i++)
    if (request.done[i] !== '0') done.push({ subTaskId: id(i), instanceId: '', finishedAt: 0 });
  const pools = new Map(forecast.pools.map((p) => [p.key, p]));
  const instances: SpotdagInstancePlan[] = [];
  let nextInstanceId = 0;
  for (const inst of request.instances) {
    const m = /^i(\d+)$/.exec(inst.planId);
    if (m) nextInstanceId = Math.max(nextInstanceId, Number(m[1]) + 1);
    if (inst.lost || inst.endedAtMs !== undefined) continue;
    const pool = pools.get(inst.pool);
    if (!pool) continue; // the market no longer offers it: what runs there finishes, nothing new goes there
    const launched = inst.launchedAtMs !== undefined;
    const launchAt = launched ? (inst.launchedAtMs! - request.startedAtMs) / 1000 : (inst.launchAt ?? now);
    instances.push({
      id: inst.planId,
      pool: inst.pool,
      slots: inst.slots,
      market: inst.market,
      maxPricePerHour: inst.maxPricePerHour,
      instanceType: pool.instanceType,
      zone: pool.zone,
      region: pool.region,
      vcpu: pool.vcpu,
      memoryMiB: pool.memoryMiB,
      launchAt: launched ? launchAt : Math.max(now, launchAt),
      releaseAt: now,
      launched,
      predictedPricePerHour: inst.pricePerHour,
      predictedCostUsd: 0,
    });
  }
  return {
    nowSeconds: now,
    done,
    running,
    progress,
    positions,
    instances,
    nextInstanceId,
    spentUsd: request.spentUsd,
  };
}

/** The controller event of a request; observations are left out when already learned (a retry). */
export function controllerEventOf(request: DecideRequest, alreadyLearned: boolean): ControllerEvent {
  const { event } = request;
  return {
    kind: event.kind,
    // Interruptions penalise a pool; a refusal only says it has no capacity now (learned as such).
    pools: [...new Set(event.lostPools)],
    refusedPools: event.refusedPools,
    observations: alreadyLearned ? [] : request.observations,
  };
}

/** The definition of a node as an instance runs it: its attributes and its dependencies. */
export function definitionOf(dag: TaskDag, id: string): PlannedSubTask {
  return {
    ...dag.getNodeAttributes(id),
    dependsOn: dag.mapInEdges(id, (_e, attributes, source) => ({ id: source, bytes: attributes.bytes })),
  };
}

/** Entries of the workflow's plan that the cuts add or change (pieces, cut nodes, their dependents). */
export function planPatch(
  dag: TaskDag,
  resplits: readonly Resplit[],
  stageIndex: ReadonlyMap<string, number>,
): PlanPatchEntry[] {
  if (resplits.length === 0) return [];
  const ids = dag.nodes();
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  const touched = new Set<string>();
  for (const r of resplits) {
    touched.add(r.subTaskId);
    for (const target of dag.outNeighbors(r.subTaskId)) touched.add(target);
    const stage = dag.getNodeAttribute(r.subTaskId, 'stage');
    const prefix = `${r.subTaskId}.`;
    for (const id of ids)
      if (id.startsWith(prefix) && dag.getNodeAttribute(id, 'stage') === stage) touched.add(id);
  }
  return [...touched]
    .map((id) => {
      const definition = definitionOf(dag, id);
      return {
        index: indexOf.get(id)!,
        id,
        stage: stageIndex.get(definition.stage) ?? 0,
        indexInStage: definition.index,
        durationSeconds: definition.durationSeconds,
        deps: definition.dependsOn.map((dep) => indexOf.get(dep.id)!),
        definition,
      };
    })
    .sort((a, b) => a.index - b.index);
}

/** The workflow's answer: the plan in compact form, the cuts, and what to stop. */
export function decideResponseOf(
  decision: Decision,
  dag: TaskDag,
  stageIndex: ReadonlyMap<string, number>,
  schedule: DecideResponse['schedule'],
): DecideResponse {
  const ids = dag.nodes();
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  const s: SpotdagSchedule = decision.schedule;
  const placedOn: Record<number, string> = {};
  const order: number[] = [];
  for (const p of s.placements) {
    const i = indexOf.get(p.subTaskId)!;
    placedOn[i] = p.instanceId;
    order.push(i);
  }
  return {
    schedule,
    instances: s.instances.map((i) => ({
      id: i.id,
      pool: i.pool,
      slots: i.slots,
      market: i.market,
      maxPricePerHour: i.maxPricePerHour,
      predictedPricePerHour: i.predictedPricePerHour,
      launchAt: i.launchAt,
    })),
    order,
    placedOn,
    resplits: decision.resplits,
    patch: planPatch(dag, decision.resplits, stageIndex),
    stopRunning: decision.stopRunning.map((id) => indexOf.get(id)!),
    nextTickAt: decision.nextTickAt,
    memory: decision.memory,
    onDemandMode: decision.guard.onDemandMode,
    slackSeconds: Number.isFinite(decision.guard.slackSeconds) ? decision.guard.slackSeconds : null,
    predictedCostUsd: s.predictedCostUsd,
    predictedMakespanSeconds: s.predictedMakespanSeconds,
    notes: decision.notes,
  };
}

/** Stage name → index, in the order stages first appear in the decomposed job (as `jobPlanOf`). */
export function stageIndexOf(job: DecomposedJob): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of job.subTasks) if (!out.has(s.stage)) out.set(s.stage, out.size);
  return out;
}

export type { ControllerMemory };
