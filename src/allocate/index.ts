/** Allocation: preferences, the round-robin first version, and the predictive PageRank allocator. */
export { preferencesSchema, type Preferences, type PreferencesInput } from './preferences';
export { allocateRoundRobin, DEFAULT_BANDWIDTH_BYTES_PER_SECOND } from './round-robin';
export { allocate, reallocate, rankSubTasks, type AllocateOptions } from './allocate';
export { AllocationError, BudgetExceededError, NoCapacityError } from './errors';
export {
  BUILTIN_SHAPES,
  instanceShape,
  marketForecast,
  MarketAllocationForecast,
  poolOption,
  staticForecast,
  StepFunction,
  type MarketForecastInput,
} from './market-forecast';
export {
  forecastMarket,
  formatScheduleTable,
  historyBefore,
  interruptionModelFor,
  loadMarket,
  onDemandPrices,
  planSchedule,
  type MarketSetup,
  type PlannedSchedule,
  type PlanScheduleOptions,
} from './plan';
export {
  dagArrays,
  DEFAULT_RANK_MIX,
  modifiedPageRank,
  priorities,
  upwardRank,
  type DagArrays,
  type PageRankInputs,
  type RankMix,
} from './rank';
export {
  bandwidth,
  checkpointInterval,
  listSchedule,
  preselectOptions,
  wallSeconds,
  type Market,
  type NewInstanceOption,
  type SchedulerInput,
  type Scoring,
} from './scheduler';
export {
  DEFAULT_FLEET,
  resolveFleet,
  type AllocationFleet,
  type AllocationForecast,
  type PoolOption,
  type RankOrder,
  type ResolvedFleet,
  type RuntimeState,
  type SpotdagInstancePlan,
  type SpotdagPlacement,
  type SpotdagSchedule,
} from './types';
