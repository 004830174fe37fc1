import { Agent as HttpsAgent } from 'node:https';
import Consul from 'consul';
import { ABSENT, type KvBackend, type KvCondition, type KvEntry, type KvPut } from './kv';

export interface ConsulKvSettings {
  host: string;
  port: number;
  secure: boolean;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  token?: string;
  requestTimeoutMs: number;
}

interface HttpError {
  statusCode?: number;
  code?: string;
  isTimeout?: boolean;
}

function statusOf(err: unknown): number | undefined {
  return (err as HttpError | undefined)?.statusCode;
}

/**
 * Consul KV over its HTTP API. A commit is one `/v1/txn` request: `check-index` on each condition
 * key's ModifyIndex (`check-not-exists` for absent keys), then the sets; Consul rolls the whole
 * transaction back with HTTP 409 if a check fails. Values are limited to 512 KB, hence 256 KiB
 * chunks.
 */
export class ConsulKv implements KvBackend {
  readonly kind = 'consul';
  readonly maxValueBytes = 256 * 1024;
  readonly secrets: readonly string[];
  private readonly client: Consul;

  constructor(settings: ConsulKvSettings) {
    this.secrets = settings.token ? [settings.token] : [];
    const { tls } = settings;
    this.client = new Consul({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      defaults: {
        ...(settings.token ? { token: settings.token } : {}),
        timeout: settings.requestTimeoutMs,
        // `timeout` (ms) is a valid default of the client, missing from its typings.
      } as { token?: string },
      ...(settings.secure && tls
        ? { agent: new HttpsAgent({ keepAlive: true, ca: tls.ca, cert: tls.cert, key: tls.key }) }
        : {}),
    });
  }

  async get(key: string): Promise<KvEntry | undefined> {
    // `buffer` (not in the typings) keeps binary values as Buffers instead of utf-8 strings.
    const item = (await this.client.kv.get({ key, buffer: true } as { key: string })) as unknown as {
      Value: Buffer | null;
      ModifyIndex: number;
    } | null;
    if (!item) return undefined;
    return { value: item.Value ?? Buffer.alloc(0), version: String(item.ModifyIndex) };
  }

  async put(key: string, value: Buffer): Promise<void> {
    if (!(await this.client.kv.set({ key, value }))) throw new Error(`consul refused to set ${key}`);
  }

  async commit(conditions: KvCondition[], puts: KvPut[]): Promise<boolean> {
    const operations = [
      ...conditions.map(({ key, version }) =>
        version === ABSENT
          ? { KV: { Verb: 'check-not-exists', Key: key } }
          : { KV: { Verb: 'check-index', Key: key, Index: Number(version) } },
      ),
      ...puts.map(({ key, value }) => ({ KV: { Verb: 'set', Key: key, Value: value.toString('base64') } })),
    ];
    try {
      // Called with one argument, the client sends it as the request body as is, so the operations
      // use Consul's own field names; its typings only describe the options-object form.
      await this.client.transaction.create(operations as unknown as { operations: [] });
      return true;
    } catch (err) {
      if (statusOf(err) === 409) return false; // a check failed; nothing was applied
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    try {
      return (await this.client.kv.keys({ key: prefix })) ?? [];
    } catch (err) {
      if (statusOf(err) === 404) return [];
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.kv.del({ key });
  }

  async deletePrefix(prefix: string): Promise<void> {
    await this.client.kv.del({ key: prefix, recurse: true });
  }

  /** Network errors, timeouts, 5xx (no leader, rpc errors) and 429 (rate limited). */
  isTransient(err: unknown): boolean {
    const status = statusOf(err);
    if (status !== undefined) return status >= 500 || status === 429;
    const e = err as HttpError | undefined;
    // Socket errors (ECONNREFUSED, ECONNRESET, EAI_AGAIN, …), not TLS or usage errors (ERR_*).
    return Boolean(e?.isTimeout || (typeof e?.code === 'string' && /^E(?!RR_)[A-Z_]+$/.test(e.code)));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
