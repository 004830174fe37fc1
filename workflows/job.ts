import { patched, workflowInfo } from '@temporalio/workflow';
import type { JobSpecInput } from '../src/dag/spec';
import type { JobResult } from '../src/job/types';
import { controlledJob, isControlledContinuation, type ControlledContinuation } from './job-controlled';
import { legacySpotdagJob, type JobContinuation } from './job-legacy';
import type { JobRunOptions } from './job-shared';

export { progressQuery, type JobPhase, type JobRunOptions } from './job-shared';

/** Marks runs driven by the runtime controller; histories recorded before it replay the legacy path. */
const CONTROLLER_PATCH = 'spotdag-runtime-controller';

/**
 * A spotdag job. It decomposes the spec into a DAG of sub-tasks (an activity), then the runtime
 * controller (the `decide` activity) plans, re-plans and re-splits the job as it runs, while this
 * workflow carries its decisions out: instances launched and released, one child workflow per
 * sub-task pinned to its instance, moves when an instance is lost. The parent continues as new
 * when its history grows, carrying its state as the third argument (`spec` is then `null`).
 *
 * Start it with a JobSpec (see schema/jobspec.schema.json); `options` tune the run.
 */
export async function spotdagJob(
  spec: JobSpecInput | null,
  options: JobRunOptions = {},
  continued?: ControlledContinuation | JobContinuation,
): Promise<JobResult> {
  const { workflowId: jobId } = workflowInfo();
  // A run continued from a pre-controller run stays on the legacy path, as does the replay of a
  // history recorded before the controller (no patch marker).
  if (continued && !isControlledContinuation(continued)) return legacySpotdagJob(spec, options, continued);
  if (!continued && !patched(CONTROLLER_PATCH)) return legacySpotdagJob(spec, options);
  return controlledJob(jobId, spec, options, continued);
}
