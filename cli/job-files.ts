/**
 * What `spotdag run` and `spotdag demo` do with a job file before and after the run: WfFormat
 * files become jobs of command stages, relative working directories are resolved against the
 * file's folder, and command outputs are listed (and fetched with --outputs).
 */
import path from 'node:path';
import { isWfFormat } from '../src/dag';
import { wfFormatJob, type StandInMode } from '../src/dag/wfformat-job';
import { openArtifactStore } from '../src/artifacts';
import { isCommandOutput, type CommandOutput } from '../src/command/outputs';
import { mapLimit } from '../src/checkpoint/blob';

export interface WfFormatFlags {
  standIn: StandInMode;
  runtimeScale: number;
  sizeScale: number;
  instances?: number;
  slots?: number;
}

export interface JobFile {
  /** The JobSpec JSON to submit. */
  spec: unknown;
  /** What the file is and how it runs, one line per kind of work. */
  lines: string[];
}

/**
 * Stages' relative `workdir`s, resolved against the job file's folder: for local instances, which
 * share this machine's files (on EC2 a relative workdir is the instance worker's own).
 */
export function withResolvedWorkdirs(spec: unknown, file: string): unknown {
  const base = path.dirname(path.resolve(file));
  const stages = (spec as { stages?: unknown }).stages;
  if (!Array.isArray(stages)) return spec;
  return {
    ...(spec as object),
    stages: stages.map((stage: unknown) => {
      const workdir = (stage as { workdir?: unknown } | null)?.workdir;
      return typeof workdir === 'string' && !path.isAbsolute(workdir)
        ? { ...(stage as object), workdir: path.resolve(base, workdir) }
        : stage;
    }),
  };
}

/**
 * A job file as the spec to run: a JobSpec as it is, a WfFormat instance as command stages (whose
 * commands run in the file's folder, `.`).
 */
export function jobFileSpec(file: string, json: unknown, flags: WfFormatFlags): JobFile {
  if (!isWfFormat(json)) return { spec: json, lines: [] };
  const job = wfFormatJob(json, {
    standIn: flags.standIn,
    runtimeScale: flags.runtimeScale,
    sizeScale: flags.sizeScale,
    workdir: '.',
    fleet: {
      provider: 'local',
      ...(flags.instances ? { instances: flags.instances } : {}),
      ...(flags.slots ? { slotsPerInstance: flags.slots } : {}),
    },
  });
  const programs = Object.entries(job.programs)
    .sort((a, b) => b[1] - a[1])
    .map(([program, n]) => `${program} ×${n}`)
    .join(', ');
  const total = job.commandTasks + job.standInTasks;
  const lines = [`WfFormat workflow ${path.basename(file)}: ${total} tasks`];
  lines.push(
    job.commandTasks
      ? `  programs:  ${job.commandTasks} task(s) run their own command (${programs}); each must be installed on the instances`
      : '  programs:  none (no task runs its own command)',
  );
  const why = flags.standIn === 'all' ? 'every task (--stand-in all)' : 'tasks without a command';
  lines.push(
    job.standInTasks
      ? `  stand-ins: ${job.standInTasks} task(s), ${why}: \`spotdag stand-in\` burns CPU for runtimeInSeconds × ${flags.runtimeScale} and writes the declared outputs at their sizes × ${flags.sizeScale}`
      : '  stand-ins: none',
  );
  return { spec: job.spec, lines };
}

/** The command outputs in a job's result: the output itself (one sink) or by sub-task id. */
function commandOutputs(result: unknown): Array<[string, CommandOutput]> {
  if (isCommandOutput(result)) return [['', result]];
  if (typeof result !== 'object' || result === null) return [];
  return Object.entries(result).filter((e): e is [string, CommandOutput] => isCommandOutput(e[1]));
}

const size = (bytes: number) =>
  bytes >= 1024 ** 2
    ? `${(bytes / 1024 ** 2).toFixed(1)} MiB`
    : bytes >= 1024
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${bytes} B`;

/** Lines naming each output file of the job's last sub-tasks, with size and sha256. */
export function outputLines(result: unknown): string[] {
  return commandOutputs(result).flatMap(([id, output]) =>
    Object.entries(output.files).map(
      ([file, ref]) => `  ${id ? `${id}: ` : ''}${file}  ${size(ref.bytes)}  sha256 ${ref.digest}`,
    ),
  );
}

/** Fetches the output files of the job's last sub-tasks into `dir` (by sub-task id when several). */
export async function downloadOutputs(
  result: unknown,
  jobId: string,
  artifactStoreUrl: string,
  dir: string,
): Promise<string[]> {
  const store = openArtifactStore(artifactStoreUrl);
  try {
    const files = commandOutputs(result).flatMap(([id, output]) =>
      Object.entries(output.files).map(([file, ref]) => ({ dest: path.join(dir, id, file), ref })),
    );
    await mapLimit(files, 4, ({ dest, ref }) => store.getFile({ jobId }, ref, dest));
    return files.map((f) => f.dest);
  } finally {
    await store.close();
  }
}
