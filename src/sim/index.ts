/** Trace-driven discrete-event simulation of jobs on spot markets, and the policies benchmarked in it. */
export {
  CyclicTrace,
  hashString,
  mapTraces,
  rng,
  SimMarket,
  type SimPool,
  type TraceMappingOptions,
} from './market';
export { OracleForecast } from './oracle';
export {
  eagerNextZonePolicy,
  greedyFailoverPolicy,
  lowerBoundCost,
  onDemandHeftPolicy,
  PENALTY_SECONDS,
  priceCapacityOptimizedPolicy,
  spotdagPolicy,
  uniformProgressPolicy,
  type PolicyEnv,
  type SpotdagPolicyOptions,
} from './policies';
export { buildScenario, type Scenario, type ScenarioInput } from './scenario';
export {
  simulate,
  Simulator,
  SimulationInvariantError,
  type ReplanEvent,
  type ReplanReason,
  type SimInstanceRecord,
  type SimOptions,
  type SimPolicy,
  type SimResult,
} from './simulator';
