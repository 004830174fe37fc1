export { defineStep, getStep, knownSteps, UnknownStepError } from './registry';
export type { StepContext, StepDefinition, StepHandler, SubTaskRef } from './registry';
// Built-in steps: registering them is a side effect of importing this module.
export {
  countPrimes,
  countPrimesSegmented,
  KNOWN_PRIME_COUNTS,
  primesCount,
  primesJobSpec,
  primesSum,
} from './primes';
export {
  expectedWorkloadSum,
  readWorkloadLedger,
  redoneUnits,
  workloadInputSchema,
  type LedgerEntry,
  workloadJobSpec,
  workloadSpinStep,
  workloadSumStep,
  type WorkloadInput,
} from './workload';
