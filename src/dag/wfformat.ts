/**
 * Import of WfFormat 1.5 instances (WfCommons): tasks become sub-tasks, parent/child links become
 * dependencies. Pure: takes the parsed JSON, builds the DAG and says which values it had to assume.
 *
 * - duration: execution.tasks[].runtimeInSeconds (measured on the instance's machines, taken as
 *   the reference instance); 0 or missing (not measured, or below the trace's resolution) →
 *   DEFAULT_TASK_SECONDS with uncertainty 1.
 * - cpu: coreCount; 0 or missing → DEFAULT_TASK_CORES.
 * - memory: memoryInBytes in MiB, rounded up; 0 or missing (real traces write 0 for "unknown") →
 *   DEFAULT_TASK_MEMORY_MIB.
 * - bytes on an edge: the sizes of the files the parent writes and the child reads.
 * - step and stage: the task's category, else its name when that differs from its id (Nextflow:
 *   the process name; its `command.program` is the whole shell script), else its program when
 *   that is one word, else its id without the `_ID…` or numeric suffix.
 * Every assumed value is counted and reported once per field in `warnings`.
 */
import { DirectedGraph } from 'graphology';
import { z } from 'zod';
import { DanglingReferenceError, DuplicateIdError, WfFormatError } from './errors';
import { assignPriorities } from './graph-index';
import { formatPath } from './spec';
import type { DependencyAttributes, SubTaskAttributes, TaskDag } from './types';

/** Runtime of a task whose runtime is 0 or missing (uncertainty 1: unknown). */
export const DEFAULT_TASK_SECONDS = 1;
/** Memory of a task whose memory is 0 or missing (the JobSpec default too). */
export const DEFAULT_TASK_MEMORY_MIB = 512;
/** Cores of a task whose core count is 0 or missing. */
export const DEFAULT_TASK_CORES = 1;
const MIB = 1024 * 1024;

const fileRefs = z.array(z.string()).optional();
const specTaskSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().optional(),
  category: z.string().optional(),
  parents: fileRefs,
  children: fileRefs,
  inputFiles: fileRefs,
  outputFiles: fileRefs,
});
const execTaskSchema = z.looseObject({
  id: z.string(),
  // 0 means "not measured" in real traces (nf-core instances have both): defaulted, with a warning.
  runtimeInSeconds: z.number().min(0).optional(),
  coreCount: z.number().min(0).optional(),
  memoryInBytes: z.number().min(0).optional(),
  command: z.looseObject({ program: z.string().optional() }).optional(),
});

export const wfFormatSchema = z.looseObject({
  name: z.string().optional(),
  schemaVersion: z.string().optional(),
  workflow: z.looseObject({
    specification: z.looseObject({
      tasks: z.array(specTaskSchema).min(1),
      files: z.array(z.looseObject({ id: z.string(), sizeInBytes: z.number().min(0).optional() })).optional(),
    }),
    execution: z.looseObject({ tasks: z.array(execTaskSchema).optional() }).optional(),
  }),
});

export type WfFormatInstance = z.output<typeof wfFormatSchema>;

export interface WfFormatImportOptions {
  /** Relative standard deviation given to measured runtimes (default 0.1). */
  uncertainty?: number;
  /** Memory of tasks that do not report theirs (default DEFAULT_TASK_MEMORY_MIB). */
  defaultMemoryMiB?: number;
  /** Multiplies every runtime (benchmarks stretch minutes into hours). */
  runtimeScale?: number;
}

/** A DAG imported from WfFormat, and one line per field whose value had to be assumed. */
export interface WfFormatImport {
  dag: TaskDag;
  /** e.g. "workflow.execution.tasks[*].memoryInBytes: 37 of 197 tasks have 0 or no memory …". */
  warnings: string[];
}

/**
 * True when `json` has the shape of a WfFormat instance rather than a JobSpec (a `workflow` object
 * with `specification`, or the `tasks`/`jobs` of WfFormat before 1.5, which the import rejects).
 */
export function isWfFormat(json: unknown): boolean {
  if (json === null || typeof json !== 'object') return false;
  const workflow = (json as { workflow?: unknown }).workflow;
  return (
    workflow !== null &&
    typeof workflow === 'object' &&
    ('specification' in workflow || 'tasks' in workflow || 'jobs' in workflow)
  );
}

