import type { CheckpointStore, DocumentRef } from '../src/checkpoint';
import type { InstanceMarket } from '../src/job/instance-market';
import { replacementPlacement } from '../src/job/replacement';
import type { DecomposedJob } from '../src/job/types';
import type { InstancePlacement, Provisioner } from '../src/provision/provisioner';
import { readDocument } from './documents';

/** What the sub-task workflow knows of the sub-task that has to move. */
export interface MovingSubTask {
  /** The decomposed job in the checkpoint store (jobs planned by reference). */
  job?: DocumentRef;
  /** Fraction of the sub-task its last checkpoint keeps. */
  savedFraction?: number;
}

export interface ReplacementDeps {
  provisioner: Provisioner;
  market?: InstanceMarket;
  store?: CheckpointStore;
  log: (message: string, details: Record<string, unknown>) => void;
}

/**
 * Where the replacement of a lost instance goes, on a market with more than one pool (EC2): the
 * interruption is fed to the market's interruption model first, then the allocator re-plans the
 * moving sub-task with the lost pool penalised. Undefined — the replacement goes where the lost
 * instance was — for the local fleet, a job whose plan travelled inline, or when the market
 * cannot be read right now (a replacement in the old pool beats no replacement).
 */
export async function replacementFor(
  deps: ReplacementDeps,
  jobId: string,
  subTaskId: string,
  lostInstanceId: string,
  moving: MovingSubTask,
): Promise<InstancePlacement | undefined> {
  if (!deps.market) return undefined;
  const lost = (await deps.provisioner.list(jobId)).find((i) => i.id === lostInstanceId);
  if (!lost) return undefined; // already replaced or released: replace() knows what to do
  // Exposure is not known here (the instance's launch time is the provider's): the event alone
  // counts, against the prior's exposure.
  deps.market.observeInterruption(lost.pool, 0);
  if (!moving.job || !deps.store) {
    deps.log('replacement stays in the lost pool: the job plan is not in a checkpoint store', {
      subTask: subTaskId,
      pool: lost.pool,
    });
    return undefined;
  }
  try {
    const job = await readDocument<DecomposedJob>(deps.store, jobId, moving.job);
    const subTask = job.subTasks.find((s) => s.id === subTaskId);
    if (!subTask) throw new Error(`sub-task ${subTaskId} is not in the job's plan`);
    const market = await deps.market.forecast(job.fleet, 24 * 3600);
    return replacementPlacement({
      subTask,
      savedFraction: moving.savedFraction ?? 0,
      market,
      fleet: deps.market.fleetModel(job.fleet),
      preferences: job.preferences,
      lostPool: lost.pool,
    });
  } catch (err) {
    deps.log('re-allocation failed; the replacement stays in the lost pool', {
      subTask: subTaskId,
      pool: lost.pool,
      error: (err as Error).message,
    });
    return undefined;
  }
}
