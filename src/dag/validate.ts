/** Checks a DAG before it is scheduled: size, ids, resources, acyclicity. */
import { CycleError, DagError, DuplicateIdError, InvalidResourceError, TooManyNodesError } from './errors';
import { indexDag, topologicalIndices } from './graph-index';
import type { TaskDag } from './types';

export interface ValidateOptions {
  /** Largest number of sub-tasks accepted (default 100,000). */
  maxNodes?: number;
}

export const DEFAULT_MAX_NODES = 100_000;

/**
 * Every problem found, cheapest checks first. Dangling references cannot exist inside a graphology
 * graph (an edge needs both ends); they are reported where DAGs are built (JobSpec, WfFormat).
 */
export function findDagProblems(dag: TaskDag, options: ValidateOptions = {}): DagError[] {
  const problems: DagError[] = [];
  const maxNodes = options.maxNodes ?? DEFAULT_MAX_NODES;
  if (dag.order > maxNodes) {
    // Do not walk a graph that is far too large; this one problem is enough to act on.
    problems.push(new TooManyNodesError(dag.order, maxNodes));
    return problems;
  }
  const seen = new Set<string>();
  dag.forEachNode((key, a) => {
    if (seen.has(a.id)) problems.push(new DuplicateIdError(a.id));
    else if (a.id !== key) problems.push(new DagError(`sub-task "${key}" carries the id "${a.id}"`));
    seen.add(a.id);
    if (!(Number.isFinite(a.cpu) && a.cpu > 0)) problems.push(new InvalidResourceError(key, 'cpu', a.cpu));
    if (!(Number.isFinite(a.memoryMiB) && a.memoryMiB > 0)) {
      problems.push(new InvalidResourceError(key, 'memoryMiB', a.memoryMiB));
    }
    if (!(Number.isFinite(a.durationSeconds) && a.durationSeconds >= 0)) {
      problems.push(new InvalidResourceError(key, 'durationSeconds', a.durationSeconds));
    }
    if (!(Number.isFinite(a.durationUncertainty) && a.durationUncertainty >= 0)) {
      problems.push(new InvalidResourceError(key, 'durationUncertainty', a.durationUncertainty));
    }
  });
  dag.forEachEdge((_edge, a, source, target) => {
    if (!(Number.isFinite(a.bytes) && a.bytes >= 0)) {
      problems.push(new InvalidResourceError(`${source} → ${target}`, 'bytes', a.bytes));
    }
  });
  try {
    topologicalIndices(indexDag(dag));
  } catch (err) {
    if (!(err instanceof CycleError)) throw err;
    problems.push(err);
  }
  return problems;
}

/** Throws the first problem found (a DagError subclass, exitCode 2); returns the DAG when valid. */
export function validateDag(dag: TaskDag, options: ValidateOptions = {}): TaskDag {
  const problems = findDagProblems(dag, options);
  if (problems.length > 0) {
    const first = problems[0]!;
    if (problems.length > 1)
      first.message += ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})`;
    throw first;
  }
  return dag;
}
