import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openCheckpointStore } from '../../../src/checkpoint';
import type { CheckpointStore } from '../../../src/checkpoint/types';
import { jobPolicy } from '../../../src/learn/job-policy';
import { MODEL_FORMAT, type PolicyModel } from '../../../src/learn/model';
import { HEURISTIC_PARAMS } from '../../../src/learn/policy-space';
import { addVersion, pinVersion } from '../../../src/learn/registry';

const model = (cost: number): PolicyModel => ({
  format: MODEL_FORMAT,
  params: { ...structuredClone(HEURISTIC_PARAMS), rankMix: { ...HEURISTIC_PARAMS.rankMix, cost } },
  training: {
    seed: 1,
    generations: 0,
    population: 1,
    workflows: [],
    traceGroups: [],
    prices: 'p.csv',
    scenarios: 0,
    heuristicScore: 1,
    score: 1,
    curve: [],
    elapsedSeconds: 0,
  },
  createdAt: '2026-11-30T00:00:00.000Z',
});

describe('which policy a job runs', () => {
  let store: CheckpointStore;
  beforeEach(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spotdag-job-policy-'));
    store = await openCheckpointStore(`sqlite:${path.join(dir, 'c.db')}`, { artifactStore: null });
  });
  afterEach(() => store.close());

  it('the heuristic while no version is current, saying so when the job asked for the learned one', async () => {
    expect(await jobPolicy(store, {}, {})).toMatchObject({ version: 0, options: {} });
    const asked = await jobPolicy(store, { policy: 'learned' }, {});
    expect(asked.version).toBe(0);
    expect(asked.note).toContain('no learned version is current');
  });

  it('the current version at its first decision, and that version for the rest of the job', async () => {
    await pinVersion(store, await addVersion(store, model(3), undefined));
    const first = await jobPolicy(store, {}, {});
    expect(first).toMatchObject({ version: 1, note: 'policy: learned version 1' });
    expect(first.options.rankMix?.cost).toBe(3);
    // A newer version becomes current mid-job: the job keeps the one it started with.
    await pinVersion(store, await addVersion(store, model(5), undefined));
    const later = await jobPolicy(store, {}, { policyVersion: 1 });
    expect(later.version).toBe(1);
    expect(later.options.rankMix?.cost).toBe(3);
    expect(later.note).toBeUndefined();
    // A job that asked for the heuristic runs it whatever is current.
    expect(await jobPolicy(store, { policy: 'heuristic' }, {})).toMatchObject({ version: 0, options: {} });
    // One that started on the heuristic stays on it.
    expect((await jobPolicy(store, {}, { policyVersion: 0 })).version).toBe(0);
  });
});
