import { maxOf } from '../../../src/util/array';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileArtifactStore, sha256Hex } from '../../../src/artifacts';
import { artifactKey } from '../../../src/artifacts/keys';
import {
  CheckpointCorruptError,
  CheckpointStoreConfigError,
  openCheckpointStore,
  type KvCheckpointStore,
} from '../../../src/checkpoint';

/** Values above the inline limit go to the artifact store; the KV keeps records that point to them. */
let dir: string;
let artifacts: FileArtifactStore;
const opened: KvCheckpointStore[] = [];
const LIMIT = 1024;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'spotdag-kv-artifacts-'));
  artifacts = new FileArtifactStore(path.join(dir, 'artifacts'));
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function open(options: { artifacts?: boolean; historyLimit?: number; log?: (m: string) => void } = {}) {
  const store = await openCheckpointStore(`sqlite:${path.join(dir, 'kv.db')}`, {
    artifactStore: options.artifacts === false ? null : artifacts,
    inlineLimitBytes: LIMIT,
    historyLimit: options.historyLimit,
    log: options.log ?? (() => {}),
  });
  opened.push(store);
  return store;
}

/** Every key and value size of a job in the KV. */
async function kvSizes(store: KvCheckpointStore, jobId: string): Promise<number[]> {
  const keys = await store.kv.list(store.layout.job(jobId));
  return Promise.all(keys.map(async (k) => (await store.kv.get(k))!.value.length));
}

const newJob = () => `job-${randomUUID()}`;

describe('checkpoint store with an artifact store', () => {
  it('keeps large states in the artifact store and only small records in the KV', async () => {
    const store = await open();
    const job = newJob();
    const token = await store.claimToken(job, 's');
    const small = Buffer.from('small state');
    const large = randomBytes(50 * LIMIT);
    await store.writeCheckpoint(job, 's', token, small);
    const descriptor = await store.writeCheckpoint(job, 's', token, large);
    expect(descriptor).toMatchObject({ seq: 2, digest: sha256Hex(large), bytes: large.length });
    expect(await store.chunkKeysOf(job, 's', 2)).toEqual([]);
    expect(await artifacts.has({ jobId: job, subTaskId: 's' }, descriptor.digest)).toBe(true);
    expect((await store.latestGood(job, 's'))!.state.equals(large)).toBe(true);
    expect(maxOf(await kvSizes(store, job))).toBeLessThanOrEqual(LIMIT);
  });

  it('marks a state whose artifact is damaged bad and rolls back to the previous one', async () => {
    const warnings: string[] = [];
    const store = await open({ log: (m) => warnings.push(m) });
    const job = newJob();
    const token = await store.claimToken(job, 's');
    const first = randomBytes(2 * LIMIT);
    await store.writeCheckpoint(job, 's', token, first);
    const second = await store.writeCheckpoint(job, 's', token, randomBytes(2 * LIMIT));
    writeFileSync(path.join(artifacts.root, artifactKey({ jobId: job, subTaskId: 's' }, second.digest)), 'x');
    expect((await store.latestGood(job, 's'))!.state.equals(first)).toBe(true);
    expect((await store.listCheckpoints(job, 's')).map((c) => c.good)).toEqual([true, false]);
    expect(warnings.join('\n')).toMatch(/checkpoint 2 .* corrupt \(artifact in file:.*: sha256 /);
  });

  it('deletes the artifacts of checkpoints that leave the history, unless a kept one shares them', async () => {
    const store = await open({ historyLimit: 2 });
    const job = newJob();
    const scope = { jobId: job, subTaskId: 's' };
    const token = await store.claimToken(job, 's');
    const archive = (text: string) => artifacts.putBytes(scope, Buffer.from(text));
    const a = await archive('archive a');
    const b = await archive('archive b');
    const large = randomBytes(3 * LIMIT);
    const diverted = await store.writeCheckpoint(job, 's', token, large);
    await store.writeCheckpoint(job, 's', token, Buffer.from('{"archive":"a"}'), { artifacts: [a] });
    await store.writeCheckpoint(job, 's', token, Buffer.from('{"archive":"b"}'), { artifacts: [b] });
    expect(await artifacts.has(scope, diverted.digest)).toBe(false); // left the history
    await store.writeCheckpoint(job, 's', token, Buffer.from('{"archive":"b again"}'), { artifacts: [b] });
    expect(await artifacts.has(scope, a.digest)).toBe(false);
    expect(await artifacts.has(scope, b.digest)).toBe(true); // the kept checkpoints still point to it
  });

  it('keeps large results and documents there too, checked on read, and cleans them up with the job', async () => {
    const store = await open();
    const job = newJob();
    const token = await store.claimToken(job, 's');
    const result = randomBytes(4 * LIMIT);
    const written = await store.writeResult(job, 's', token, result);
    expect(written.digest).toBe(sha256Hex(result));
    expect((await store.readResult(job, 's'))!.bytes.equals(result)).toBe(true);
    expect(await store.writeResult(job, 's', token, result)).toEqual(written); // idempotent
    const document = randomBytes(5 * LIMIT);
    const ref = await store.putDocument(job, document);
    expect(ref).toMatchObject({ inArtifacts: true, chunks: 0, bytes: document.length });
    expect((await store.readDocument(job, ref)).equals(document)).toBe(true);
    expect(maxOf(await kvSizes(store, job))).toBeLessThanOrEqual(LIMIT);

    writeFileSync(path.join(artifacts.root, artifactKey({ jobId: job }, written.digest)), 'tampered');
    await expect(store.readResult(job, 's')).rejects.toBeInstanceOf(CheckpointCorruptError);
    await store.cleanupJob(job);
    expect(await artifacts.has({ jobId: job }, ref.digest)).toBe(false);
    expect(await store.kv.list(store.layout.job(job))).toEqual([]);
  });

  it('says so when a value is in an artifact store this checkpoint store was not given', async () => {
    const job = newJob();
    const writer = await open();
    const token = await writer.claimToken(job, 's');
    await writer.writeResult(job, 's', token, randomBytes(2 * LIMIT));
    const reader = await open({ artifacts: false });
    await expect(reader.readResult(job, 's')).rejects.toBeInstanceOf(CheckpointStoreConfigError);
    await expect(reader.readResult(job, 's')).rejects.toThrow(/set SPOTDAG_ARTIFACT_STORE/);
  });
});
