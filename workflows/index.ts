// Users re-export this module from their own workflows module: `export * from 'spotdag/workflows'`.
export { progressQuery, spotdagJob } from './job';
export type { JobPhase, JobRunOptions } from './job';
export { spotdagSubTask } from './subtask';
export { spotdagFleet } from './fleet';
