/** JobSpec → DAG of sub-tasks. */
import { DirectedGraph } from 'graphology';
import { chunkAt, reduceLevels } from './chunking';
import { TooManyNodesError } from './errors';
import { assignPriorities } from './graph-index';
import {
  DEFAULT_RESOURCES,
  DEFAULT_STEP_SECONDS,
  DEFAULT_UNCERTAINTY,
  UNKNOWN_UNCERTAINTY,
  splitLayout,
  stageSizes,
  type JobSpec,
  type ReduceStage,
  type SplitStage,
  type Stage,
  type StepStage,
} from './spec';
import type { DependencyAttributes, SubTaskAttributes, TaskDag } from './types';

/** `count/0003`; at least 4 digits, more when the stage needs them. A single sub-task uses the stage id. */
export function subTaskId(stage: string, index: number, count: number): string {
  if (count === 1) return stage;
  const width = Math.max(4, String(count - 1).length);
  return `${stage}/${String(index).padStart(width, '0')}`;
}

interface Built {
  ids: string[];
  /** Bytes each sub-task sends to each dependent, by position in `ids`. */
  outBytes: number[];
}

/**
 * Builds the DAG of a parsed JobSpec: split stages fan out into chunks, reduce stages fan in
 * (as a tree when fanIn is set), every other dependency is stage-to-stage (each sub-task of the
 * dependent stage depends on each sub-task of the stage it names). Sets priorities (upward rank).
 * Throws TooManyNodesError before building anything when the job exceeds limits.maxSubTasks.
 */
export function decompose(spec: JobSpec): TaskDag {
  const total = stageSizes(spec).reduce((a, s) => a + s.subTasks, 0);
  if (total > spec.limits.maxSubTasks) throw new TooManyNodesError(total, spec.limits.maxSubTasks, spec.name);

  const dag: TaskDag = new DirectedGraph<SubTaskAttributes, DependencyAttributes>({ allowSelfLoops: false });
  dag.setAttribute('name', spec.name);
  const built = new Map<string, Built>();
  const byId = new Map(spec.stages.map((stage) => [stage.id, stage]));
  const visit = (stage: Stage): Built => {
    const done = built.get(stage.id);
    if (done) return done;
    const upstream = unique(stage.dependsOn ?? []).map((dep) => visit(byId.get(dep)!));
    let result: Built;
    if (stage.kind === 'split') result = addSplit(dag, spec, stage, upstream);
    else if (stage.kind === 'reduce') result = addReduce(dag, stage, upstream);
    else result = addStep(dag, stage, upstream);
    built.set(stage.id, result);
    return result;
  };
  for (const stage of spec.stages) visit(stage);
  assignPriorities(dag);
  return dag;
}

function unique(values: string[]): string[] {
  return values.length < 2 ? values : [...new Set(values)];
}

function connect(dag: TaskDag, upstream: Built[], target: string): void {
  for (const up of upstream) {
    for (let i = 0; i < up.ids.length; i++)
      dag.addDirectedEdge(up.ids[i]!, target, { bytes: up.outBytes[i]! });
  }
}

function resources(stage: Stage) {
  return {
    cpu: stage.resources?.cpu ?? DEFAULT_RESOURCES.cpu,
    memoryMiB: stage.resources?.memoryMiB ?? DEFAULT_RESOURCES.memoryMiB,
  };
}

function addStep(dag: TaskDag, stage: StepStage, upstream: Built[]): Built {
  const { cpu, memoryMiB } = resources(stage);
  const attributes: SubTaskAttributes = {
    id: stage.id,
    stage: stage.id,
    step: stage.step,
    kind: 'step',
    cpu,
    memoryMiB,
    durationSeconds: stage.estimate?.seconds ?? DEFAULT_STEP_SECONDS,
    durationUncertainty: stage.estimate
      ? (stage.estimate.uncertainty ?? DEFAULT_UNCERTAINTY)
      : UNKNOWN_UNCERTAINTY,
    priority: 0,
    index: 0,
    count: 1,
  };
  if (stage.input !== undefined) attributes.input = stage.input;
  dag.addNode(stage.id, attributes);
  connect(dag, upstream, stage.id);
  return { ids: [stage.id], outBytes: [stage.outputBytes ?? 0] };
}

