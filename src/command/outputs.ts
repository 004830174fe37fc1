/**
 * What a command sub-task outputs, and which of its dependencies' files it gets as inputs. Pure:
 * the instance activity does the I/O (docs/commands.md).
 */
import type { ArtifactRef } from '../artifacts/types';
import type { DeclaredOutput } from '../dag/types';

/** A command's output: the files it wrote, by path below its output folder, and its logs. */
export interface CommandOutput {
  type: 'command';
  files: Record<string, ArtifactRef>;
  logs: { stdout: ArtifactRef; stderr: ArtifactRef };
}

export function isCommandOutput(value: unknown): value is CommandOutput {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<CommandOutput>;
  return (
    v.type === 'command' && typeof v.files === 'object' && v.files !== null && typeof v.logs === 'object'
  );
}

/** Is `path` the file or folder `declared` names, or below it? */
export function within(path: string, declared: string): boolean {
  const d = declared.replace(/\/+$/, '');
  return path === d || path.startsWith(`${d}/`);
}

/** Declared outputs the command did not write (a folder counts when it holds a file). */
export function missingOutputs(declared: DeclaredOutput[], written: string[]): string[] {
  return declared.filter((o) => !written.some((p) => within(p, o.path))).map((o) => o.path);
}

/** The written files that are (below) a declared output; all of them when nothing is declared. */
export function declaredFiles(declared: DeclaredOutput[] | undefined, written: string[]): string[] {
  if (!declared?.length) return written;
  return written.filter((p) => declared.some((o) => within(p, o.path)));
}

/** One file of a command's input folder: an artifact, or a non-command dependency's JSON output. */
export type InputFile =
  { path: string; from: string; ref: ArtifactRef } | { path: string; from: string; json: unknown };

export class CommandInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandInputError';
  }
}

/**
 * The input folder of a command: the files of its dependencies' outputs, by the paths they were
 * written at (Nextflow-style staging by name), or those below its declared `inputs`. A dependency
 * that is a registered step contributes its JSON output as `<its id>.json`. Two dependencies that
 * wrote the same path with different contents are an error, as is a declared input nobody wrote.
 */
export function inputFiles(
  subTaskId: string,
  dependencies: Array<{ id: string; output: unknown }>,
  declared?: string[],
): InputFile[] {
  const byPath = new Map<string, InputFile>();
  const add = (file: InputFile) => {
    const existing = byPath.get(file.path);
    if (!existing) return void byPath.set(file.path, file);
    const same = 'ref' in existing && 'ref' in file && existing.ref.digest === file.ref.digest;
    if (!same)
      throw new CommandInputError(
        `sub-task ${subTaskId}: input ${file.path} comes from both ${existing.from} and ${file.from} with different contents; write distinct paths (e.g. with $SPOTDAG_INDEX in the name)`,
      );
  };
  for (const { id, output } of dependencies) {
    if (isCommandOutput(output))
      for (const [path, ref] of Object.entries(output.files)) add({ path, from: id, ref });
    else add({ path: `${id}.json`, from: id, json: output });
  }
  const all = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (!declared) return all;
  const unmatched = declared.filter((d) => !all.some((f) => within(f.path, d)));
  if (unmatched.length > 0)
    throw new CommandInputError(
      `sub-task ${subTaskId}: declared input${unmatched.length > 1 ? 's' : ''} ${unmatched.join(', ')} ${unmatched.length > 1 ? 'are' : 'is'} not among the outputs of its dependencies (${dependencies.map((d) => d.id).join(', ') || 'none'})`,
    );
  return all.filter((f) => declared.some((d) => within(f.path, d)));
}

/** The last `bytes` of a log, as text (for error messages: the stderr tail). */
export function tail(text: Buffer, bytes = 4096): string {
  const start = Math.max(0, text.length - bytes);
  const cut = text.subarray(start).toString('utf8');
  // A cut inside a multi-byte character leaves a replacement character at the start; drop it.
  return start > 0 ? cut.replace(/^\uFFFD+/, '') : cut;
}
