/**
 * The one planning pipeline: spec → validated DAG → market view → the runtime controller's first
 * decision. The job's decompose activity, `spotdag run` (before it starts anything), the EC2 dry
 * run and `bench twin` call it, so a dry run cannot accept what the real run rejects, and the
 * dry run's schedule is the decision the job starts from.
 */
import type { Preferences } from '../allocate/preferences';
import type { AllocationForecast } from '../allocate/types';
import { Controller, freshMemory, type ControllerFleet, type Decision } from '../controller';
import {
  analyseDag,
  decompose,
  JobSpecError,
  parseJobSpec,
  validateDag,
  type DagAnalysis,
  type JobSpec,
  type TaskDag,
} from '../dag';
import { plannedSubTasks } from '../job/allocation-input';
import type { DecomposedJob } from '../job/types';
import { providerMismatch, type FleetProvider } from '../provision/provider';

/** A spec parsed and validated once, decomposed into its checked DAG. */
export interface PreparedJob {
  spec: JobSpec;
  dag: TaskDag;
  analysis: DagAnalysis;
}

export interface PrepareOptions {
  /** Step names the instances know; an unknown one is an error naming the stage. */
  knownSteps?: ReadonlySet<string>;
  /** The provider of the control worker that will run it: a spec asking for another is rejected. */
  provider?: FleetProvider;
}

/**
 * Parses and validates a JobSpec (every problem at once, each naming its field), decomposes it and
 * checks the DAG (cycles, dangling references, size limit). Throws `JobSpecError` (exit code 2).
 */
export function prepareJob(input: unknown, options: PrepareOptions = {}): PreparedJob {
  const spec = parseJobSpec(input, { knownSteps: options.knownSteps });
  if (options.provider) {
    const mismatch = providerMismatch(spec.fleet.provider, options.provider);
    if (mismatch) throw new JobSpecError([mismatch]);
  }
  const dag = decompose(spec);
  validateDag(dag, { maxNodes: spec.limits.maxSubTasks });
  return { spec, dag, analysis: analyseDag(dag) };
}

/** The prepared job as the activities keep it: sub-tasks in topological order with their inputs. */
export function decomposedJobOf(jobId: string, prepared: PreparedJob): DecomposedJob {
  const { spec, dag, analysis } = prepared;
  return {
    jobId,
    name: spec.name,
    fleet: spec.fleet,
    preferences: spec.preferences,
    subTasks: plannedSubTasks(dag, analysis.topologicalOrder),
    criticalPathSeconds: analysis.criticalPath.seconds,
    totalWorkSeconds: analysis.totalWorkSeconds,
    maxParallelism: analysis.maxParallelism,
  };
}

/**
 * What the controller decides at the start of a job on a market (its forecast) and a machine
 * model: the schedule a plan shows and a job starts from. `dag` is left as it was given: the
 * first decision may cut sub-tasks, so the controller works on a copy.
 */
export function firstDecision(
  dag: TaskDag,
  preferences: Preferences,
  forecast: AllocationForecast,
  fleet: ControllerFleet,
): Decision {
  const controller = new Controller({ forecast, fleet, preferences });
  return controller.decide(
    dag.copy(),
    { nowSeconds: 0, done: [], running: [], instances: [] },
    { kind: 'start' },
    freshMemory(),
  );
}
