import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { ArtifactDigestMismatchError } from './errors';
import type { ArtifactRef } from './types';

const DIGEST_RE = /^[0-9a-f]{64}$/;

export function isDigest(text: string): boolean {
  return DIGEST_RE.test(text);
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 and size of a file, streamed. */
export async function fileRef(file: string): Promise<ArtifactRef> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { digest: hash.digest('hex'), bytes };
}

/** A pass-through stream that hashes and counts what flows through it. */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  /** Call once, after the stream has ended. */
  ref(): ArtifactRef {
    return { digest: this.hash.digest('hex'), bytes: this.bytes };
  }
}

/** Throws unless `actual` is what `expected` names. */
export function checkRef(what: string, expected: ArtifactRef, actual: ArtifactRef): void {
  if (actual.digest !== expected.digest)
    throw new ArtifactDigestMismatchError(what, expected.digest, actual.digest);
  if (actual.bytes !== expected.bytes)
    throw new ArtifactDigestMismatchError(
      `${what} (${actual.bytes} bytes, expected ${expected.bytes})`,
      expected.digest,
      actual.digest,
    );
}
