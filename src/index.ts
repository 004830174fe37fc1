// The library: domain modules, no Temporal runtime. Workflow code lives in `spotdag/workflows`,
// activities in `spotdag/activities`, workers, the local stack and SpotDagPlugin in `spotdag/workers`
// (the plugin also as `spotdag/plugin`).
export * from './dag';
export * from './steps';
export * from './checkpoint';
export * from './names';
export type * from './job/types';
export { preferencesSchema } from './allocate/preferences';
export type { Preferences, PreferencesInput } from './allocate/preferences';
export { allocateRoundRobin } from './allocate/round-robin';
export { fleetSchema } from './provision/fleet';
export type { FleetSpec, FleetSpecInput } from './provision/fleet';
export type { Provisioner } from './provision/provisioner';
export { LocalProvisioner } from './provision/local';
export { Ec2Provisioner } from './provision/ec2-provisioner';
export { parseEc2Settings, loadEc2Settings } from './provision/ec2-settings';
export type { Ec2Settings, Ec2SettingsInput } from './provision/ec2-settings';
export { FLEET_PROVIDERS, PROVIDER_TIMEOUTS } from './provision/provider';
export type { FleetProvider, ProviderTimeouts } from './provision/provider';
export { Ec2Market, buildEc2MarketView } from './job/ec2-market-view';
export type { InstanceMarket } from './job/instance-market';
export { SpendGuard, FileSpendLedger, MemorySpendLedger } from './provision/spend-guard';
export { InterruptionWatcher } from './provision/interruption-watcher';
export { parseDurationSeconds, formatDuration } from './util/duration';
