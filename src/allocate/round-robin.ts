import type { FleetSpec } from '../provision/fleet';
import { minOf } from '../util/array';
import type {
  DecomposedJob,
  InstancePlan,
  MarketView,
  Placement,
  Schedule,
  TransferInstruction,
} from '../job/types';

/** Assumed network bandwidth between instances until pools say otherwise (bytes/s). */
export const DEFAULT_BANDWIDTH_BYTES_PER_SECOND = 100e6;

/**
 * The first allocator: places sub-tasks on the fleet's instances in turn, in topological order,
 * on the cheapest pool, and predicts start and finish times by list scheduling. Issue #5 replaces
 * it with the PageRank allocator; it stays as the simplest baseline.
 */
export function allocateRoundRobin(job: DecomposedJob, market: MarketView, fleet: FleetSpec): Schedule {
  if (market.pools.length === 0) throw new Error('no pools to place sub-tasks on');
  const pool = market.pools.reduce((best, p) =>
    (p.pricePerHour[0] ?? 0) < (best.pricePerHour[0] ?? 0) ? p : best,
  );
  const instances: InstancePlan[] = Array.from({ length: fleet.instances }, (_, i) => ({
    id: `i${i}`,
    pool: pool.key,
    slots: fleet.slotsPerInstance,
  }));
  // Per instance, when each of its slots is next free.
  const slotFree = instances.map((inst) => new Array<number>(inst.slots).fill(0));
  const placed = new Map<string, Placement>();
  const placements: Placement[] = [];
  const transfers: TransferInstruction[] = [];

  job.subTasks.forEach((subTask, order) => {
    const instanceIndex = order % instances.length;
    const instanceId = instances[instanceIndex]!.id;
    let ready = 0;
    for (const dep of subTask.dependsOn) {
      const from = placed.get(dep.id);
      if (!from) throw new Error(`sub-task ${subTask.id} comes before its dependency ${dep.id}`);
      let arrival = from.finish;
      if (from.instanceId !== instanceId) {
        const seconds = dep.bytes / DEFAULT_BANDWIDTH_BYTES_PER_SECOND;
        transfers.push({
          from: dep.id,
          to: subTask.id,
          fromInstance: from.instanceId,
          toInstance: instanceId,
          bytes: dep.bytes,
          seconds,
        });
        arrival += seconds;
      }
      ready = Math.max(ready, arrival);
    }
    const slots = slotFree[instanceIndex]!;
    const slot = slots.indexOf(minOf(slots));
    const start = Math.max(ready, slots[slot]!);
    const finish = start + subTask.durationSeconds;
    slots[slot] = finish;
    const placement = { subTaskId: subTask.id, instanceId, start, finish };
    placed.set(subTask.id, placement);
    placements.push(placement);
  });

  const makespan = placements.reduce((max, p) => Math.max(max, p.finish), 0);
  const hourlyPrice = pool.pricePerHour[0] ?? 0;
  return {
    instances,
    placements,
    transfers,
    predictedMakespanSeconds: makespan,
    predictedCostUsd: (instances.length * hourlyPrice * makespan) / 3600,
  };
}
