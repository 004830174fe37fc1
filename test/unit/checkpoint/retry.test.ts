import {
  CheckpointBackendError,
  CheckpointStoreUnavailableError,
  FencedWriteError,
} from '../../../src/checkpoint';
import { redact, withRetry } from '../../../src/checkpoint/retry';

const backend = (transient: (err: unknown) => boolean) => ({
  kind: 'etcd' as const,
  secrets: ['hunter2'],
  isTransient: transient,
});

describe('withRetry', () => {
  it('retries transient failures until the operation succeeds', async () => {
    let calls = 0;
    const result = await withRetry(
      backend(() => true),
      'put',
      { deadlineMs: 5_000, initialDelayMs: 1 },
      async () => {
        if (++calls < 4) throw new Error('UNAVAILABLE');
        return 'done';
      },
    );
    expect(result).toBe('done');
    expect(calls).toBe(4);
  });

  it('gives up at the deadline with CheckpointStoreUnavailableError, secrets redacted', async () => {
    const attempt = withRetry(
      backend(() => true),
      'get',
      { deadlineMs: 100, initialDelayMs: 10 },
      async () => {
        throw new Error('connect failed for user root password hunter2');
      },
    );
    await expect(attempt).rejects.toBeInstanceOf(CheckpointStoreUnavailableError);
    await expect(attempt).rejects.toThrow(/password \[redacted\]/);
    await expect(attempt).rejects.not.toThrow(/hunter2/);
  });

  it('does not retry permanent failures, nor the store own typed errors', async () => {
    let calls = 0;
    const permanent = withRetry(
      backend(() => false),
      'commit',
      { deadlineMs: 5_000 },
      async () => {
        calls++;
        throw Object.assign(new Error('permission denied (token hunter2)'), { code: 'EPERM' });
      },
    );
    await expect(permanent).rejects.toBeInstanceOf(CheckpointBackendError);
    await expect(permanent).rejects.toThrow(
      'etcd checkpoint store: commit failed: Error: permission denied (token [redacted]) (EPERM)',
    );
    expect(calls).toBe(1);
    const fenced = new FencedWriteError('j', 's', 1, 2);
    await expect(
      withRetry(
        backend(() => true),
        'commit',
        { deadlineMs: 5_000 },
        () => Promise.reject(fenced),
      ),
    ).rejects.toBe(fenced);
  });

  it('redacts every occurrence of every secret', () => {
    expect(redact('a s1 b s2 s1', ['s1', 's2', ''])).toBe('a [redacted] b [redacted] [redacted]');
  });
});
