/**
 * Where a lost instance's replacement goes. The allocator re-plans the sub-task that has to move
 * (`reallocate`, with the rest of its work) on the market as it is now, with the pool that just
 * lost an instance penalised: no new spot instance there, so the replacement lands on the best
 * other spot pool or on demand, as the job's preference weighs cost, time and risk.
 */
import { DirectedGraph } from 'graphology';
import { reallocate, type AllocationFleet, type Preferences } from '../allocate';
import type { TaskDag } from '../dag';
import type { InstancePlacement } from '../provision/provisioner';
import { marketAllocationForecast } from './allocation-input';
import type { MarketView, PlannedSubTask } from './types';

export interface ReplacementInput {
  subTask: PlannedSubTask;
  /** Fraction of the sub-task already saved in checkpoints (0 when it starts over). */
  savedFraction: number;
  market: MarketView;
  fleet: AllocationFleet;
  preferences: Preferences;
  /** Pool key of the lost instance. */
  lostPool: string;
}

export function replacementPlacement(input: ReplacementInput): InstancePlacement {
  const { dependsOn: _inputs, ...attributes } = input.subTask;
  const dag: TaskDag = new DirectedGraph();
  dag.addNode(attributes.id, attributes);
  const saved = Math.min(Math.max(input.savedFraction, 0), 1) * attributes.durationSeconds;
  const schedule = reallocate(dag, marketAllocationForecast(input.market), input.fleet, input.preferences, {
    nowSeconds: 0,
    done: [],
    running: [],
    instances: [],
    progress: saved > 0 ? { [attributes.id]: saved } : {},
    penalisedPools: [input.lostPool],
    full: true,
  });
  const instance = schedule.instances[0];
  if (!instance) throw new Error(`no pool can take sub-task ${attributes.id}`);
  return { pool: instance.pool, market: instance.market, maxPricePerHour: instance.maxPricePerHour };
}
