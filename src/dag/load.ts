/**
 * Thin file loaders: the only I/O in src/dag. Everything they call is pure.
 */
import { readFileSync } from 'node:fs';
import { decompose } from './decompose';
import { JobSpecError } from './errors';
import { parseJobSpec, parseJsonText, type JobSpec, type ParseJobSpecOptions } from './spec';
import type { TaskDag } from './types';
import { importWfFormat, isWfFormat, parseWfFormat, type WfFormatImportOptions } from './wfformat';

/** Reads and parses a JSON file; unreadable files and bad JSON are bad input (exit code 2). */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new JobSpecError([{ path: '', message: (err as Error).message }], `cannot read ${path}`);
  }
  return parseJsonText(text, path);
}

export function loadJobSpecFile(path: string, options?: ParseJobSpecOptions): JobSpec {
  return parseJobSpec(readJsonFile(path), options);
}

/** The DAG of a WfFormat file, without the import's warnings (loadPlanFile returns them). */
export function loadWorkflowFile(path: string, options?: WfFormatImportOptions): TaskDag {
  return importWfFormat(readJsonFile(path), options);
}

/**
 * A JobSpec or WfFormat document turned into a DAG. `warnings`: one line per WfFormat field whose
 * value was assumed (see parseWfFormat), for the caller to show; empty for a JobSpec.
 */
export type LoadedPlan = { warnings: string[] } & (
  { kind: 'wfformat'; dag: TaskDag } | { kind: 'jobspec'; spec: JobSpec; dag: TaskDag }
);

/** Parses a document that is either a WfFormat instance or a JobSpec (told apart by shape). */
export function planFromJson(
  json: unknown,
  options: ParseJobSpecOptions & WfFormatImportOptions = {},
): LoadedPlan {
  if (isWfFormat(json)) return { kind: 'wfformat', ...parseWfFormat(json, options) };
  const spec = parseJobSpec(json, options);
  return { kind: 'jobspec', spec, dag: decompose(spec), warnings: [] };
}

export function loadPlanFile(
  path: string,
  options: ParseJobSpecOptions & WfFormatImportOptions = {},
): LoadedPlan {
  return planFromJson(readJsonFile(path), options);
}
