/**
 * What the allocate activity hands the allocator: the planned sub-tasks as a DAG again, the
 * market view as an allocation forecast, and the fleet as a machine model.
 */
import { DirectedGraph } from 'graphology';
import type { AllocationFleet, AllocationForecast } from '../allocate';
import { staticForecast } from '../allocate';
import type { TaskDag } from '../dag';
import type { FleetSpec } from '../provision/fleet';
import type { DecomposedJob, MarketView } from './types';

export function plannedDag(job: DecomposedJob): TaskDag {
  const dag: TaskDag = new DirectedGraph();
  for (const { dependsOn: _deps, ...attributes } of job.subTasks) dag.addNode(attributes.id, attributes);
  for (const subTask of job.subTasks) {
    for (const dep of subTask.dependsOn) dag.addDirectedEdge(dep.id, subTask.id, { bytes: dep.bytes });
  }
  return dag;
}

/** The market view's pools at their current predicted price and interruption rate. */
export function marketAllocationForecast(market: MarketView): AllocationForecast {
  return staticForecast(
    market.pools.map((p) => ({
      pool: {
        key: p.key,
        instanceType: p.instanceType,
        region: p.zone,
        zone: p.zone,
        vcpu: p.vcpu,
        memoryMiB: p.memoryMiB,
        onDemandPricePerHour: p.pricePerHour[0] ?? 0,
      },
      spotPricePerHour: p.pricePerHour[0] ?? 0,
    })),
    Math.max(0, ...market.pools.map((p) => p.interruptionsPerHour)),
  );
}

/** Local instances: at most the fleet's count, up in about a second, checkpoints nearly free. */
export function localFleetModel(fleet: FleetSpec): AllocationFleet {
  return { maxInstances: fleet.instances, bootSeconds: 1, checkpointSeconds: 0.1, restartSeconds: 1 };
}
