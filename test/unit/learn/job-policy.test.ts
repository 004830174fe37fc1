import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openCheckpointStore } from '../../../src/checkpoint';
import type { CheckpointStore } from '../../../src/checkpoint/types';
import { jobPolicy } from '../../../src/learn/job-policy';
import { addVersion, pinVersion } from '../../../src/learn/registry';
import { testModel } from './helpers';

const model = testModel;

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
