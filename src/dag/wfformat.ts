/**
 * Import of WfFormat 1.5 instances (WfCommons): tasks become sub-tasks, parent/child links become
 * dependencies. Pure: takes the parsed JSON, builds the DAG.
 *
 * - duration: execution.tasks[].runtimeInSeconds (measured on the instance's machines, taken as
 *   the reference instance); tasks without one get DEFAULT_TASK_SECONDS and uncertainty 1.
 * - cpu: coreCount (default 1); memory: memoryInBytes in MiB, rounded up (default 512 MiB).
 * - bytes on an edge: the sizes of the files the parent writes and the child reads.
 * - step and stage: the task's category, else its program, else its name without the `_ID…`
 *   or numeric suffix.
 */
import { DirectedGraph } from 'graphology';
import { z } from 'zod';
import { DanglingReferenceError, DuplicateIdError, WfFormatError } from './errors';
import { assignPriorities } from './graph-index';
import { formatPath } from './spec';
import type { DependencyAttributes, SubTaskAttributes, TaskDag } from './types';

export const DEFAULT_TASK_SECONDS = 1;
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
  runtimeInSeconds: z.number().min(0).optional(),
  coreCount: z.number().positive().optional(),
  memoryInBytes: z.number().positive().optional(),
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
  /** Memory of tasks that do not report theirs (default 512 MiB). */
  defaultMemoryMiB?: number;
  /** Multiplies every runtime (benchmarks stretch minutes into hours). */
  runtimeScale?: number;
}

/** True when `json` has the shape of a WfFormat instance rather than a JobSpec. */
export function isWfFormat(json: unknown): boolean {
  if (json === null || typeof json !== 'object') return false;
  const workflow = (json as { workflow?: unknown }).workflow;
  return workflow !== null && typeof workflow === 'object' && 'specification' in workflow;
}

function category(task: z.output<typeof specTaskSchema>, program: string | undefined): string {
  if (task.category) return task.category;
  if (program) return program.replace(/^.*\//, '');
  return (task.name ?? task.id).replace(/(_ID)?_?\d+$/i, '') || task.id;
}

/** Builds the DAG of a WfFormat instance; throws WfFormatError, DuplicateIdError, DanglingReferenceError, CycleError. */
export function importWfFormat(json: unknown, options: WfFormatImportOptions = {}): TaskDag {
  const parsed = wfFormatSchema.safeParse(json);
  if (!parsed.success) {
    throw new WfFormatError(
      parsed.error.issues.slice(0, 20).map((i) => ({ path: formatPath(i.path), message: i.message })),
    );
  }
  const { specification, execution } = parsed.data.workflow;
  const uncertainty = options.uncertainty ?? 0.1;
  const scale = options.runtimeScale ?? 1;
  const defaultMemory = options.defaultMemoryMiB ?? 512;

  const sizes = new Map<string, number>();
  for (const file of specification.files ?? []) sizes.set(file.id, file.sizeInBytes ?? 0);
  const executed = new Map<string, z.output<typeof execTaskSchema>>();
  for (const task of execution?.tasks ?? []) executed.set(task.id, task);

  const dag: TaskDag = new DirectedGraph<SubTaskAttributes, DependencyAttributes>({ allowSelfLoops: true });
  dag.setAttribute('name', parsed.data.name ?? 'workflow');
  const tasks = specification.tasks;
  const steps = tasks.map((task) => category(task, executed.get(task.id)?.command?.program));
  const stageCounts = new Map<string, number>();
  for (const step of steps) stageCounts.set(step, (stageCounts.get(step) ?? 0) + 1);
  const stageSeen = new Map<string, number>();

  tasks.forEach((task, i) => {
    if (dag.hasNode(task.id)) throw new DuplicateIdError(task.id, `workflow.specification.tasks[${i}].id`);
    const run = executed.get(task.id);
    const step = steps[i]!;
    const index = stageSeen.get(step) ?? 0;
    stageSeen.set(step, index + 1);
    const measured = run?.runtimeInSeconds;
    dag.addNode(task.id, {
      id: task.id,
      stage: step,
      step,
      kind: 'task',
      cpu: run?.coreCount ?? 1,
      memoryMiB:
        run?.memoryInBytes !== undefined ? Math.max(1, Math.ceil(run.memoryInBytes / MIB)) : defaultMemory,
      durationSeconds: (measured ?? DEFAULT_TASK_SECONDS) * scale,
      durationUncertainty: measured === undefined ? 1 : uncertainty,
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
  return dag;
}
