import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileArtifactStore, type ArtifactRef, type ArtifactScope } from '../../../src/artifacts';
import { ArtifactCache } from '../../../src/command/cache';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'spotdag-cache-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A file store that counts downloads. */
class CountingStore extends FileArtifactStore {
  downloads = 0;
  override async getFile(scope: ArtifactScope, ref: ArtifactRef, dest: string): Promise<void> {
    this.downloads++;
    await new Promise((r) => setTimeout(r, 20));
    return super.getFile(scope, ref, dest);
  }
}

describe('an instance’s artifact cache', () => {
  it('fetches an artifact once, shares a download in flight, and says what each request moved', async () => {
    const store = new CountingStore(path.join(dir, 'store'));
    const scope = { jobId: 'j' };
    const ref = await store.putBytes(scope, Buffer.alloc(5000, 1));
    const cache = new ArtifactCache(path.join(dir, 'cache'), store);
    const [a, b] = await Promise.all([cache.fetch(scope, ref), cache.fetch(scope, ref)]);
    expect(store.downloads).toBe(1);
    expect([a.fetchedBytes, b.fetchedBytes].sort()).toEqual([0, 5000]);
    const staged = await cache.stage(scope, ref, path.join(dir, 'run', 'input', 'x.bin'));
    expect(staged).toMatchObject({ bytes: 5000, fetchedBytes: 0, seconds: 0 });
    expect(readFileSync(path.join(dir, 'run', 'input', 'x.bin')).equals(Buffer.alloc(5000, 1))).toBe(true);
    expect(store.downloads).toBe(1);
    // A worker started later on the same folder finds it.
    const again = new ArtifactCache(path.join(dir, 'cache'), store);
    expect((await again.fetch(scope, ref)).fetchedBytes).toBe(0);
  });

  it('evicts the least recently used artifacts past its limit', async () => {
    const store = new CountingStore(path.join(dir, 'store'));
    const scope = { jobId: 'j' };
    const refs = await Promise.all([1, 2, 3].map((n) => store.putBytes(scope, Buffer.alloc(1000, n))));
    const cache = new ArtifactCache(path.join(dir, 'cache'), store, 2500);
    for (const ref of refs) await cache.fetch(scope, ref);
    expect(existsSync(path.join(dir, 'cache', refs[0]!.digest))).toBe(false);
    expect(existsSync(path.join(dir, 'cache', refs[2]!.digest))).toBe(true);
    expect((await cache.fetch(scope, refs[0]!)).fetchedBytes).toBe(1000);
  });
});
