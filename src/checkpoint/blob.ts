import { createHash } from 'node:crypto';
import type { KvBackend } from './kv';
import type { SubTaskKeys } from './keys';
import type { BlobRef } from './records';

/** Chunk data of one checkpoint or result: written before the record that points to it. */

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A Buffer view of the caller's bytes, without copying. */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export function splitChunks(data: Buffer, chunkBytes: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += chunkBytes)
    chunks.push(data.subarray(offset, offset + chunkBytes));
  return chunks;
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
) {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Chunk puts in flight at once: enough to hide latency, few enough not to swamp the backend. */
const PARALLEL_CHUNKS = 4;

/** Writes the chunks; returns how many there are. */
export async function writeBlob(
  kv: KvBackend,
  keys: Pick<SubTaskKeys, 'chunk'>,
  blobId: string,
  data: Buffer,
  chunkBytes: number,
): Promise<number> {
  const chunks = splitChunks(data, chunkBytes);
  await mapLimit(chunks, PARALLEL_CHUNKS, (chunk, index) => kv.put(keys.chunk(blobId, index), chunk));
  return chunks.length;
}

export type BlobRead = { ok: true; data: Buffer } | { ok: false; reason: string };

/** Reads the chunks back and checks length and digest. */
export async function readBlob(
  kv: KvBackend,
  keys: Pick<SubTaskKeys, 'chunk'>,
  ref: BlobRef,
): Promise<BlobRead> {
  const indexes = Array.from({ length: ref.chunks }, (_, i) => i);
  const chunks = await mapLimit(indexes, PARALLEL_CHUNKS, (i) => kv.get(keys.chunk(ref.blob, i)));
  const missing = chunks.findIndex((chunk) => !chunk);
  if (missing >= 0) return { ok: false, reason: `chunk ${missing} of ${ref.chunks} is missing` };
  const data = Buffer.concat(chunks.map((chunk) => chunk!.value));
  if (data.length !== ref.bytes) return { ok: false, reason: `${data.length} bytes, expected ${ref.bytes}` };
  const digest = sha256(data);
  if (digest !== ref.digest) return { ok: false, reason: `sha256 ${digest}, expected ${ref.digest}` };
  return { ok: true, data };
}
