import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ArtifactDigestMismatchError,
  ArtifactNotFoundError,
  sha256Hex,
  type ArtifactScope,
  type ArtifactStore,
} from '../../../src/artifacts';

/** One backend under test, with the backdoors the contract needs. */
export interface ArtifactStoreUnderTest {
  store: ArtifactStore;
  /** Replaces an artifact's stored bytes behind the store's back. */
  tamper(scope: ArtifactScope, digest: string, bytes: Buffer): Promise<void>;
  /** Every object kept for the job (keys relative to the store's root). */
  keys(jobId: string): Promise<string[]>;
}

/** The behaviour every artifact store backend must have, as one jest suite. */
export function artifactStoreContract(factory: () => ArtifactStoreUnderTest): void {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'spotdag-artifacts-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const newJob = () => `job-${randomUUID()}`;

  it('stores bytes under their sha256 and reads them back checked', async () => {
    const { store, keys } = factory();
    const job = newJob();
    const data = Buffer.from('hello artifacts');
    const ref = await store.putBytes({ jobId: job }, data);
    expect(ref).toEqual({ digest: sha256Hex(data), bytes: data.length });
    expect(await store.has({ jobId: job }, ref.digest)).toBe(true);
    expect(await store.getBytes({ jobId: job }, ref)).toEqual(data);
    expect(await keys(job)).toEqual([`jobs/${job}/sha256/${ref.digest}`]);
  });

  it('writes once: the same content again is the same artifact, not a second copy', async () => {
    const { store, keys } = factory();
    const job = newJob();
    const file = path.join(dir, 'same.txt');
    writeFileSync(file, 'same content');
    const first = await store.putBytes({ jobId: job }, Buffer.from('same content'));
    const again = await store.putFile({ jobId: job }, file);
    const third = await store.putBytes({ jobId: job }, Buffer.from('same content'), first.digest);
    expect(again).toEqual(first);
    expect(third).toEqual(first);
    expect(await keys(job)).toHaveLength(1);
  });

  it('rejects bytes that do not match the digest they are stored under, storing nothing', async () => {
    const { store, keys } = factory();
    const job = newJob();
    const wrong = sha256Hex(Buffer.from('something else'));
    await expect(store.putBytes({ jobId: job }, Buffer.from('data'), wrong)).rejects.toBeInstanceOf(
      ArtifactDigestMismatchError,
    );
    const file = path.join(dir, 'data.txt');
    writeFileSync(file, 'data');
    await expect(store.putFile({ jobId: job }, file, wrong)).rejects.toBeInstanceOf(ArtifactDigestMismatchError);
    expect(await keys(job)).toEqual([]);
  });

  it('streams files both ways and refuses damaged content on read', async () => {
    const { store, tamper } = factory();
    const job = newJob();
    const scope = { jobId: job, subTaskId: 'work/0001' };
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const file = path.join(dir, 'big.bin');
    writeFileSync(file, data);
    const ref = await store.putFile(scope, file);
    expect(ref).toEqual({ digest: sha256Hex(data), bytes: data.length });
    const dest = path.join(dir, 'out', 'big.copy');
    await store.getFile(scope, ref, dest);
    expect(readFileSync(dest).equals(data)).toBe(true);

    await tamper(scope, ref.digest, Buffer.from('damaged'));
    await expect(store.getBytes(scope, ref)).rejects.toBeInstanceOf(ArtifactDigestMismatchError);
    const damagedDest = path.join(dir, 'out', 'damaged.copy');
    await expect(store.getFile(scope, ref, damagedDest)).rejects.toBeInstanceOf(ArtifactDigestMismatchError);
    expect(existsSync(damagedDest)).toBe(false);
  });

  it('says which artifact is missing', async () => {
    const { store } = factory();
    const ref = { digest: sha256Hex(Buffer.from('never stored')), bytes: 12 };
    await expect(store.getBytes({ jobId: newJob() }, ref)).rejects.toBeInstanceOf(ArtifactNotFoundError);
    await expect(store.getFile({ jobId: newJob() }, ref, path.join(dir, 'missing'))).rejects.toThrow(
      ref.digest,
    );
  });

  it('keeps scopes apart, deletes one artifact, and cleans up one job completely', async () => {
    const { store, keys } = factory();
    const job = newJob();
    const other = newJob();
    const a = await store.putBytes({ jobId: job }, Buffer.from('a'));
    const b = await store.putBytes({ jobId: job, subTaskId: 's' }, Buffer.from('b'));
    await store.putBytes({ jobId: other }, Buffer.from('a'));
    expect(await store.has({ jobId: job, subTaskId: 's' }, a.digest)).toBe(false);
    expect(await store.has({ jobId: job, subTaskId: 's' }, b.digest)).toBe(true);
    await store.delete({ jobId: job, subTaskId: 's' }, b.digest);
    expect(await store.has({ jobId: job, subTaskId: 's' }, b.digest)).toBe(false);
    await store.putBytes({ jobId: job, subTaskId: 's' }, Buffer.from('b'));
    await store.cleanupJob(job);
    expect(await keys(job)).toEqual([]);
    expect(await keys(other)).toHaveLength(1);
  });
}
