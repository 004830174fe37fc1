/**
 * Errors of the dag module. Every one of them is caused by the user's input (a spec, a workflow
 * file, a sub-task id), so all carry `exitCode = 2` (bad input) for the CLI.
 */

/** One problem in a JobSpec, at a path such as `stages[2].dependsOn[0]`. */
export interface SpecIssue {
  path: string;
  message: string;
}

/** A JobSpec that cannot be used; lists every problem found, one per line. */
export class JobSpecError extends Error {
  readonly exitCode = 2;
  constructor(
    readonly issues: SpecIssue[],
    title = 'invalid job spec',
  ) {
    super(
      issues.length === 1
        ? `${title}: ${formatIssue(issues[0]!)}`
        : `${title} (${issues.length} problems):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
    );
    this.name = 'JobSpecError';
  }
}

export function formatIssue(issue: SpecIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}

/** Base class of the problems found in a DAG of sub-tasks. */
export class DagError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The DAG has a cycle; `nodes` lists one cycle in dependency order (first → … → last → first). */
export class CycleError extends DagError {
  constructor(
    readonly nodes: string[],
    context = 'dependency cycle',
  ) {
    super(`${context}: ${[...nodes, nodes[0]].join(' → ')}`);
  }
}

/** A dependency names a sub-task (or stage, or task) that does not exist: `from` names `to`. */
export class DanglingReferenceError extends DagError {
  constructor(
    readonly from: string,
    readonly to: string,
    where = '',
  ) {
    super(`${where ? `${where}: ` : ''}"${from}" refers to unknown "${to}"`);
  }
}

export class DuplicateIdError extends DagError {
  constructor(
    readonly id: string,
    where = '',
  ) {
    super(`${where ? `${where}: ` : ''}duplicate id "${id}"`);
  }
}

/** A sub-task with a non-positive or non-finite cpu or memory, or a negative or non-finite duration. */
export class InvalidResourceError extends DagError {
  constructor(
    readonly node: string,
    readonly field: string,
    readonly value: unknown,
  ) {
    super(
      `sub-task "${node}": invalid ${field} ${String(value)} (expected a finite number ${field === 'durationSeconds' || field === 'durationUncertainty' || field === 'bytes' ? '≥ 0' : '> 0'})`,
    );
  }
}

export class TooManyNodesError extends DagError {
  constructor(
    readonly count: number,
    readonly limit: number,
    where = '',
  ) {
    super(
      `${where ? `${where}: ` : ''}${count} sub-tasks exceed the limit of ${limit} ` +
        '(use larger chunks, or raise limits.maxSubTasks)',
    );
  }
}

/** A sub-task that does not exist, or one that cannot be split the way it was asked to. */
export class SplitError extends DagError {
  constructor(
    readonly node: string,
    reason: string,
  ) {
    super(`cannot split sub-task "${node}": ${reason}`);
  }
}

/** A WfFormat document that does not have the expected shape. */
export class WfFormatError extends DagError {
  constructor(readonly issues: SpecIssue[]) {
    super(
      issues.length === 1
        ? `invalid WfFormat instance: ${formatIssue(issues[0]!)}`
        : `invalid WfFormat instance (${issues.length} problems):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
    );
  }
}
