import { CheckpointBackendError, CheckpointError, CheckpointStoreUnavailableError } from './errors';
import type { KvBackend, KvCondition, KvEntry, KvPut } from './kv';
import type { BackendKind } from './types';

export interface RetryPolicy {
  /** Give up this long after the first attempt. */
  deadlineMs: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

export const DEFAULT_RETRY_DEADLINE_MS = 60_000;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with jitter: attempt 0 waits ~initial, doubling up to max. */
export function backoffMs(attempt: number, initial: number, max: number): number {
  const base = Math.min(max, initial * 2 ** attempt);
  return base / 2 + (Math.random() * base) / 2;
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('[redacted]');
  return out;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}: ${err.message}${typeof code === 'string' ? ` (${code})` : ''}`;
  }
  return String(err);
}

/**
 * Runs `fn`, retrying transient failures with backoff until the deadline. Whatever escapes is a
 * `CheckpointError` whose message is redacted; the raw error is not attached, because client errors
 * can carry request headers (Consul's token) in their properties.
 */
export async function withRetry<T>(
  backend: { kind: BackendKind; secrets: readonly string[]; isTransient(err: unknown): boolean },
  operation: string,
  policy: RetryPolicy,
  fn: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof CheckpointError) throw err;
      const detail = redact(describe(err), backend.secrets);
      if (!backend.isTransient(err)) throw new CheckpointBackendError(backend.kind, operation, detail);
      const elapsed = Date.now() - started;
      const delay = backoffMs(attempt, policy.initialDelayMs ?? 100, policy.maxDelayMs ?? 2_000);
      if (elapsed + delay > policy.deadlineMs)
        throw new CheckpointStoreUnavailableError(backend.kind, operation, elapsed, detail);
      await sleep(delay);
    }
  }
}

/** A backend whose every operation retries transient failures (see `withRetry`). */
export class RetryingKv implements KvBackend {
  constructor(
    private readonly inner: KvBackend,
    private readonly policy: RetryPolicy,
  ) {}

  get kind() {
    return this.inner.kind;
  }
  get maxValueBytes() {
    return this.inner.maxValueBytes;
  }
  get secrets() {
    return this.inner.secrets;
  }

  private run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(this.inner, operation, this.policy, fn);
  }

  get(key: string): Promise<KvEntry | undefined> {
    return this.run('get', () => this.inner.get(key));
  }
  put(key: string, value: Buffer): Promise<void> {
    return this.run('put', () => this.inner.put(key, value));
  }
  /**
   * A commit whose reply was lost may have been applied; retrying it then fails its conditions, and
   * the caller's compare-and-swap loop finds its own write when it reads again.
   */
  commit(conditions: KvCondition[], puts: KvPut[]): Promise<boolean> {
    return this.run('commit', () => this.inner.commit(conditions, puts));
  }
  list(prefix: string): Promise<string[]> {
    return this.run('list', () => this.inner.list(prefix));
  }
  delete(key: string): Promise<void> {
    return this.run('delete', () => this.inner.delete(key));
  }
  deletePrefix(prefix: string): Promise<void> {
    return this.run('deletePrefix', () => this.inner.deletePrefix(prefix));
  }
  isTransient(err: unknown): boolean {
    return this.inner.isTransient(err);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
