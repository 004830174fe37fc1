import { InterruptionWatcher, type InstanceNotice } from '../../../src/provision/interruption-watcher';
import { LocalMetadataServer } from '../../../src/provision/metadata-server';

describe('InterruptionWatcher against a local IMDSv2 endpoint', () => {
  let server: LocalMetadataServer;
  let endpoint: string;

  beforeEach(async () => {
    server = new LocalMetadataServer({
      instanceId: 'i-local0',
      instanceType: 'c5.large',
      zone: 'us-east-1a',
    });
    endpoint = await server.start();
  });
  afterEach(() => server.stop());

  it('refuses metadata without a session token, as IMDSv2 does', async () => {
    expect((await fetch(`${endpoint}/latest/meta-data/instance-id`)).status).toBe(401);
    const token = await (
      await fetch(`${endpoint}/latest/api/token`, {
        method: 'PUT',
        headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' },
      })
    ).text();
    const response = await fetch(`${endpoint}/latest/meta-data/instance-id`, {
      headers: { 'X-aws-ec2-metadata-token': token },
    });
    expect(await response.text()).toBe('i-local0');
  });

  it('reports nothing until a notice, then each notice once', async () => {
    const watcher = new InterruptionWatcher({ endpoint });
    expect(await watcher.poll()).toEqual([]);

    const at = new Date(Date.UTC(2026, 10, 28, 12, 2, 0));
    server.noticeInterruption(at);
    expect(await watcher.poll()).toEqual([{ kind: 'interruption', action: 'terminate', time: at }]);
    expect(await watcher.poll()).toEqual([]);

    server.noticeRebalance(at);
    expect(await watcher.poll()).toEqual([{ kind: 'rebalance', time: at }]);
  });

  it('emits notices while polling in the background', async () => {
    const watcher = new InterruptionWatcher({ endpoint, intervalMs: 20 }).start();
    const notice = new Promise<InstanceNotice>((resolve) => watcher.once('notice', resolve));
    server.noticeInterruption(new Date(Date.now() + 120_000));
    await expect(notice).resolves.toMatchObject({ kind: 'interruption', action: 'terminate' });
    watcher.stop();
  });

  it('keeps polling after the endpoint goes away, reporting errors', async () => {
    const watcher = new InterruptionWatcher({ endpoint, intervalMs: 20, requestTimeoutMs: 200 });
    await server.stop();
    // The connection is refused: fetch's own error, with the socket error as its cause.
    await expect(watcher.poll()).rejects.toMatchObject({
      name: 'TypeError',
      message: 'fetch failed',
      cause: { code: 'ECONNREFUSED' },
    });
    // In the background, every failed poll is reported and the next one still happens.
    const errors: Error[] = [];
    const twice = new Promise<void>((resolve) =>
      watcher.on('error', (err: Error) => {
        errors.push(err);
        if (errors.length === 2) resolve();
      }),
    );
    watcher.start();
    await twice;
    watcher.stop();
    expect(errors).toHaveLength(2);
    // ("TypeError: fetch failed" under Jest, whose realm's Error is not undici's.)
    for (const err of errors) expect(err.message).toMatch(/(^|: )fetch failed$/);
  });
});
