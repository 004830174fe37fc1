/**
 * What the allocate activity hands the allocator: the planned sub-tasks as a DAG again, the
 * market view as an allocation forecast, and the fleet as a machine model.
 */
import { DirectedGraph } from 'graphology';
import type { AllocationFleet, AllocationForecast } from '../allocate';
import { marketForecast, staticForecast } from '../allocate';
import type { TaskDag } from '../dag';
import { InterruptionModel, type PriceForecast } from '../forecast';
import { InstanceCatalog, poolKey, regionOfZone, type Pool } from '../market';
import type { FleetSpec } from '../provision/fleet';
import { maxOf } from '../util/array';
import type { DecomposedJob, MarketView, PlannedSubTask, PoolView } from './types';

/** The DAG's sub-tasks in `order` (topological), each listing its dependencies. */
export function plannedSubTasks(dag: TaskDag, order: string[]): PlannedSubTask[] {
  return order.map((id) => ({
    ...dag.getNodeAttributes(id),
    dependsOn: dag.mapInEdges(id, (_edge, attributes, source) => ({ id: source, bytes: attributes.bytes })),
  }));
}

export function plannedDag(job: DecomposedJob): TaskDag {
  const dag: TaskDag = new DirectedGraph();
  for (const { dependsOn: _deps, ...attributes } of job.subTasks) dag.addNode(attributes.id, attributes);
  for (const subTask of job.subTasks) {
    for (const dep of subTask.dependsOn) dag.addDirectedEdge(dep.id, subTask.id, { bytes: dep.bytes });
  }
  return dag;
}

/**
 * The market view as the allocator's forecast: spot pools (EC2) with their price forecasts and
 * interruption rates, each offered on-demand too; otherwise (the local fleet) the pools at their
 * current price and the highest interruption rate.
 */
export function marketAllocationForecast(market: MarketView): AllocationForecast {
  const spot = market.pools.filter((p) => p.market === 'spot');
  if (spot.length > 0) return spotPoolsForecast(market.generatedAtMs, spot);
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
    Math.max(0, maxOf(market.pools.map((p) => p.interruptionsPerHour))),
  );
}

function marketPool(p: PoolView): Pool {
  return { instanceType: p.instanceType, region: p.region ?? regionOfZone(p.zone) ?? '', zone: p.zone };
}

/** Price forecasts from second 0 = `startMs`, the view's rates as the interruption model's priors. */
function spotPoolsForecast(startMs: number, pools: PoolView[]): AllocationForecast {
  const interruptions = new InterruptionModel();
  const forecasts: PriceForecast[] = pools.map((p) => {
    const pool = marketPool(p);
    if (p.interruptionsPerHour > 0) interruptions.setPriorRate(pool, p.interruptionsPerHour);
    return {
      pool,
      startMs,
      stepSeconds: p.stepSeconds,
      mean: p.pricePerHour,
      lower: p.pricePerHour,
      upper: p.upperPricePerHour ?? p.pricePerHour,
      models: {},
    };
  });
  const onDemand = new Map(pools.map((p) => [p.key, p.onDemandPricePerHour]));
  return marketForecast({
    forecasts,
    interruptions,
    onDemandPrice: (pool) => onDemand.get(poolKey(pool)),
    catalog: new InstanceCatalog(
      pools.map((p) => ({
        instanceType: p.instanceType,
        vcpu: p.vcpu,
        memoryMiB: p.memoryMiB,
        onDemandByRegion: {},
      })),
    ),
    startMs,
  });
}

/** Local instances: at most the fleet's count, up in about a second, checkpoints nearly free. */
export function localFleetModel(fleet: FleetSpec): AllocationFleet {
  return { maxInstances: fleet.instances, bootSeconds: 1, checkpointSeconds: 0.1, restartSeconds: 1 };
}