/** The value when it is a measurement (> 0); 0 means "not measured" in real traces. */
const positive = (value: number | undefined) => (value !== undefined && value > 0 ? value : undefined);

/** A program name is one word; Nextflow traces put the whole shell script there. */
const isProgramName = (program: string) => !/\s/.test(program);

type SpecTask = z.output<typeof specTaskSchema>;

/** A task name other than its id names its step (Nextflow: the process, e.g. `NFCORE_X.FASTQC`). */
const hasOwnName = (task: SpecTask) => Boolean(task.name) && task.name !== task.id;

function stepName(task: SpecTask, program: string | undefined): string {
  if (task.category) return task.category;
  if (hasOwnName(task)) return task.name!;
  if (program && isProgramName(program)) return program.replace(/^.*\//, '');
  return task.id.replace(/(_ID)?_?\d+$/i, '') || task.id;
}

/** WfFormat before 1.5 keeps tasks in `workflow.tasks` (or `jobs`): say so rather than fail on shape. */
function rejectOldFormat(json: unknown): void {
  const doc = json as { schemaVersion?: unknown; workflow?: Record<string, unknown> };
  const workflow = doc.workflow;
  if (!workflow || typeof workflow !== 'object' || 'specification' in workflow) return;
  if (!('tasks' in workflow || 'jobs' in workflow)) return;
  const version = typeof doc.schemaVersion === 'string' ? doc.schemaVersion : 'before 1.5';
  throw new WfFormatError([
    {
      path: 'schemaVersion',
      message: `WfFormat ${version} is not supported: spotdag reads WfFormat 1.5 (workflow.specification and workflow.execution); convert the instance with a current WfCommons`,
    },
  ]);
}

/** Builds the DAG of a WfFormat instance; see parseWfFormat. The warnings are dropped. */
export function importWfFormat(json: unknown, options: WfFormatImportOptions = {}): TaskDag {
  return parseWfFormat(json, options).dag;
}

/**
 * Builds the DAG of a WfFormat instance and lists the values it assumed, one line per field.
 * Throws WfFormatError, DuplicateIdError, DanglingReferenceError, CycleError.
 */
export function parseWfFormat(json: unknown, options: WfFormatImportOptions = {}): WfFormatImport {
  rejectOldFormat(json);
  const parsed = wfFormatSchema.safeParse(json);
  if (!parsed.success) {
    throw new WfFormatError(
      parsed.error.issues.slice(0, 20).map((i) => ({ path: formatPath(i.path), message: i.message })),
    );
  }
  const { specification, execution } = parsed.data.workflow;
  const uncertainty = options.uncertainty ?? 0.1;
  const scale = options.runtimeScale ?? 1;
  const defaultMemory = options.defaultMemoryMiB ?? DEFAULT_TASK_MEMORY_MIB;

  const sizes = new Map<string, number>();
  for (const file of specification.files ?? []) sizes.set(file.id, file.sizeInBytes ?? 0);
  const executed = new Map<string, z.output<typeof execTaskSchema>>();
  for (const task of execution?.tasks ?? []) executed.set(task.id, task);

  const dag: TaskDag = new DirectedGraph<SubTaskAttributes, DependencyAttributes>({ allowSelfLoops: true });
  dag.setAttribute('name', parsed.data.name ?? 'workflow');
  const tasks = specification.tasks;
  const steps = tasks.map((task) => stepName(task, executed.get(task.id)?.command?.program));
  const stageCounts = new Map<string, number>();
  for (const step of steps) stageCounts.set(step, (stageCounts.get(step) ?? 0) + 1);
  const stageSeen = new Map<string, number>();

  const assumed = { runtime: 0, memory: 0, cores: 0, script: 0 };
  tasks.forEach((task, i) => {
    if (dag.hasNode(task.id)) throw new DuplicateIdError(task.id, `workflow.specification.tasks[${i}].id`);
    const run = executed.get(task.id);
    const step = steps[i]!;
    const index = stageSeen.get(step) ?? 0;
    stageSeen.set(step, index + 1);
    const runtime = positive(run?.runtimeInSeconds);
    const memoryBytes = positive(run?.memoryInBytes);
    const cores = positive(run?.coreCount);
    if (runtime === undefined) assumed.runtime++;
    if (memoryBytes === undefined) assumed.memory++;
    if (cores === undefined) assumed.cores++;
    const program = run?.command?.program;
    if (!task.category && !hasOwnName(task) && program && !isProgramName(program)) assumed.script++;
    dag.addNode(task.id, {
      id: task.id,
      stage: step,
      step,
      kind: 'task',
      cpu: cores ?? DEFAULT_TASK_CORES,
      memoryMiB: memoryBytes !== undefined ? Math.max(1, Math.ceil(memoryBytes / MIB)) : defaultMemory,
      durationSeconds: (runtime ?? DEFAULT_TASK_SECONDS) * scale,
      durationUncertainty: runtime === undefined ? 1 : uncertainty,
      priority: 0,
      index,
      count: stageCounts.get(step)!,
    });
  });

  const outputs = new Map<string, Set<string>>();
  const outputsOf = (taskIndex: number): Set<string> => {
    const task = tasks[taskIndex]!;
    let set = outputs.get(task.id);
    if (!set) outputs.set(task.id, (set = new Set(task.outputFiles ?? [])));
    return set;
  };
  const taskIndex = new Map(tasks.map((task, i) => [task.id, i]));
  const link = (parent: string, child: string, where: string) => {
    const p = taskIndex.get(parent);
    if (p === undefined) throw new DanglingReferenceError(child, parent, where);
    if (dag.hasDirectedEdge(parent, child)) return;
    const written = outputsOf(p);
    let bytes = 0;
    for (const file of tasks[taskIndex.get(child)!]!.inputFiles ?? [])
      if (written.has(file)) bytes += sizes.get(file) ?? 0;
    dag.addDirectedEdge(parent, child, { bytes });
  };
  tasks.forEach((task, i) => {
    (task.parents ?? []).forEach((parent, k) =>
      link(parent, task.id, `workflow.specification.tasks[${i}].parents[${k}]`),
    );
  });
  tasks.forEach((task, i) => {
    (task.children ?? []).forEach((child, k) => {
      if (!taskIndex.has(child))
        throw new DanglingReferenceError(task.id, child, `workflow.specification.tasks[${i}].children[${k}]`);
      link(task.id, child, `workflow.specification.tasks[${i}].children[${k}]`);
    });
  });
  assignPriorities(dag);

  const strays = (execution?.tasks ?? []).filter((t) => !taskIndex.has(t.id)).length;
  return { dag, warnings: assumptionWarnings(assumed, tasks.length, strays, defaultMemory) };
}

/** One line per field with assumed values, counted over the whole file. */
function assumptionWarnings(
  assumed: { runtime: number; memory: number; cores: number; script: number },
  total: number,
  strays: number,
  defaultMemoryMiB: number,
): string[] {
  const of = `of ${total} tasks`;
  const where = 'workflow.execution.tasks[*]';
  const warnings: string[] = [];
  if (assumed.runtime > 0)
    warnings.push(
      `${where}.runtimeInSeconds: ${assumed.runtime} ${of} have 0 or no runtime (not measured, or below the trace's resolution); using ${DEFAULT_TASK_SECONDS} s with uncertainty 1`,
    );
  if (assumed.memory > 0)
    warnings.push(
      `${where}.memoryInBytes: ${assumed.memory} ${of} have 0 or no memory (unknown in real traces); using ${defaultMemoryMiB} MiB`,
    );
  if (assumed.cores > 0)
    warnings.push(
      `${where}.coreCount: ${assumed.cores} ${of} have 0 or no core count; using ${DEFAULT_TASK_CORES} core`,
    );
  if (assumed.script > 0)
    warnings.push(
      `${where}.command.program: ${assumed.script} ${of} give a shell script, not a program name, and no name of their own; their step is the task id without its numeric suffix`,
    );
  if (strays > 0)
    warnings.push(
      `${where}.id: ${strays} execution records name no task of workflow.specification.tasks; ignored`,
    );
  return warnings;
}
