import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openCheckpointStore } from '../../../src/checkpoint';
import type { CheckpointStore } from '../../../src/checkpoint/types';
import { parsePolicyModel } from '../../../src/learn/model';
import {
  addVersion,
  beats,
  currentModel,
  pinVersion,
  promoteIfBetter,
  readIndex,
  rollback,
} from '../../../src/learn/registry';
import { testModel } from './helpers';

const model = testModel;

const heuristic = { costVsOnDemand: 0.4, deadlineMetPct: 100, scenarios: 6 };
const better = { costVsOnDemand: 0.36, deadlineMetPct: 100, scenarios: 6 };
const worse = { costVsOnDemand: 0.42, deadlineMetPct: 100, scenarios: 6 };

describe('policy model versions in the checkpoint store', () => {
  let store: CheckpointStore;
  beforeEach(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spotdag-models-'));
    store = await openCheckpointStore(`sqlite:${path.join(dir, 'checkpoints.db')}`, { artifactStore: null });
  });
  afterEach(() => store.close());

  it('a cheaper model that misses a deadline does not beat, nor does a tie', () => {
    expect(beats(better, heuristic)).toBe(true);
    expect(beats({ ...better, deadlineMetPct: 83.3 }, heuristic)).toBe(false);
    expect(beats(heuristic, heuristic)).toBe(false);
  });

  it('promotion refuses a worse model and records why; a better one becomes current', async () => {
    expect(await currentModel(store)).toBeUndefined();
    const v1 = await addVersion(store, model(2), worse);
    const refused = await promoteIfBetter(store, v1, worse, heuristic);
    expect(refused.promoted).toBe(false);
    expect(await currentModel(store)).toBeUndefined();
    const v2 = await addVersion(store, model(3), better);
    expect((await promoteIfBetter(store, v2, better, heuristic)).promoted).toBe(true);
    expect(await currentModel(store)).toEqual({ version: 2, model: model(3) });
    // Against the current version now: a model only as good as the heuristic is refused.
    const v3 = await addVersion(store, model(4), heuristic);
    expect((await promoteIfBetter(store, v3, heuristic, better)).promoted).toBe(false);
    const index = await readIndex(store);
    expect(index.log.map((e) => `${e.action} ${e.version}`)).toEqual([
      'add 1',
      'refuse 1',
      'add 2',
      'promote 2',
      'add 3',
      'refuse 3',
    ]);
    expect(index.log[1]).toMatchObject({ candidate: worse, incumbent: heuristic });
    expect(index.log[1]!.reason).toContain('0.4200');
  });

  it('pin holds a version against promotion, rollback returns to the one before', async () => {
    const v1 = await addVersion(store, model(2), better);
    await promoteIfBetter(store, v1, better, heuristic);
    const v2 = await addVersion(store, model(3), better);
    await pinVersion(store, v2);
    const v3 = await addVersion(store, model(4), better);
    expect(await promoteIfBetter(store, v3, { ...better, costVsOnDemand: 0.1 }, better)).toEqual({
      promoted: false,
      reason: 'version 2 is pinned',
    });
    expect(await rollback(store)).toBe(1);
    expect((await readIndex(store)).pinned).toBeUndefined();
    expect(await rollback(store)).toBeUndefined(); // version 1 was promoted over the heuristic
    await expect(rollback(store)).rejects.toThrow('nothing to roll back');
    await expect(pinVersion(store, 9)).rejects.toThrow('version 9 is not in the store (versions: 1, 2, 3)');
  });

  it('rejects a model with a bad field, naming it', () => {
    const bad = model(1) as unknown as { params: { tuning: { guardMarginScale: number } } };
    bad.params.tuning.guardMarginScale = 0.5;
    expect(() => parsePolicyModel(bad, 'm.json')).toThrow(/params\.tuning\.guardMarginScale/);
  });
});
