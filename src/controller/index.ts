/** The runtime controller: one policy for a running job, shared by the simulator and the job workflow. */
export {
  Controller,
  DEFAULT_ENGINE_OVERHEAD_SECONDS,
  tickSeconds,
  type ControllerFleet,
  type ControllerOptions,
  type ControllerSetup,
} from './controller';
export { onDemandOptions, readGuard, type GuardFleet } from './deadline-guard';
export { cutsOfPending, cutsOfRunning, type GranularityInput, type GranularityOptions } from './granularity';
export { learnFrom, penalise, PENALTY_SECONDS } from './learning';
export { DEFAULT_TUNING, resolveTuning, SAFE_FLOOR, type ControllerTuning } from './tuning';
export { observePace, PACE_TOLERANCE, paceFactor } from './pace';
export {
  freshMemory,
  type ControllerEvent,
  type ControllerEventKind,
  type ControllerMemory,
  type ControllerState,
  type Decision,
  type GuardReading,
  type PoolObservation,
  type Resplit,
  type RunningSubTask,
} from './types';
