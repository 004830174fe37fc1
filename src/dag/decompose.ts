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
import {
  COMMAND_STEP,
  type CommandSpec,
  type DeclaredOutput,
  type DependencyAttributes,
  type SubTaskAttributes,
  type TaskDag,
} from './types';

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
  /**
   * Per sub-task (by position in `ids`): the files its command stage declares it writes, when all
   * have sizes; then its edges count the bytes of those its dependents read.
   */
  sizedOutputs?: Array<SizedOutputs | undefined>;
}

type SizedOutputs = Array<Required<DeclaredOutput>>;

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
  numberGroups(dag, spec);
  assignPriorities(dag);
  return dag;
}

/** Step stages that share a `group` are numbered within it, as the sub-tasks of one stage are. */
function numberGroups(dag: TaskDag, spec: JobSpec): void {
  const members = new Map<string, string[]>();
  for (const stage of spec.stages) {
    if (stage.kind !== 'step' || stage.group === undefined) continue;
    const ids = members.get(stage.group) ?? [];
    ids.push(stage.id);
    members.set(stage.group, ids);
  }
  for (const ids of members.values())
    ids.forEach((id, index) => dag.mergeNodeAttributes(id, { index, count: ids.length }));
}

function unique(values: string[]): string[] {
  return values.length < 2 ? values : [...new Set(values)];
}

/** Does reading `input` take (part of) `output`? Equal paths, or one is a folder holding the other. */
function covers(input: string, output: string): boolean {
  const a = input.replace(/\/+$/, '');
  const b = output.replace(/\/+$/, '');
  return a === b || b.startsWith(`${a}/`) || a.startsWith(`${b}/`);
}

/**
 * Bytes on the edges from `up` into a stage: the sizes of the files it declares that the stage
 * reads (its declared inputs, or all of them), else the stage's outputBytes.
 */
function edgeBytes(up: Built, i: number, inputs: string[] | undefined): number {
  const sized = up.sizedOutputs?.[i];
  if (!sized) return up.outBytes[i]!;
  const read = inputs ? sized.filter((o) => inputs.some((p) => covers(p, o.path))) : sized;
  return read.reduce((sum, o) => sum + o.bytes, 0);
}

function connect(dag: TaskDag, upstream: Built[], target: string, inputs?: string[]): void {
  for (const up of upstream) {
    for (let i = 0; i < up.ids.length; i++)
      dag.addDirectedEdge(up.ids[i]!, target, { bytes: edgeBytes(up, i, inputs) });
  }
}

/** What a stage's sub-tasks run: a registered step, or a command. */
function work(stage: Stage): { step: string; command?: CommandSpec } {
  if (stage.step !== undefined) return { step: stage.step };
  const command: CommandSpec = stage.command ? { argv: stage.command } : { shell: stage.shell! };
  if (stage.env) command.env = stage.env;
  if (stage.workdir) command.workdir = stage.workdir;
  if (stage.inputs) command.inputs = stage.inputs;
  if (stage.outputs) command.outputs = stage.outputs.map((o) => (typeof o === 'string' ? { path: o } : o));
  return { step: COMMAND_STEP, command };
}

/**
 * `count` times a command stage's declared outputs, when every one has a size and no
 * outputBytes overrides them.
 */
function sizedOutputs(stage: Stage, count: number): Built['sizedOutputs'] {
  if (stage.outputBytes !== undefined || !stage.outputs?.length) return undefined;
  if (stage.kind === 'split' && stage.outputBytesPerUnit) return undefined;
  const outputs: DeclaredOutput[] = stage.outputs.map((o) => (typeof o === 'string' ? { path: o } : o));
  if (!outputs.every((o) => o.bytes !== undefined)) return undefined;
  return new Array<SizedOutputs>(count).fill(outputs as SizedOutputs);
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
    stage: stage.group ?? stage.id,
    ...work(stage),
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
  connect(dag, upstream, stage.id, stage.inputs);
  return { ids: [stage.id], outBytes: [stage.outputBytes ?? 0], sizedOutputs: sizedOutputs(stage, 1) };
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
      ...work(stage),
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
    connect(dag, upstream, id, stage.inputs);
    ids[i] = id;
    outBytes[i] = fixedBytes + bytesPerUnit * length;
  }
  return { ids, outBytes, sizedOutputs: sizedOutputs(stage, count) };
}

/**
 * One sub-task over all inputs, or a tree: each level groups the level below into balanced
 * groups of at most fanIn; the root (last index) has at most fanIn inputs.
 */
function addReduce(dag: TaskDag, stage: ReduceStage, upstream: Built[]): Built {
  const leaves: Built = {
    ids: upstream.flatMap((u) => u.ids),
    outBytes: upstream.flatMap((u) => u.outBytes),
    sizedOutputs: upstream.flatMap(
      (u) => u.sizedOutputs ?? new Array<undefined>(u.ids.length).fill(undefined),
    ),
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
    const level: Built = {
      ids: new Array<string>(size),
      outBytes: new Array<number>(size).fill(bytes),
      sizedOutputs: sizedOutputs(stage, size),
    };
    const layout = { units: below.ids.length, count: size, mode: 'maxSubTasks' as const };
    for (let g = 0; g < size; g++) {
      const { offset, length } = chunkAt(layout, g);
      const id = subTaskId(stage.id, index, count);
      dag.addNode(id, {
        id,
        stage: stage.id,
        ...work(stage),
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
        dag.addDirectedEdge(below.ids[i]!, id, { bytes: edgeBytes(below, i, stage.inputs) });
      level.ids[g] = id;
      index++;
    }
    below = level;
  }
  return below;
}
