/**
 * A WfFormat instance as a job that runs (docs/commands.md, "WfFormat jobs"). Each task becomes a
 * command stage with its parents as dependencies, the files it reads from them as `inputs` and
 * the files it writes as `outputs` (with their sizes):
 *
 * - a task whose execution record has a `command` runs that program: its arguments are joined into
 *   a shell line (as WfCommons' own translators do), run in the input folder (where its inputs
 *   are, by name), and its output files are moved to the output folder;
 * - a task without one (or every task, with `standIn: 'all'`) runs the stand-in,
 *   `spotdag stand-in`: it burns CPU for its measured runtime × `runtimeScale` and writes its
 *   output files at their declared sizes × `sizeScale`, like WfCommons' benchmark mode.
 *
 * Files no task writes (the workflow's own inputs) are not staged: a real program must find them
 * on the instance (in `workdir`); the stand-in does not read them. Pure: takes the parsed JSON.
 */
import type { FleetSpecInput } from '../provision/fleet';
import type { PreferencesInput } from '../allocate/preferences';
import type { JobSpecInput, StageInput } from './spec';
import { importWfFormat, wfFormatSchema } from './wfformat';

export type StandInMode = 'no-command' | 'all';

export interface WfFormatJobOptions {
  /** Which tasks run the stand-in: those without a command (default), or all of them. */
  standIn?: StandInMode;
  /** Stand-ins burn runtimeInSeconds × this (default 1). */
  runtimeScale?: number;
  /** Declared file sizes × this, for stand-ins' outputs and transfer estimates (default 1). */
  sizeScale?: number;
  /** Where commands run (default: the instance worker's folder). */
  workdir?: string;
  name?: string;
  fleet?: FleetSpecInput;
  preferences?: PreferencesInput;
}

export interface WfFormatJob {
  spec: JobSpecInput;
  /** Tasks that run their own program, by program name. */
  programs: Record<string, number>;
  commandTasks: number;
  standInTasks: number;
}

const STAGE_ID_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A stage id for a task id: invalid characters become `_`, and ids stay unique. */
function stageIds(taskIds: string[]): Map<string, string> {
  const used = new Set<string>();
  const ids = new Map<string, string>();
  for (const task of taskIds) {
    let base = task.replace(/[^A-Za-z0-9_-]/g, '_');
    if (!STAGE_ID_RE.test(base)) base = `_${base}`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    ids.set(task, id);
  }
  return ids;
}

/** Single-quotes a word for /bin/sh. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:,+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A WfFormat instance as a JobSpec of command stages; throws what `importWfFormat` throws. */
export function wfFormatJob(json: unknown, options: WfFormatJobOptions = {}): WfFormatJob {
  // The import checks the document (shape, ids, references, cycles) and gives each task its
  // resources, measured runtime and group (its category).
  const dag = importWfFormat(json, { runtimeScale: 1 });
  const { workflow, name } = wfFormatSchema.parse(json);
  const { specification, execution } = workflow;
  const runtimeScale = options.runtimeScale ?? 1;
  const sizeScale = options.sizeScale ?? 1;
  const sizes = new Map(
    (specification.files ?? []).map((f) => [f.id, Math.round((f.sizeInBytes ?? 0) * sizeScale)]),
  );
  const executed = new Map((execution?.tasks ?? []).map((t) => [t.id, t]));
  const ids = stageIds(specification.tasks.map((t) => t.id));
  const outputsOf = new Map(specification.tasks.map((t) => [t.id, new Set(t.outputFiles ?? [])]));
  const programs: Record<string, number> = {};
  let standInTasks = 0;

  const stages = specification.tasks.map((task): StageInput => {
    const attributes = dag.getNodeAttributes(task.id);
    const parents = dag.inNeighbors(task.id);
    // What it reads from its parents (files nobody writes are the workflow's own inputs).
    const inputs = [...new Set(task.inputFiles ?? [])].filter((f) =>
      parents.some((p) => outputsOf.get(p)!.has(f)),
    );
    const outputs = [...new Set(task.outputFiles ?? [])].map((f) => ({ path: f, bytes: sizes.get(f) ?? 0 }));
    const run = executed.get(task.id);
    const program = run?.command?.program;
    const args = (run?.command as { arguments?: unknown } | undefined)?.arguments;
    const runsProgram = program !== undefined && options.standIn !== 'all';
    const seconds = runsProgram ? attributes.durationSeconds : attributes.durationSeconds * runtimeScale;
    const stage: StageInput = {
      id: ids.get(task.id)!,
      kind: 'step',
      group: attributes.stage,
      ...(parents.length ? { dependsOn: parents.map((p) => ids.get(p)!) } : {}),
      resources: { cpu: attributes.cpu, memoryMiB: attributes.memoryMiB },
      estimate: { seconds, uncertainty: attributes.durationUncertainty },
      inputs,
      outputs,
      ...(options.workdir ? { workdir: options.workdir } : {}),
    };
    if (runsProgram) {
      programs[program] = (programs[program] ?? 0) + 1;
      const line = [program, ...(Array.isArray(args) ? args.map(String) : [])].join(' ');
      const move = outputs.length
        ? ` && mv -- ${outputs.map((o) => shellQuote(o.path)).join(' ')} "$SPOTDAG_OUTPUT_DIR"/`
        : '';
      return { ...stage, shell: `cd "$SPOTDAG_INPUT_DIR" && ${line}${move}` };
    }
    standInTasks++;
    const command = ['spotdag', 'stand-in', '--seconds', String(Number(seconds.toFixed(3)))];
    for (const o of outputs) command.push('--output', `${o.path}=${o.bytes}`);
    for (const i of inputs) command.push('--input', i);
    return { ...stage, command };
  });
  return {
    spec: {
      name: options.name ?? name ?? 'workflow',
      stages,
      ...(options.fleet ? { fleet: options.fleet } : {}),
      ...(options.preferences ? { preferences: options.preferences } : {}),
      limits: { maxSubTasks: Math.max(stages.length, 1) },
    },
    programs,
    commandTasks: specification.tasks.length - standInTasks,
    standInTasks,
  };
}
