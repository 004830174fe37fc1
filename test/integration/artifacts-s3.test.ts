import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { openArtifactStore, sha256Hex, type S3ArtifactStore } from '../../src/artifacts';
import { artifactKey } from '../../src/artifacts/keys';
import { artifactStoreContract } from '../unit/artifacts/contract';
import { startMotoServer, useDummyAwsCredentials, type MotoServer } from '../support/moto-server';

/** The S3 artifact store against moto_server's S3 API (the same endpoint that serves EC2). */
let moto: MotoServer;
let store: S3ArtifactStore;
const BUCKET = 'spotdag-artifacts';
const PREFIX = 'runs/test/';

beforeAll(async () => {
  useDummyAwsCredentials();
  moto = await startMotoServer();
  store = openArtifactStore(`s3://${BUCKET}/${PREFIX}?endpoint=${moto.endpoint}`, {
    partBytes: 5 * 1024 * 1024,
  }) as S3ArtifactStore;
  await store.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(async () => {
  await store?.close();
  await moto?.stop();
});

async function keysOf(jobId: string): Promise<string[]> {
  const page = await store.client.send(
    new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}jobs/${jobId}/` }),
  );
  return (page.Contents ?? []).map((o) => o.Key!.slice(PREFIX.length));
}

describe('s3:// artifact store on moto_server (contract)', () => {
  artifactStoreContract(() => ({
    store,
    tamper: async (scope, digest, bytes) => {
      await store.client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}${artifactKey(scope, digest)}`, Body: bytes }),
      );
    },
    keys: keysOf,
  }));
});

describe('s3:// artifact store on moto_server', () => {
  it('uploads a large file in parts with SHA-256 checksums and reads it back identical', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spotdag-s3-'));
    try {
      const data = randomBytes(17 * 1024 * 1024 + 5);
      const file = path.join(dir, 'large.bin');
      writeFileSync(file, data);
      const scope = { jobId: 'multipart', subTaskId: 'train' };
      const ref = await store.putFile(scope, file);
      expect(ref).toEqual({ digest: sha256Hex(data), bytes: data.length });
      const head = await store.client.send(
        new HeadObjectCommand({
          Bucket: BUCKET,
          Key: `${PREFIX}${artifactKey(scope, ref.digest)}`,
          ChecksumMode: 'ENABLED',
        }),
      );
      // A multipart upload's ETag ends in -<parts>: 17 MiB in 5 MiB parts is 4 parts.
      expect(head.ETag).toMatch(/-4"$/);
      expect(head.ChecksumSHA256).toBeDefined();
      expect(head.ContentLength).toBe(data.length);
      await store.getFile(scope, ref, path.join(dir, 'copy.bin'));
      expect(readFileSync(path.join(dir, 'copy.bin')).equals(data)).toBe(true);
      // Written once: the same content again uploads nothing and leaves the object as it was.
      expect(await store.putBytes(scope, data)).toEqual(ref);
      const again = await store.client.send(
        new HeadObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}${artifactKey(scope, ref.digest)}` }),
      );
      expect(again.ETag).toBe(head.ETag);
      await store.cleanupJob('multipart');
      expect(await keysOf('multipart')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