function addSplit(dag: TaskDag, spec: JobSpec, stage: SplitStage, upstream: Built[]): Built {
  const layout = splitLayout(spec, stage);
  const { cpu, memoryMiB } = resources(stage);
  const secondsPerUnit = stage.estimate?.secondsPerUnit ?? 1;
  const uncertainty = stage.estimate
    ? (stage.estimate.uncertainty ?? DEFAULT_UNCERTAINTY)
    : UNKNOWN_UNCERTAINTY;
  const fixedBytes = stage.outputBytes ?? 0;
  const bytesPerUnit = stage.outputBytesPerUnit ?? 0;
  const count = layout.count;
  const ids = new Array<string>(count);
  const outBytes = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const { offset, length } = chunkAt(layout, i);
    const id = subTaskId(stage.id, i, count);
    const attributes: SubTaskAttributes = {
      id,
      stage: stage.id,
      step: stage.step,
      kind: 'split',
      cpu,
      memoryMiB,
      durationSeconds: length * secondsPerUnit,
      durationUncertainty: uncertainty,
      priority: 0,
      index: i,
      count,
    };
    if (stage.range) {
      attributes.range = { start: stage.range.start + offset, end: stage.range.start + offset + length - 1 };
      if (stage.input !== undefined) attributes.input = stage.input;
    } else attributes.input = stage.items!.slice(offset, offset + length);
    dag.addNode(id, attributes);
    connect(dag, upstream, id);
    ids[i] = id;
    outBytes[i] = fixedBytes + bytesPerUnit * length;
  }
  return { ids, outBytes };
}

/**
 * One sub-task over all inputs, or a tree: each level groups the level below into balanced
 * groups of at most fanIn; the root (last index) has at most fanIn inputs.
 */
function addReduce(dag: TaskDag, stage: ReduceStage, upstream: Built[]): Built {
  const leaves: Built = {
    ids: upstream.flatMap((u) => u.ids),
    outBytes: upstream.flatMap((u) => u.outBytes),
  };
  const levels = reduceLevels(leaves.ids.length, stage.fanIn);
  const count = levels.reduce((a, b) => a + b, 0);
  const { cpu, memoryMiB } = resources(stage);
  const seconds = stage.estimate?.seconds ?? 1;
  const perInput = stage.estimate?.secondsPerInput ?? 0;
  const uncertainty = stage.estimate
    ? (stage.estimate.uncertainty ?? DEFAULT_UNCERTAINTY)
    : UNKNOWN_UNCERTAINTY;
  const bytes = stage.outputBytes ?? 0;
  let below = leaves;
  let index = 0;
  for (const size of levels) {
    const level: Built = { ids: new Array<string>(size), outBytes: new Array<number>(size).fill(bytes) };
    const layout = { units: below.ids.length, count: size, mode: 'maxSubTasks' as const };
    for (let g = 0; g < size; g++) {
      const { offset, length } = chunkAt(layout, g);
      const id = subTaskId(stage.id, index, count);
      dag.addNode(id, {
        id,
        stage: stage.id,
        step: stage.step,
        kind: 'reduce',
        cpu,
        memoryMiB,
        durationSeconds: seconds + perInput * length,
        durationUncertainty: uncertainty,
        priority: 0,
        index,
        count,
      });
      for (let i = offset; i < offset + length; i++)
        dag.addDirectedEdge(below.ids[i]!, id, { bytes: below.outBytes[i]! });
      level.ids[g] = id;
      index++;
    }
    below = level;
  }
  return below;
}
