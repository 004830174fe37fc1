import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { checkRef, HashingStream, sha256Hex } from './digest';
import { ArtifactDigestMismatchError, ArtifactNotFoundError } from './errors';
import { artifactKey, jobPrefix } from './keys';
import type { ArtifactRef, ArtifactScope, ArtifactStore } from './types';

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Artifacts as files below a directory: the embedded default for the local fleet, whose instances
 * share the machine's disk. A write goes to a temporary file first and is hard-linked into place,
 * which fails if the name exists: an artifact, once there, is never replaced.
 */
export class FileArtifactStore implements ArtifactStore {
  readonly kind = 'file' as const;
  readonly url: string;
  private readonly tmp: string;

  constructor(readonly root: string) {
    this.root = path.resolve(root);
    this.url = `file://${this.root}`;
    this.tmp = path.join(this.root, '.tmp');
  }

  private file(scope: ArtifactScope, digest: string): string {
    return path.join(this.root, artifactKey(scope, digest));
  }

  private async tempFile(): Promise<string> {
    await mkdir(this.tmp, { recursive: true });
    return path.join(this.tmp, randomBytes(8).toString('hex'));
  }

  /** Moves a complete temporary file into place, unless the artifact is already there. */
  private async publish(temp: string, dest: string): Promise<void> {
    await mkdir(path.dirname(dest), { recursive: true });
    try {
      await link(temp, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await unlink(temp).catch(() => {});
    }
  }

  async putBytes(scope: ArtifactScope, data: Uint8Array, expected?: string): Promise<ArtifactRef> {
    const ref = { digest: sha256Hex(data), bytes: data.length };
    if (expected !== undefined && expected !== ref.digest)
      throw new ArtifactDigestMismatchError('bytes to store', expected, ref.digest);
    const dest = this.file(scope, ref.digest);
    if (await this.exists(dest)) return ref;
    const temp = await this.tempFile();
    await writeFile(temp, data);
    await this.publish(temp, dest);
    return ref;
  }

  async putFile(scope: ArtifactScope, file: string, expected?: string): Promise<ArtifactRef> {
    // One pass: copy while hashing, then name the copy by its digest.
    const temp = await this.tempFile();
    const hashing = new HashingStream();
    try {
      await pipeline(createReadStream(file), hashing, createWriteStream(temp));
      const ref = hashing.ref();
      if (expected !== undefined && expected !== ref.digest)
        throw new ArtifactDigestMismatchError(file, expected, ref.digest);
      await this.publish(temp, this.file(scope, ref.digest));
      return ref;
    } finally {
      await rm(temp, { force: true });
    }
  }

  async getBytes(scope: ArtifactScope, ref: ArtifactRef): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await readFile(this.file(scope, ref.digest));
    } catch (err) {
      if (isMissing(err)) throw new ArtifactNotFoundError(this.url, ref.digest);
      throw err;
    }
    checkRef(`artifact in ${this.url}`, ref, { digest: sha256Hex(data), bytes: data.length });
    return data;
  }

  async getFile(scope: ArtifactScope, ref: ArtifactRef, dest: string): Promise<void> {
    const source = this.file(scope, ref.digest);
    const temp = `${dest}.part-${randomBytes(4).toString('hex')}`;
    const hashing = new HashingStream();
    await mkdir(path.dirname(dest), { recursive: true });
    try {
      await pipeline(createReadStream(source), hashing, createWriteStream(temp));
      checkRef(`artifact in ${this.url}`, ref, hashing.ref());
      await rename(temp, dest);
    } catch (err) {
      await rm(temp, { force: true });
      if (isMissing(err)) throw new ArtifactNotFoundError(this.url, ref.digest);
      throw err;
    }
  }

  async has(scope: ArtifactScope, digest: string): Promise<boolean> {
    return this.exists(this.file(scope, digest));
  }

  async delete(scope: ArtifactScope, digest: string): Promise<void> {
    await rm(this.file(scope, digest), { force: true });
  }

  async cleanupJob(jobId: string): Promise<void> {
    await rm(path.join(this.root, jobPrefix(jobId)), { recursive: true, force: true });
  }

  async close(): Promise<void> {}

  private async exists(file: string): Promise<boolean> {
    try {
      await stat(file);
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }
}
