// The library: domain modules and the plugin. Workflow code lives in `spotdag/workflows`,
// activities in `spotdag/activities`, workers and the local stack in `spotdag/workers`.
export * from './dag';
export * from './steps';
export * from './names';
export type * from './job/types';
export { preferencesSchema } from './allocate/preferences';
export type { Preferences, PreferencesInput } from './allocate/preferences';
export { allocateRoundRobin } from './allocate/round-robin';
export { fleetSchema } from './provision/fleet';
export type { FleetSpec, FleetSpecInput } from './provision/fleet';
export type { Provisioner } from './provision/provisioner';
export { LocalProvisioner } from './provision/local';
export { parseDurationSeconds, formatDuration } from './util/duration';
export { SpotDagPlugin } from './plugin';
export type { SpotDagPluginOptions } from './plugin';
