import { randomBytes, randomUUID } from 'node:crypto';
import {
  CheckpointCorruptError,
  CheckpointTooLargeError,
  FencedWriteError,
  ResultAlreadyWrittenError,
  type KvCheckpointStore,
  type KvCheckpointStoreOptions,
} from '../../../src/checkpoint';
import { maxOf, minOf } from '../../../src/util/array';

/**
 * The behaviour every checkpoint store backend must have, as one jest suite. `open` returns a new
 * store (its own client/connection) over the same backend data each time it is called, so tests
 * can race several clients against each other.
 */
export interface StoreFactory {
  open(options?: KvCheckpointStoreOptions): Promise<KvCheckpointStore>;
}

const MiB = 1024 * 1024;
const text = (s: string) => Buffer.from(s, 'utf8');

export function checkpointStoreContract(factory: () => StoreFactory): void {
  const opened: KvCheckpointStore[] = [];
  const open = async (options: KvCheckpointStoreOptions = {}) => {
    const store = await factory().open({ log: () => {}, ...options });
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });
  // Every test works in its own job, so backends can be shared across tests (and runs).
  const newJob = () => `job-${randomUUID()}`;

  describe('fencing tokens', () => {
    it('start at 1 and increase by one per claim', async () => {
      const store = await open();
      const job = newJob();
      expect(await store.currentToken(job, 'a/0')).toBe(0);
      expect(await store.claimToken(job, 'a/0')).toBe(1);
      expect(await store.claimToken(job, 'a/0')).toBe(2);
      expect(await store.currentToken(job, 'a/0')).toBe(2);
      expect(await store.claimToken(job, 'a/1')).toBe(1);
    });

    it('are distinct and increasing under many concurrent claims from several clients', async () => {
      const stores = await Promise.all(Array.from({ length: 4 }, () => open()));
      const job = newJob();
      const perClient = 10;
      // Each client claims in sequence (an attempt after an attempt) while all clients race, and one
      // client also fires a burst of parallel claims.
      const sequences = await Promise.all([
        ...stores.map(async (store) => {
          const seen: number[] = [];
          for (let i = 0; i < perClient; i++) seen.push(await store.claimToken(job, 's/0'));
          return seen;
        }),
        Promise.all(Array.from({ length: 20 }, () => stores[0]!.claimToken(job, 's/0'))),
      ]);
      for (const seen of sequences.slice(0, stores.length))
        for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
      const all = sequences.flat();
      expect(new Set(all).size).toBe(all.length);
      expect(minOf(all)).toBeGreaterThanOrEqual(1);
      expect(await stores[1]!.currentToken(job, 's/0')).toBe(maxOf(all));
    });
  });

  describe('checkpoints', () => {
    it('round-trip with seq, token, digest and size, and the latest good one wins', async () => {
      const store = await open();
      const job = newJob();
      const token = await store.claimToken(job, 'count/0002');
      const first = await store.writeCheckpoint(job, 'count/0002', token, text('one'));
      const second = await store.writeCheckpoint(job, 'count/0002', token, new Uint8Array([1, 2, 3]));
      expect(first).toMatchObject({ seq: 1, token, bytes: 3, good: true });
      expect(first.digest).toBe('7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed');
      expect(second.seq).toBe(2);
      const latest = await store.latestGood(job, 'count/0002');
      expect(latest?.descriptor).toEqual(second);
      expect([...latest!.state]).toEqual([1, 2, 3]);
      expect(await store.latestGood(job, 'other')).toBeUndefined();
    });

    it('accept an empty state and a Uint8Array view into a larger buffer', async () => {
      const store = await open();
      const job = newJob();
      const token = await store.claimToken(job, 's');
      await store.writeCheckpoint(job, 's', token, new Uint8Array(0));
      expect((await store.latestGood(job, 's'))!.state.length).toBe(0);
      const backing = new Uint8Array([9, 9, 4, 5, 6, 9]);
      await store.writeCheckpoint(job, 's', token, backing.subarray(2, 5));
      expect([...(await store.latestGood(job, 's'))!.state]).toEqual([4, 5, 6]);
    });

    it('refuse a stale or unclaimed token with FencedWriteError naming job, sub-task and tokens', async () => {
      const store = await open();
      const job = newJob();
      const old = await store.claimToken(job, 'a/0');
      await store.writeCheckpoint(job, 'a/0', old, text('old attempt'));
      const current = await store.claimToken(job, 'a/0');
      const stale = store.writeCheckpoint(job, 'a/0', old, text('zombie'));
      await expect(stale).rejects.toBeInstanceOf(FencedWriteError);
      await expect(stale).rejects.toMatchObject({
        jobId: job,
        subTaskId: 'a/0',
        token: old,
        currentToken: current,
      });
      await expect(stale).rejects.toThrow(new RegExp(`job ${job} sub-task a/0: token ${old} is stale`));
      await expect(store.writeCheckpoint(job, 'a/0', current + 1, text('x'))).rejects.toMatchObject({
        name: 'FencedWriteError',
        currentToken: current,
      });
      await store.writeCheckpoint(job, 'a/0', current, text('new attempt'));
      expect((await store.latestGood(job, 'a/0'))!.state.toString()).toBe('new attempt');
      // The refused writes left no chunks behind.
      expect(await store.kv.list(store.layout.subTask(job, 'a/0').blobs)).toHaveLength(2);
    });

    it('refuse a write that races a newer claim from another client', async () => {
      const [a, b] = await Promise.all([open(), open()]);
      const job = newJob();
      const token = await a.claimToken(job, 's');
      // The writer passes its early token check, then a newer attempt claims before it commits.
      const racing = await open({
        hooks: { afterChunksWritten: async () => void (await b.claimToken(job, 's')) },
      });
      await expect(racing.writeCheckpoint(job, 's', token, text('late'))).rejects.toBeInstanceOf(
        FencedWriteError,
      );
      expect(await a.latestGood(job, 's')).toBeUndefined();
    });

    it('stay invisible until completely written: chunks without a head are never read', async () => {
      const store = await open();
      const job = newJob();
      const token = await store.claimToken(job, 's');
      await store.writeCheckpoint(job, 's', token, text('complete'));
      const crash = new Error('killed between chunks and head');
      const crashing = await open({
        chunkBytes: 4,
        hooks: { afterChunksWritten: () => Promise.reject(crash) },
      });
      await expect(crashing.writeCheckpoint(job, 's', token, text('half written state'))).rejects.toBe(crash);
      const keys = store.layout.subTask(job, 's');
      expect((await store.kv.list(keys.blobs)).length).toBeGreaterThan(1); // the orphaned chunks exist
      const latest = await store.latestGood(job, 's');
      expect(latest?.state.toString()).toBe('complete');
      expect(latest?.descriptor.seq).toBe(1);
      // The next attempt's claim collects what the killed attempt left.
      await store.claimToken(job, 's');
      expect(await store.kv.list(keys.blobs)).toEqual(await store.chunkKeysOf(job, 's', 1));
    });

    it('give distinct seqs to concurrent writes of one attempt', async () => {
      const store = await open({ historyLimit: 20 });
      const job = newJob();
      const token = await store.claimToken(job, 's');
      const written = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.writeCheckpoint(job, 's', token, text(`state ${i}`))),
      );
      expect(written.map((d) => d.seq).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const latest = await store.latestGood(job, 's');
      expect(latest!.descriptor.seq).toBe(10);
      expect(latest!.state.toString()).toBe(`state ${written.findIndex((d) => d.seq === 10)}`);
    });

    it('roll back past checkpoints marked bad', async () => {
      const store = await open();
      const job = newJob();
      const token = await store.claimToken(job, 's');
      for (const s of ['one', 'two', 'three']) await store.writeCheckpoint(job, 's', token, text(s));
      expect(await store.markBad(job, 's', 3)).toBe(true);
      expect((await store.latestGood(job, 's'))!.state.toString()).toBe('two');
      expect(await store.markBad(job, 's', 2)).toBe(true);
      expect(await store.markBad(job, 's', 2)).toBe(true);
      expect(await store.latestGood(job, 's')).toMatchObject({ descriptor: { seq: 1, good: true } });
      expect(await store.markBad(job, 's', 99)).toBe(false);
      expect((await store.listCheckpoints(job, 's')).map((d) => d.good)).toEqual([true, false, false]);
      expect((await store.writeCheckpoint(job, 's', token, text('four'))).seq).toBe(4);
      await store.markBad(job, 's', 1);
      await store.markBad(job, 's', 4);
      expect(await store.latestGood(job, 's')).toBeUndefined();
    });

    it('verify digests: a corrupt or incomplete checkpoint is marked bad and skipped', async () => {
      const warnings: string[] = [];
      const store = await open({ chunkBytes: 8, log: (m) => warnings.push(m) });
      const job = newJob();
      const token = await store.claimToken(job, 's');
      await store.writeCheckpoint(job, 's', token, text('good old state'));
      await store.writeCheckpoint(job, 's', token, text('state that gets damaged'));
      await store.writeCheckpoint(job, 's', token, text('state that loses a chunk'));
      const [damaged] = await store.chunkKeysOf(job, 's', 2);
      await store.kv.put(damaged!, text('garbage!'));
      const lost = await store.chunkKeysOf(job, 's', 3);
      await store.kv.delete(lost[lost.length - 1]!);
      const latest = await store.latestGood(job, 's');
      expect(latest?.descriptor.seq).toBe(1);
      expect(latest?.state.toString()).toBe('good old state');
      expect((await store.listCheckpoints(job, 's')).map((d) => d.good)).toEqual([true, false, false]);
      expect(warnings.join('\n')).toMatch(/checkpoint 3 .* corrupt \(chunk 2 of 3 is missing\)/);
      expect(warnings.join('\n')).toMatch(/checkpoint 2 .* corrupt \(sha256 /);
    });

    it('chunk a state of several MB transparently', async () => {
      const store = await open();
      const job = newJob();
      const token = await store.claimToken(job, 's');
      const state = randomBytes(2.5 * MiB);
      const descriptor = await store.writeCheckpoint(job, 's', token, state);
      expect(descriptor.bytes).toBe(state.length);
      const chunks = await store.chunkKeysOf(job, 's', descriptor.seq);
      expect(chunks.length).toBe(Math.ceil(state.length / store.chunkBytes));
      expect(chunks.length).toBeGreaterThanOrEqual(3);
      expect((await store.latestGood(job, 's'))!.state.equals(state)).toBe(true);
    });

    it('refuse a state above the limit with CheckpointTooLargeError before writing anything', async () => {
      const store = await open();
      expect(store.maxBytes).toBe(64 * MiB);
      const job = newJob();
      const token = await store.claimToken(job, 's');
      const tooLarge = store.writeCheckpoint(job, 's', token, Buffer.alloc(64 * MiB + 1));
      await expect(tooLarge).rejects.toBeInstanceOf(CheckpointTooLargeError);
      await expect(tooLarge).rejects.toMatchObject({ bytes: 64 * MiB + 1, limit: 64 * MiB });
      const small = await open({ maxBytes: 1000 });
      await expect(small.writeCheckpoint(job, 's', token, Buffer.alloc(1001))).rejects.toThrow(
        /1001 bytes, above the limit of 1000 bytes/,
      );
      await expect(small.writeResult(job, 's', token, Buffer.alloc(1001))).rejects.toBeInstanceOf(
        CheckpointTooLargeError,
      );
      expect(await store.kv.list(store.layout.subTask(job, 's').blobs)).toEqual([]);
    });

    it('keep a bounded history and delete older checkpoints with their chunks', async () => {
      const store = await open({ historyLimit: 3, chunkBytes: 4 });
      const job = newJob();
      const token = await store.claimToken(job, 's');
      for (let i = 1; i <= 6; i++) await store.writeCheckpoint(job, 's', token, text(`state number ${i}`));
      expect((await store.listCheckpoints(job, 's')).map((d) => d.seq)).toEqual([4, 5, 6]);
      const kept = (await Promise.all([4, 5, 6].map((seq) => store.chunkKeysOf(job, 's', seq)))).flat();
      expect((await store.kv.list(store.layout.subTask(job, 's').blobs)).sort()).toEqual(kept.sort());
      expect((await open()).historyLimit).toBe(5);
    });
  });

  describe('results', () => {
    it('are written once; identical bytes again are idempotent, different bytes refused', async () => {
      const store = await open();
      const job = newJob();
      const first = await store.claimToken(job, 's');
      expect(await store.readResult(job, 's')).toBeUndefined();
      const written = await store.writeResult(job, 's', first, text('42'));
      expect(written).toMatchObject({ token: first, bytes: 2 });
      const second = await store.claimToken(job, 's');
      expect(await store.writeResult(job, 's', second, text('42'))).toEqual(written);
      const different = store.writeResult(job, 's', second, text('43'));
      await expect(different).rejects.toBeInstanceOf(ResultAlreadyWrittenError);
      await expect(different).rejects.toMatchObject({
        jobId: job,
        subTaskId: 's',
        existingDigest: written.digest,
      });
      const read = await store.readResult(job, 's');
      expect(read?.bytes.toString()).toBe('42');
      expect(read?.descriptor).toEqual(written);
      // Only the first result's chunks remain.
      expect(await store.kv.list(store.layout.subTask(job, 's').blobs)).toHaveLength(1);
    });

    it('are fenced, and only one of racing writers wins', async () => {
      const stores = await Promise.all([open(), open(), open()]);
      const job = newJob();
      const old = await stores[0]!.claimToken(job, 's');
      const token = await stores[0]!.claimToken(job, 's');
      await expect(stores[0]!.writeResult(job, 's', old, text('zombie'))).rejects.toBeInstanceOf(
        FencedWriteError,
      );
      const outcomes = await Promise.allSettled(
        stores.map((store, i) => store.writeResult(job, 's', token, text(`result ${i}`))),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of outcomes)
        if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ResultAlreadyWrittenError);
    });

    it('are large-capable and verified on read', async () => {
      const store = await open();
      const job = newJob();
      const token = await store.claimToken(job, 's');
      const bytes = randomBytes(2.2 * MiB);
      await store.writeResult(job, 's', token, bytes);
      expect((await store.readResult(job, 's'))!.bytes.equals(bytes)).toBe(true);
      const [chunk] = await store.kv.list(store.layout.subTask(job, 's').blobs);
      await store.kv.put(chunk!, text('tampered'));
      await expect(store.readResult(job, 's')).rejects.toBeInstanceOf(CheckpointCorruptError);
    });
  });

  describe('job documents', () => {
    it('are chunked, read back by reference, checked, and not listed as sub-tasks', async () => {
      const store = await open({ chunkBytes: 1024 });
      const job = newJob();
      const data = Buffer.alloc(10_000, 7);
      const ref = await store.putDocument(job, data);
      expect(ref).toMatchObject({ chunks: 10, bytes: 10_000 });
      expect(await store.readDocument(job, ref)).toEqual(data);
      const other = await store.putDocument(job, text('another'));
      expect(other.blob).not.toBe(ref.blob);
      expect((await store.readDocument(job, other)).toString()).toBe('another');
      expect(await store.listSubTaskStates(job)).toEqual([]);
      await expect(store.readDocument(job, { ...ref, digest: '0'.repeat(64) })).rejects.toBeInstanceOf(
        CheckpointCorruptError,
      );
      await store.cleanupJob(job);
      await expect(store.readDocument(job, ref)).rejects.toBeInstanceOf(CheckpointCorruptError);
    });
  });

  describe('records', () => {
    it('are written by compare-and-swap on their version and outlive job cleanup', async () => {
      const store = await open();
      const name = `market/${newJob()}`;
      expect(await store.readRecord(name)).toBeUndefined();
      expect(await store.writeRecord(name, text('v1'), undefined)).toBe(true);
      expect(await store.writeRecord(name, text('again'), undefined)).toBe(false);
      const first = (await store.readRecord(name))!;
      expect(first.bytes.toString()).toBe('v1');
      expect(await store.writeRecord(name, text('v2'), first.version)).toBe(true);
      // A writer that read before v2 loses: nothing it computed from v1 overwrites v2.
      expect(await store.writeRecord(name, text('stale'), first.version)).toBe(false);
      const job = newJob();
      await store.cleanupJob(job);
      expect((await store.readRecord(name))!.bytes.toString()).toBe('v2');
    });
  });

  describe('jobs', () => {
    it('list sub-task states: tokens, checkpoints, results', async () => {
      const store = await open();
      const job = newJob();
      const ids = ['count/0001', 'count/0000', 'sum/Ünïcode ✓'];
      const t0 = await store.claimToken(job, ids[1]!);
      await store.writeCheckpoint(job, ids[1]!, t0, text('a'));
      await store.writeCheckpoint(job, ids[1]!, t0, text('b'));
      await store.markBad(job, ids[1]!, 2);
      await store.writeResult(job, ids[1]!, t0, text('done'));
      await store.claimToken(job, ids[0]!);
      await store.claimToken(job, ids[0]!);
      await store.claimToken(job, ids[2]!);
      const states = await store.listSubTaskStates(job);
      expect(states.map((s) => s.subTaskId)).toEqual([...ids].sort());
      expect(states[0]).toMatchObject({
        subTaskId: 'count/0000',
        token: 1,
        checkpoints: 2,
        latestSeq: 2,
        latestGoodSeq: 1,
      });
      expect(states[0]!.result).toMatchObject({ token: 1, bytes: 4 });
      expect(states[1]).toEqual({ subTaskId: 'count/0001', token: 2, checkpoints: 0 });
      expect(states[2]!.subTaskId).toBe('sum/Ünïcode ✓');
      expect(await store.listSubTaskStates(newJob())).toEqual([]);
    });

    it('clean up one job completely and leave other jobs alone', async () => {
      const store = await open({ chunkBytes: 4 });
      const [job, other] = [newJob(), newJob()];
      for (const j of [job, other]) {
        const token = await store.claimToken(j, 's');
        await store.writeCheckpoint(j, 's', token, text('some state'));
        await store.writeResult(j, 's', token, text('result'));
      }
      await store.markJobFinished(job);
      await store.cleanupJob(job);
      expect(await store.kv.list(store.layout.job(job))).toEqual([]);
      expect(await store.kv.get(store.layout.finished(job))).toBeUndefined();
      expect(await store.listSubTaskStates(job)).toEqual([]);
      expect((await store.readResult(other, 's'))!.bytes.toString()).toBe('result');
      await store.cleanupJob(other);
    });

    it('clean up finished jobs past the retention period', async () => {
      const store = await open();
      const prefix = `retention-${randomUUID()}`;
      const scoped = await open({ prefix });
      const [oldJob, recentJob, runningJob] = ['old', 'recent', 'running'];
      for (const j of [oldJob, recentJob, runningJob]) await scoped.claimToken(j, 's');
      await scoped.markJobFinished(oldJob, 1_000);
      await scoped.markJobFinished(recentJob, 9_000);
      expect(await scoped.cleanupFinishedJobs({ olderThanMs: 5_000, nowMs: 10_000 })).toEqual([oldJob]);
      expect(await scoped.currentToken(oldJob, 's')).toBe(0);
      expect(await scoped.currentToken(recentJob, 's')).toBe(1);
      expect(await scoped.currentToken(runningJob, 's')).toBe(1);
      expect(await scoped.cleanupFinishedJobs({ olderThanMs: 0, nowMs: 10_000 })).toEqual([recentJob]);
      await scoped.cleanupJob(runningJob);
      expect(await store.kv.list(`${prefix}/`)).toEqual([]);
    });
  });
}
