/**
 * The learned interruption model of a market, kept in the checkpoint store so that it survives a
 * control-worker restart and carries over to the next job. One versioned record per market
 * (`markets/<id>`), updated by compare-and-swap: two jobs learning at once both land. Each job's
 * observations are applied once: the record remembers the last decision of each job it applied,
 * so a retried `decide` activity does not count an interruption twice.
 */
import type { CheckpointStore } from '../checkpoint/types';
import { InterruptionModel, type InterruptionModelJSON } from '../forecast/interruption';

export interface LearnedModelRecord {
  /** Increases by one per update. */
  revision: number;
  model: InterruptionModelJSON;
  /** Per job: the last decision (the controller's call count) whose observations are in the model. */
  applied: Record<string, { call: number; atMs: number }>;
  updatedAtMs: number;
}

/** Jobs remembered in `applied`; the oldest are forgotten beyond this. */
const MAX_JOBS_REMEMBERED = 200;

export function recordName(marketId: string): string {
  return `markets/${marketId}`;
}

export async function readLearnedModel(
  store: CheckpointStore,
  marketId: string,
): Promise<LearnedModelRecord | undefined> {
  const entry = await store.readRecord(recordName(marketId));
  return entry && (JSON.parse(entry.bytes.toString('utf8')) as LearnedModelRecord);
}

/** Whether the record already holds this job's decision `call` (a retried activity). */
export function alreadyApplied(record: LearnedModelRecord | undefined, jobId: string, call: number): boolean {
  return (record?.applied[jobId]?.call ?? -1) >= call;
}

/**
 * Applies `learn` to the market's latest model and saves it, retrying when another writer got
 * there first (`learn` runs again on the newer model). Returns the saved record.
 */
export async function updateLearnedModel(
  store: CheckpointStore,
  marketId: string,
  seed: () => InterruptionModel,
  jobId: string,
  call: number,
  learn: (model: InterruptionModel) => void,
  nowMs: number,
): Promise<LearnedModelRecord> {
  const name = recordName(marketId);
  for (let attempt = 0; attempt < 20; attempt++) {
    const entry = await store.readRecord(name);
    const current = entry && (JSON.parse(entry.bytes.toString('utf8')) as LearnedModelRecord);
    if (alreadyApplied(current, jobId, call)) return current!;
    const model = current ? InterruptionModel.fromJSON(current.model) : seed();
    learn(model);
    const applied = { ...current?.applied, [jobId]: { call, atMs: nowMs } };
    const jobs = Object.entries(applied).sort((a, b) => b[1].atMs - a[1].atMs);
    const next: LearnedModelRecord = {
      revision: (current?.revision ?? 0) + 1,
      model: model.toJSON(),
      applied: Object.fromEntries(jobs.slice(0, MAX_JOBS_REMEMBERED)),
      updatedAtMs: nowMs,
    };
    if (await store.writeRecord(name, Buffer.from(JSON.stringify(next)), entry?.version)) return next;
  }
  throw new Error(`could not update the learned model of market ${marketId}: too many concurrent writers`);
}
