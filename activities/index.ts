import { JobDags } from './job-dags';
import { createControlActivities, type ControlActivityDeps } from './control';
import { createDecideActivity } from './decide';
import { createFleetActivities } from './fleet';

export { createControlActivities, INVALID_JOB_SPEC } from './control';
export type { ControlActivities, ControlActivityDeps } from './control';
export { createDecideActivity } from './decide';
export { createFleetActivities } from './fleet';
export type { FleetActivities } from './fleet';
export type { DecideActivity, DecideActivityDeps } from './decide';
export { createInstanceActivities } from './instance';
export type { InstanceActivities, RunSubTaskInput, RunSubTaskOutput } from './instance';

/** Every activity of the control task queue: planning, provisioning and the runtime controller. */
export function createSpotdagActivities(deps: ControlActivityDeps) {
  // One DAG cache: the decide activity starts from the graph the decompose activity built.
  const shared = { ...deps, dags: deps.dags ?? new JobDags() };
  return {
    ...createControlActivities(shared),
    ...createDecideActivity(shared),
    ...createFleetActivities(shared),
  };
}
