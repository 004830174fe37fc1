import {
  CheckpointStoreConfigError,
  createBackend,
  openCheckpointStore,
  parseCheckpointStoreUrl,
} from '../../../src/checkpoint';
import { decodeSegment, encodeSegment, KeyLayout } from '../../../src/checkpoint/keys';

describe('parseCheckpointStoreUrl', () => {
  it('reads sqlite paths and memory', () => {
    expect(parseCheckpointStoreUrl('sqlite:.spotdag/checkpoints.db')).toEqual({
      kind: 'sqlite',
      file: '.spotdag/checkpoints.db',
    });
    expect(parseCheckpointStoreUrl('sqlite:///var/lib/cp.db')).toEqual({
      kind: 'sqlite',
      file: '/var/lib/cp.db',
    });
    expect(parseCheckpointStoreUrl('sqlite::memory:')).toEqual({ kind: 'sqlite', file: ':memory:' });
  });

  it('reads etcd members, default port and TLS scheme', () => {
    expect(parseCheckpointStoreUrl('etcd://10.0.0.1:2379,10.0.0.2,[::1]:3000')).toEqual({
      kind: 'etcd',
      secure: false,
      hosts: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379', 'http://[::1]:3000'],
    });
    expect(parseCheckpointStoreUrl('etcds://etcd.internal:2379/')).toMatchObject({
      secure: true,
      hosts: ['https://etcd.internal:2379'],
    });
  });

  it('reads consul addresses', () => {
    expect(parseCheckpointStoreUrl('consul://127.0.0.1:8500')).toEqual({
      kind: 'consul',
      secure: false,
      host: '127.0.0.1',
      port: 8500,
    });
    expect(parseCheckpointStoreUrl('consuls://consul.service')).toMatchObject({ secure: true, port: 8501 });
  });

  it('rejects unknown schemes, bad ports and credentials in the URL without repeating them', () => {
    expect(() => parseCheckpointStoreUrl('redis://x')).toThrow(/unknown checkpoint store URL .*use one of/);
    expect(() => parseCheckpointStoreUrl('etcd://host:99999')).toThrow(CheckpointStoreConfigError);
    expect(() => parseCheckpointStoreUrl('sqlite:')).toThrow(/file path/);
    const leaky = () => parseCheckpointStoreUrl('etcd://root:s3cret@host:2379');
    expect(leaky).toThrow(/credentials in the URL are not accepted/);
    expect(leaky).not.toThrow(/s3cret/);
  });
});

describe('createBackend options', () => {
  it('refuses TLS files on a plain URL, half credentials and half client certificates', () => {
    const etcd = parseCheckpointStoreUrl('etcd://127.0.0.1:2379');
    expect(() => createBackend(etcd, { tls: { caFile: '/nonexistent' } })).toThrow(/use etcds:\/\//);
    expect(() => createBackend(etcd, { username: 'root', env: {} })).toThrow(
      /both a username and a password/,
    );
    expect(() => createBackend(etcd, { env: { ETCD_PASSWORD: 'only-a-password' } })).toThrow(/both/);
    expect(() =>
      createBackend(parseCheckpointStoreUrl('etcds://127.0.0.1:2379'), {
        tls: { caFile: '/nonexistent/ca.pem' },
      }),
    ).toThrow(/tls.caFile \/nonexistent\/ca.pem cannot be read/);
  });

  it('opens etcd and consul backends lazily, so a store can be opened during an outage', async () => {
    const etcd = await openCheckpointStore('etcd://127.0.0.1:1', { username: 'u', password: 'p' });
    expect(etcd.kind).toBe('etcd');
    await etcd.close();
    const consul = await openCheckpointStore('consul://127.0.0.1:1', { env: { CONSUL_HTTP_TOKEN: 't' } });
    expect(consul.kind).toBe('consul');
    expect(consul.kv.secrets).toEqual(['t']);
    await consul.close();
  });
});

describe('key layout', () => {
  it('encodes ids into single safe segments and back', () => {
    for (const id of ['count/0002', 'a b%c~d', '..', 'Ünïcode ✓', 'plain-id_1']) {
      const segment = encodeSegment(id);
      expect(segment).toMatch(/^[A-Za-z0-9_~-]+$/);
      expect(decodeSegment(segment)).toBe(id);
    }
    expect(encodeSegment('count/0002')).toBe('count~2F0002');
    expect(() => encodeSegment('')).toThrow(/must not be empty/);
  });

  it('namespaces keys by job and sub-task', () => {
    const layout = new KeyLayout('spotdag/checkpoints/');
    const keys = layout.subTask('job-1', 'count/0002');
    expect(keys.token).toBe('spotdag/checkpoints/jobs/job-1/t/count~2F0002/token');
    expect(keys.chunk('3.abc', 12)).toBe('spotdag/checkpoints/jobs/job-1/t/count~2F0002/blobs/3.abc/000012');
    expect(layout.subTaskIdOf('job-1', keys.head)).toBe('count/0002');
    expect(layout.finished('job-1')).toBe('spotdag/checkpoints/finished/job-1');
    // One job's prefix never covers another job whose id starts the same.
    expect(layout.job('job-10').startsWith(layout.job('job-1'))).toBe(false);
  });
});
