import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openCheckpointStore, SqliteKv, type KvCheckpointStore } from '../../../src/checkpoint';
import { checkpointStoreContract } from './contract';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'spotdag-checkpoints-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sqlite checkpoint store (contract)', () => {
  // One file shared by every store the contract opens: several connections, like several processes.
  // Everything in the KV (no artifact store): the contract checks chunks (artifacts.test.ts the rest).
  checkpointStoreContract(() => ({
    open: async (options) =>
      openCheckpointStore(`sqlite:${path.join(dir, 'contract.db')}`, { artifactStore: null, ...options }),
  }));
});

describe('sqlite checkpoint store', () => {
  it('uses WAL mode and keeps checkpoints across reopening the file', async () => {
    const file = path.join(dir, 'nested', 'reopen.db');
    const first = await openCheckpointStore(`sqlite:${file}`);
    expect(first.kind).toBe('sqlite');
    const token = await first.claimToken('job', 's');
    await first.writeCheckpoint('job', 's', token, Buffer.from('persisted'));
    await first.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    const second = await openCheckpointStore(`sqlite://${file}`);
    expect((await second.latestGood('job', 's'))!.state.toString()).toBe('persisted');
    expect(await second.claimToken('job', 's')).toBe(token + 1);
    await second.close();
  });

  it('runs in memory with sqlite::memory:', async () => {
    const store: KvCheckpointStore = await openCheckpointStore('sqlite::memory:');
    const token = await store.claimToken('job', 's');
    await store.writeResult('job', 's', token, Buffer.from('r'));
    expect((await store.readResult('job', 's'))!.bytes.toString()).toBe('r');
    await store.close();
  });

  it('never reuses a version after a key is deleted and written again', async () => {
    const kv = new SqliteKv(':memory:');
    await kv.put('k', Buffer.from('1'));
    const before = (await kv.get('k'))!.version;
    await kv.delete('k');
    await kv.put('k', Buffer.from('1'));
    expect((await kv.get('k'))!.version).not.toBe(before);
    expect(await kv.commit([{ key: 'k', version: before }], [{ key: 'k', value: Buffer.from('2') }])).toBe(
      false,
    );
    await kv.close();
  });
});
