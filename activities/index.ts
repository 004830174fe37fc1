export { createControlActivities, INVALID_JOB_SPEC } from './control';
export type { ControlActivities, ControlActivityDeps } from './control';
export { createInstanceActivities } from './instance';
export type { InstanceActivities, RunSubTaskInput, RunSubTaskOutput } from './instance';
