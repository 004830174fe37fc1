import { EventEmitter } from 'node:events';

/** The EC2 instance metadata service; local instances get their own endpoint on loopback. */
export const EC2_METADATA_ENDPOINT = 'http://169.254.169.254';

export type InstanceNotice =
  | { kind: 'interruption'; action: 'terminate' | 'stop' | 'hibernate'; time: Date }
  | { kind: 'rebalance'; time: Date };

export interface InterruptionWatcherOptions {
  /** Metadata endpoint (default EC2's, or SPOTDAG_METADATA_ENDPOINT). */
  endpoint?: string;
  /** Poll period; AWS recommends about every 5 s. */
  intervalMs?: number;
  /** Per-request timeout, so an unreachable endpoint never stalls the poll loop. */
  requestTimeoutMs?: number;
  tokenTtlSeconds?: number;
}

/**
 * Polls instance metadata (IMDSv2: a session token, then the spot `instance-action` and the
 * rebalance recommendation) and emits `notice` once per notice kind. Errors (e.g. no metadata
 * service) emit `error` and polling goes on.
 */
export class InterruptionWatcher extends EventEmitter<{ notice: [InstanceNotice]; error: [Error] }> {
  private readonly endpoint: string;
  private readonly intervalMs: number;
  private readonly requestTimeoutMs: number;
  private readonly tokenTtlSeconds: number;
  private token?: { value: string; expiresAtMs: number };
  private timer?: NodeJS.Timeout;
  private readonly seen = new Set<InstanceNotice['kind']>();

  constructor(options: InterruptionWatcherOptions = {}) {
    super();
    this.endpoint = (
      options.endpoint ??
      process.env.SPOTDAG_METADATA_ENDPOINT ??
      EC2_METADATA_ENDPOINT
    ).replace(/\/$/, '');
    this.intervalMs = options.intervalMs ?? 5_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2_000;
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? 21_600;
  }

  start(): this {
    if (this.timer) return this;
    const tick = () => {
      this.poll()
        .catch((err: unknown) => this.emit('error', err instanceof Error ? err : new Error(String(err))))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, 0).unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One poll; returns the notices seen for the first time. */
  async poll(): Promise<InstanceNotice[]> {
    const fresh: InstanceNotice[] = [];
    const action = await this.get('/latest/meta-data/spot/instance-action');
    if (action && !this.seen.has('interruption')) {
      const parsed = JSON.parse(action) as { action: 'terminate' | 'stop' | 'hibernate'; time: string };
      fresh.push({ kind: 'interruption', action: parsed.action, time: new Date(parsed.time) });
    }
    const rebalance = await this.get('/latest/meta-data/events/recommendations/rebalance');
    if (rebalance && !this.seen.has('rebalance')) {
      fresh.push({
        kind: 'rebalance',
        time: new Date((JSON.parse(rebalance) as { noticeTime: string }).noticeTime),
      });
    }
    for (const notice of fresh) {
      this.seen.add(notice.kind);
      this.emit('notice', notice);
    }
    return fresh;
  }

  private async sessionToken(): Promise<string> {
    if (this.token && this.token.expiresAtMs > Date.now() + 60_000) return this.token.value;
    const response = await fetch(`${this.endpoint}/latest/api/token`, {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': String(this.tokenTtlSeconds) },
      signal: AbortSignal.timeout(this.requestTimeoutMs),
    });
    if (!response.ok) throw new Error(`metadata token request failed: HTTP ${response.status}`);
    this.token = { value: await response.text(), expiresAtMs: Date.now() + this.tokenTtlSeconds * 1000 };
    return this.token.value;
  }

  /** The body of a metadata path, or undefined when it does not exist (404). */
  private async get(path: string, retried = false): Promise<string | undefined> {
    const response = await fetch(`${this.endpoint}${path}`, {
      headers: { 'X-aws-ec2-metadata-token': await this.sessionToken() },
      signal: AbortSignal.timeout(this.requestTimeoutMs),
    });
    if (response.status === 404) return undefined;
    if (response.status === 401 && !retried) {
      this.token = undefined; // expired or the endpoint restarted: get a new one once
      return this.get(path, true);
    }
    if (!response.ok) throw new Error(`metadata ${path}: HTTP ${response.status}`);
    return response.text();
  }
}
