/**
 * Learned policy models, versioned in the checkpoint store: each version is one record
 * (`policy-models/<n>`, written once), and one index record (`policy-models`, compare-and-swap)
 * says which version jobs use and keeps the log of every promotion, refusal, pin and rollback with
 * its figures. A job with `preferences.policy: learned` (the default once a version is current)
 * runs the current version; none current: the heuristic.
 */
import type { CheckpointStore } from '../checkpoint/types';
import { parsePolicyModel, type PolicyModel } from './model';

export const INDEX_RECORD = 'policy-models';
const versionRecord = (version: number) => `policy-models/${version}`;

/** Held-out figures of a model (or of the heuristic) a promotion compares. */
export interface EvaluationFigures {
  /** Mean cost ÷ on-demand over the held-out scenarios. */
  costVsOnDemand: number;
  deadlineMetPct: number;
  scenarios: number;
}

export interface RegistryEvent {
  at: string;
  action: 'add' | 'promote' | 'refuse' | 'pin' | 'rollback';
  version: number;
  /** The version current before (promote, pin, rollback). */
  from?: number;
  /** The candidate's and the incumbent's held-out figures (promote, refuse). */
  candidate?: EvaluationFigures;
  incumbent?: EvaluationFigures;
  reason?: string;
}

export interface RegistryIndex {
  versions: Array<{ version: number; createdAt: string; heldOut?: EvaluationFigures }>;
  /** The version jobs use; none: the heuristic. */
  current?: number;
  /** Set by `pin`: promotions by `learn update` leave the current version alone. */
  pinned?: boolean;
  log: RegistryEvent[];
}

const emptyIndex = (): RegistryIndex => ({ versions: [], log: [] });

/** Events kept in the index (one backend value); the oldest are dropped beyond this. */
const MAX_LOG = 500;

function log(index: RegistryIndex, event: RegistryEvent): void {
  index.log.push(event);
  if (index.log.length > MAX_LOG) index.log.splice(0, index.log.length - MAX_LOG);
}

export async function readIndex(store: CheckpointStore): Promise<RegistryIndex> {
  const entry = await store.readRecord(INDEX_RECORD);
  return entry ? (JSON.parse(entry.bytes.toString('utf8')) as RegistryIndex) : emptyIndex();
}

/** Applies `change` to the index, retrying when another writer got there first. */
async function updateIndex<T>(
  store: CheckpointStore,
  change: (index: RegistryIndex) => T,
): Promise<{ index: RegistryIndex; result: T }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const entry = await store.readRecord(INDEX_RECORD);
    const index = entry ? (JSON.parse(entry.bytes.toString('utf8')) as RegistryIndex) : emptyIndex();
    const result = change(index);
    if (await store.writeRecord(INDEX_RECORD, Buffer.from(JSON.stringify(index)), entry?.version))
      return { index, result };
  }
  throw new Error('could not update the policy model index: too many concurrent writers');
}

export async function readModel(store: CheckpointStore, version: number): Promise<PolicyModel> {
  const entry = await store.readRecord(versionRecord(version));
  if (!entry) throw new Error(`policy model version ${version} is not in the store`);
  return parsePolicyModel(JSON.parse(entry.bytes.toString('utf8')), `version ${version}`);
}

/** The version jobs use and its model, or undefined (the heuristic). */
export async function currentModel(
  store: CheckpointStore,
): Promise<{ version: number; model: PolicyModel } | undefined> {
  const index = await readIndex(store);
  if (index.current === undefined) return undefined;
  return { version: index.current, model: await readModel(store, index.current) };
}

/** Stores a model as a new version (not current). Returns its number. */
export async function addVersion(
  store: CheckpointStore,
  model: PolicyModel,
  heldOut: EvaluationFigures | undefined,
  now = new Date(),
): Promise<number> {
  const bytes = Buffer.from(JSON.stringify(parsePolicyModel(model)));
  const index = await readIndex(store);
  let version = (index.versions[index.versions.length - 1]?.version ?? 0) + 1;
  // A version record is written once: a number a racing writer took first is skipped.
  while (!(await store.writeRecord(versionRecord(version), bytes, undefined))) version++;
  await updateIndex(store, (ix) => {
    ix.versions.push({ version, createdAt: now.toISOString(), ...(heldOut ? { heldOut } : {}) });
    ix.versions.sort((a, b) => a.version - b.version);
    log(ix, { at: now.toISOString(), action: 'add', version });
  });
  return version;
}

