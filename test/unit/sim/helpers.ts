import { preferencesSchema, type PreferencesInput } from '../../../src/allocate/preferences';
import { StepFunction } from '../../../src/allocate/market-forecast';
import { resolveFleet } from '../../../src/allocate/types';
import type { AvailabilityTrace } from '../../../src/market';
import { CyclicTrace, SimMarket } from '../../../src/sim/market';
import type { PolicyEnv } from '../../../src/sim/policies';
import { pools, type TestPool } from '../allocate/helpers';
import { dagArrays } from '../../../src/allocate/rank';
import type { TaskDag } from '../../../src/dag';

export function trace(unavailable: boolean[], gapSeconds = 600, name = 'test'): AvailabilityTrace {
  return { name, startMs: 0, gapSeconds, unavailable };
}

/**
 * A market of test pools, each with its own trace (default: always available) and spot price
 * (default: its `spot` for ever; `prices[i]`: a series of 10-minute steps).
 */
export function simMarket(
  list: TestPool[],
  traces: AvailabilityTrace[] = [],
  prices: number[][] = [],
): SimMarket {
  const options = pools(list);
  return new SimMarket(
    options.map((option, i) => ({
      option,
      price: prices[i] ? new StepFunction(0, 600, prices[i]) : new StepFunction(0, 3600, [list[i]!.spot]),
      trace: new CyclicTrace(traces[i] ?? trace([false])),
      offsetTicks: 0,
      traceName: traces[i]?.name ?? 'always',
    })),
  );
}

export function env(dag: TaskDag, market: SimMarket, preferences: PreferencesInput = {}): PolicyEnv {
  return {
    d: dagArrays(dag),
    fleet: resolveFleet({}),
    preferences: preferencesSchema.parse(preferences),
    market,
  };
}
