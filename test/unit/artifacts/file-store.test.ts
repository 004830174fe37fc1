import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ArtifactStoreConfigError,
  defaultArtifactStoreUrl,
  FileArtifactStore,
  openArtifactStore,
  parseArtifactStoreUrl,
} from '../../../src/artifacts';
import { artifactKey } from '../../../src/artifacts/keys';
import { artifactStoreContract } from './contract';

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'spotdag-file-artifacts-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function listFiles(dir: string, base = dir): string[] {
  let out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  for (const name of entries) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out = out.concat(listFiles(full, base));
    else out.push(path.relative(base, full));
  }
  return out;
}

describe('file:// artifact store (contract)', () => {
  artifactStoreContract(() => {
    const store = new FileArtifactStore(root);
    return {
      store,
      tamper: async (scope, digest, bytes) => writeFileSync(path.join(root, artifactKey(scope, digest)), bytes),
      keys: async (jobId) =>
        listFiles(path.join(root, 'jobs', jobId)).map((k) => `jobs/${jobId}/${k.split(path.sep).join('/')}`),
    };
  });
});

describe('artifact store URLs', () => {
  it('parse file and s3 locations', () => {
    expect(parseArtifactStoreUrl('file:///var/spotdag/artifacts')).toEqual({
      kind: 'file',
      root: '/var/spotdag/artifacts',
    });
    expect(parseArtifactStoreUrl('s3://my-bucket/runs/spotdag/')).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'runs/spotdag/',
    });
    expect(parseArtifactStoreUrl('s3://my-bucket?endpoint=http://127.0.0.1:5000&region=eu-west-1')).toEqual({
      kind: 's3',
      bucket: 'my-bucket',
      prefix: '',
      endpoint: 'http://127.0.0.1:5000',
      region: 'eu-west-1',
    });
    expect(openArtifactStore(`file://${root}`).kind).toBe('file');
  });

  it('refuse credentials, unknown parameters, bad buckets and unknown schemes, naming them', () => {
    expect(() => parseArtifactStoreUrl('s3://key:secret@bucket/x')).toThrow(/credentials in the URL/);
    expect(() => parseArtifactStoreUrl('s3://bucket/x?acl=public')).toThrow(/unknown parameter "acl"/);
    expect(() => parseArtifactStoreUrl('s3://Bad_Bucket/x')).toThrow(/"Bad_Bucket" is not an S3 bucket/);
    expect(() => parseArtifactStoreUrl('gs://bucket')).toThrow(ArtifactStoreConfigError);
  });

  it('default to a folder beside a sqlite checkpoint store, or SPOTDAG_ARTIFACT_STORE', () => {
    expect(defaultArtifactStoreUrl('sqlite:/x/y/checkpoints.db', {})).toBe('file:///x/y/artifacts');
    expect(defaultArtifactStoreUrl('sqlite::memory:', {})).toBeUndefined();
    expect(defaultArtifactStoreUrl('etcd://h:2379', {})).toBeUndefined();
    expect(defaultArtifactStoreUrl('etcd://h:2379', { SPOTDAG_ARTIFACT_STORE: 's3://b/p' })).toBe('s3://b/p');
  });
});
