import { z } from 'zod';

/**
 * The small JSON records the store keeps beside the chunk data. `v` versions the encoding; a record
 * that does not parse is reported as corrupt rather than guessed at.
 */
const count = z.number().int().nonnegative();

const artifactRef = z.object({ digest: z.string(), bytes: count });

const checkpointRecord = z.object({
  seq: z.number().int().positive(),
  token: z.number().int().positive(),
  digest: z.string(),
  bytes: count,
  createdAtMs: z.number(),
  good: z.boolean(),
  /** Where its chunks are: `keys.blob(blob)`. */
  blob: z.string(),
  chunks: count,
  /** The bytes are in the artifact store (the sub-task's scope) under `digest`, not in chunks. */
  inArtifacts: z.literal(true).optional(),
  /** Artifacts the state points to (a command's checkpoint archive), deleted with the record. */
  artifacts: z.array(artifactRef).optional(),
});

const headRecord = z.object({
  v: z.literal(1),
  nextSeq: z.number().int().positive(),
  /** Oldest first, at most the history limit. */
  checkpoints: z.array(checkpointRecord),
});

const resultRecord = z.object({
  v: z.literal(1),
  token: z.number().int().positive(),
  digest: z.string(),
  bytes: count,
  createdAtMs: z.number(),
  blob: z.string(),
  chunks: count,
  /** The bytes are in the artifact store (the job's scope) under `digest`, not in chunks. */
  inArtifacts: z.literal(true).optional(),
});

const finishedRecord = z.object({ v: z.literal(1), finishedAtMs: z.number() });

export type CheckpointRecord = z.infer<typeof checkpointRecord>;
export type HeadRecord = z.infer<typeof headRecord>;
export type ResultRecord = z.infer<typeof resultRecord>;
export type FinishedRecord = z.infer<typeof finishedRecord>;

/** Where a blob's bytes are and how to check them; both checkpoints and results have one. */
export interface BlobRef {
  blob: string;
  chunks: number;
  bytes: number;
  digest: string;
  /** The bytes are in the artifact store under `digest` (the chunk fields are unused). */
  inArtifacts?: true;
}

export const EMPTY_HEAD: HeadRecord = { v: 1, nextSeq: 1, checkpoints: [] };

export function encodeRecord(record: HeadRecord | ResultRecord | FinishedRecord): Buffer {
  return Buffer.from(JSON.stringify(record));
}

function decoder<T>(schema: z.ZodType<T>) {
  return (value: Buffer): T | undefined => {
    try {
      const parsed = schema.safeParse(JSON.parse(value.toString('utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  };
}

export const decodeHead = decoder(headRecord);
export const decodeResult = decoder(resultRecord);
export const decodeFinished = decoder(finishedRecord);

/** Tokens are stored as decimal text, readable with etcdctl or consul kv get. */
export function encodeToken(token: number): Buffer {
  return Buffer.from(String(token));
}

export function decodeToken(value: Buffer | undefined): number {
  if (!value) return 0;
  const text = value.toString('utf8');
  if (!/^\d+$/.test(text))
    throw new Error(`token record is not a number: ${JSON.stringify(text.slice(0, 20))}`);
  return Number(text);
}
