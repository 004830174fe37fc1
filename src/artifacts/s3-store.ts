import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { checkRef, fileRef, HashingStream, sha256Hex } from './digest';
import { ArtifactDigestMismatchError, ArtifactError, ArtifactNotFoundError } from './errors';
import { artifactKey, jobPrefix } from './keys';
import type { ArtifactRef, ArtifactScope, ArtifactStore } from './types';

/** S3's smallest part is 5 MiB; 8 MiB parts keep a 10,000-part upload above 78 GiB. */
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

export interface S3ArtifactStoreSettings {
  bucket: string;
  /** Key prefix, '' or ending with '/'. */
  prefix: string;
  /** The URL the store was opened with, for messages. */
  url: string;
  client?: S3Client;
  /** Client settings when no client is given (region, endpoint, credentials from the default chain). */
  clientConfig?: S3ClientConfig;
  /** Files larger than this go up in parts of this size, several at once (default 8 MiB). */
  partBytes?: number;
}

const notFound = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
};

/** S3 carries a SHA-256 checksum as base64; the store names content by hex. */
const base64Of = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

/**
 * Artifacts in an S3 bucket (or an S3-compatible endpoint). Uploads carry SHA-256 checksums that
 * S3 verifies (one for a single PUT, one per part of a multipart upload); files are streamed and
 * hashed on the way, and an upload whose bytes are not what was hashed before is deleted and
 * refused. Downloads are hashed and checked too. Content already present is not uploaded again.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly kind = 's3' as const;
  readonly url: string;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partBytes: number;
  private readonly ownsClient: boolean;

  constructor(settings: S3ArtifactStoreSettings) {
    this.bucket = settings.bucket;
    this.prefix = settings.prefix;
    this.url = settings.url;
    this.partBytes = Math.max(5 * 1024 * 1024, settings.partBytes ?? DEFAULT_PART_BYTES);
    this.ownsClient = !settings.client;
    this.client = settings.client ?? new S3Client(settings.clientConfig ?? {});
  }

  private key(scope: ArtifactScope, digest: string): string {
    return `${this.prefix}${artifactKey(scope, digest)}`;
  }

  async putBytes(scope: ArtifactScope, data: Uint8Array, expected?: string): Promise<ArtifactRef> {
    const ref = { digest: sha256Hex(data), bytes: data.length };
    if (expected !== undefined && expected !== ref.digest)
      throw new ArtifactDigestMismatchError('bytes to store', expected, ref.digest);
    if (await this.has(scope, ref.digest)) return ref;
    if (data.length <= this.partBytes) {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key(scope, ref.digest),
          Body: data,
          ChecksumSHA256: base64Of(ref.digest),
        }),
      );
      return ref;
    }
    await this.upload(this.key(scope, ref.digest), Readable.from([Buffer.from(data)]));
    return ref;
  }

  async putFile(scope: ArtifactScope, file: string, expected?: string): Promise<ArtifactRef> {
    const ref = await fileRef(file);
    if (expected !== undefined && expected !== ref.digest)
      throw new ArtifactDigestMismatchError(file, expected, ref.digest);
    if (await this.has(scope, ref.digest)) return ref;
    const key = this.key(scope, ref.digest);
    if (ref.bytes <= this.partBytes) {
      // One PUT whose checksum S3 checks: a file changed since it was hashed is refused.
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: createReadStream(file),
          ContentLength: ref.bytes,
          ChecksumSHA256: base64Of(ref.digest),
        }),
      );
      return ref;
    }
    const hashing = new HashingStream();
    const body = createReadStream(file).pipe(hashing);
    await this.upload(key, body);
    const sent = hashing.ref();
    if (sent.digest !== ref.digest || sent.bytes !== ref.bytes) {
      await this.deleteKey(key);
      throw new ArtifactDigestMismatchError(`${file} (changed while it was uploaded)`, ref.digest, sent.digest);
    }
    return ref;
  }

  /** A multipart upload, parts in parallel, each with a SHA-256 checksum S3 verifies. */
  private async upload(key: string, body: Readable): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ChecksumAlgorithm: 'SHA256' },
      partSize: this.partBytes,
      queueSize: 4,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async getBytes(scope: ArtifactScope, ref: ArtifactRef): Promise<Buffer> {
    const body = await this.body(scope, ref);
    const data = Buffer.from(await body.transformToByteArray());
    checkRef(`artifact in ${this.url}`, ref, { digest: sha256Hex(data), bytes: data.length });
    return data;
  }

  async getFile(scope: ArtifactScope, ref: ArtifactRef, dest: string): Promise<void> {
    const body = await this.body(scope, ref);
    const temp = `${dest}.part-${randomBytes(4).toString('hex')}`;
    const hashing = new HashingStream();
    await mkdir(path.dirname(dest), { recursive: true });
    try {
      await pipeline(body as Readable, hashing, createWriteStream(temp));
      checkRef(`artifact in ${this.url}`, ref, hashing.ref());
      await rename(temp, dest);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  private async body(scope: ArtifactScope, ref: ArtifactRef) {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(scope, ref.digest) }),
      );
      if (!response.Body) throw new ArtifactError(`artifact ${ref.digest} in ${this.url} has no body`);
      return response.Body;
    } catch (err) {
      if (notFound(err)) throw new ArtifactNotFoundError(this.url, ref.digest);
      throw err;
    }
  }

  async has(scope: ArtifactScope, digest: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(scope, digest) }));
      return true;
    } catch (err) {
      if (notFound(err)) return false;
      throw err;
    }
  }

  async delete(scope: ArtifactScope, digest: string): Promise<void> {
    await this.deleteKey(this.key(scope, digest));
  }

  private async deleteKey(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async cleanupJob(jobId: string): Promise<void> {
    const prefix = `${this.prefix}${jobPrefix(jobId)}`;
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length > 0)
        await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }),
        );
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}