/**
 * Whether a candidate beats the incumbent on the same held-out scenarios: at least as many
 * deadlines met, and cheaper. A tie keeps the incumbent.
 */
export function beats(candidate: EvaluationFigures, incumbent: EvaluationFigures): boolean {
  return (
    candidate.deadlineMetPct >= incumbent.deadlineMetPct &&
    candidate.costVsOnDemand < incumbent.costVsOnDemand
  );
}

/**
 * Promotes `version` if its held-out figures beat the incumbent's (the current version's, or the
 * heuristic's when none is current), on the same scenarios; otherwise records the refusal. A
 * pinned index refuses too. Returns whether it was promoted.
 */
export async function promoteIfBetter(
  store: CheckpointStore,
  version: number,
  candidate: EvaluationFigures,
  incumbent: EvaluationFigures,
  now = new Date(),
): Promise<{ promoted: boolean; reason: string }> {
  const { result } = await updateIndex(store, (ix) => {
    const at = now.toISOString();
    let reason: string;
    let promoted = false;
    if (ix.pinned) reason = `version ${ix.current} is pinned`;
    else if (!beats(candidate, incumbent))
      reason =
        `held out it costs ${candidate.costVsOnDemand.toFixed(4)} × on-demand with ${candidate.deadlineMetPct.toFixed(1)} % ` +
        `deadlines met, against ${incumbent.costVsOnDemand.toFixed(4)} and ${incumbent.deadlineMetPct.toFixed(1)} %`;
    else {
      promoted = true;
      reason = `held out it costs ${(candidate.costVsOnDemand / incumbent.costVsOnDemand).toFixed(4)} × the incumbent`;
    }
    log(ix, {
      at,
      action: promoted ? 'promote' : 'refuse',
      version,
      ...(ix.current !== undefined ? { from: ix.current } : {}),
      candidate,
      incumbent,
      reason,
    });
    if (promoted) ix.current = version;
    return { promoted, reason };
  });
  return result;
}

/** Makes `version` current and pinned (`spotdag learn pin`); 0 pins the heuristic. */
export async function pinVersion(store: CheckpointStore, version: number, now = new Date()): Promise<void> {
  await updateIndex(store, (ix) => {
    if (version !== 0 && !ix.versions.some((v) => v.version === version))
      throw new Error(
        `policy model version ${version} is not in the store (versions: ${ix.versions.map((v) => v.version).join(', ') || 'none'})`,
      );
    log(ix, {
      at: now.toISOString(),
      action: 'pin',
      version,
      ...(ix.current !== undefined ? { from: ix.current } : {}),
    });
    if (version === 0) delete ix.current;
    else ix.current = version;
    ix.pinned = true;
  });
}

/**
 * Back to the version that was current before the current one (`spotdag learn rollback`), or to
 * the heuristic when there was none. Unpins. Returns the version now current (undefined: heuristic).
 */
export async function rollback(store: CheckpointStore, now = new Date()): Promise<number | undefined> {
  const { result } = await updateIndex(store, (ix) => {
    if (ix.current === undefined) throw new Error('no policy model is current: nothing to roll back');
    // The last event that made the current version current tells what was current before it.
    const made = [...ix.log]
      .reverse()
      .find((e) => e.version === ix.current && (e.action === 'promote' || e.action === 'pin'));
    const previous = made?.from;
    log(ix, { at: now.toISOString(), action: 'rollback', version: previous ?? 0, from: ix.current });
    if (previous === undefined || previous === 0) delete ix.current;
    else ix.current = previous;
    delete ix.pinned;
    return ix.current;
  });
  return result;
}
