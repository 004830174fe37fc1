/**
 * What the allocate activity hands the allocator: the planned sub-tasks as a DAG again, the
 * market view as an allocation forecast, and the fleet as a machine model.
 */
import { DirectedGraph } from 'graphology';
import type { AllocationFleet, AllocationForecast } from '../allocate';
import { marketForecast, resolveFleet, staticForecast } from '../allocate';
import { DEFAULT_ENGINE_OVERHEAD_SECONDS, type ControllerFleet } from '../controller';
import type { MarketTiming } from './instance-market';
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
export function marketAllocationForecast(
  market: MarketView,
  options: {
    /** What the market learned so far (its pools keep their posteriors). */
    model?: InterruptionModel;
    /** Wall-clock ms of second 0 of the plans (the job's start); default the view's time. */
    startMs?: number;
  } = {},
): AllocationForecast {
  const spot = market.pools.filter((p) => p.market === 'spot');
  if (spot.length > 0)
    return spotPoolsForecast(
      market.generatedAtMs,
      spot,
      options.model,
      options.startMs ?? market.generatedAtMs,
    );
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

/**
 * Price forecasts from second 0 = `startMs`; the interruption model is `model` (what the market
 * learned so far), with the view's rates as priors of the pools it does not know yet.
 */
function spotPoolsForecast(
  generatedAtMs: number,
  pools: PoolView[],
  model: InterruptionModel | undefined,
  startMs: number,
): AllocationForecast {
  const interruptions = model ?? new InterruptionModel();
  const forecasts: PriceForecast[] = pools.map((p) => {
    const pool = marketPool(p);
    if (p.interruptionsPerHour > 0 && !interruptions.knows(pool))
      interruptions.setPriorRate(pool, p.interruptionsPerHour);
    return {
      pool,
      startMs: generatedAtMs,
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
  return {
    maxInstances: fleet.instances,
    // A process starts in about a second; a busy machine makes it two.
    bootSeconds: 2,
    checkpointSeconds: 0.1,
    restartSeconds: 1,
    minCheckpointIntervalSeconds: 1,
  };
}

/**
 * Local instances get a few seconds' notice on a replayed market, decisions can be frequent, and
 * a pool that interrupted is not banned: the learned model says when its capacity is back.
 */
export const LOCAL_TIMING: MarketTiming = { noticeSeconds: 5, minTickSeconds: 2, penaltySeconds: 0 };

/**
 * Local instances are processes on this machine: one pool, free, not interrupted by any market
 * (without a replayed market on the control worker).
 */
export function localMarketView(fleet: FleetSpec, horizonSeconds: number, nowMs: number): MarketView {
  const stepSeconds = 3600;
  return {
    generatedAtMs: nowMs,
    horizonSeconds,
    pools: [
      {
        key: `${fleet.provider}@localhost`,
        instanceType: fleet.provider,
        zone: 'localhost',
        market: 'local',
        vcpu: fleet.slotsPerInstance,
        memoryMiB: 1024 * fleet.slotsPerInstance,
        pricePerHour: new Array<number>(Math.ceil(horizonSeconds / stepSeconds)).fill(0),
        stepSeconds,
        interruptionsPerHour: 0,
      },
    ],
  };
}

/** The controller's machine model: the allocator's, with the market's timing and the engine overhead. */
export function controllerFleetOf(
  model: AllocationFleet,
  timing: MarketTiming,
  engineOverheadSeconds = DEFAULT_ENGINE_OVERHEAD_SECONDS,
): ControllerFleet {
  return {
    ...resolveFleet({ ...model, noticeSeconds: timing.noticeSeconds }),
    ...timing,
    engineOverheadSeconds,
  };
}
