import { Etcd3, isRecoverableError, type IOptions } from 'etcd3';
import { type KvBackend, type KvCondition, type KvEntry, type KvPut } from './kv';

export interface EtcdKvSettings {
  /** `http://host:port` or `https://host:port`, one per member. */
  hosts: string[];
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  auth?: { username: string; password: string };
  requestTimeoutMs: number;
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/**
 * Lets each call through once. Retries (with our deadline and backoff) happen in `RetryingKv`; the
 * client's own policies (three immediate attempts, then a per-host circuit breaker that refuses
 * calls for 5 s) would only delay noticing that a restarted etcd is back.
 */
const passThrough = {
  execute: (fn: (context: { signal: AbortSignal }) => unknown) =>
    fn({ signal: new AbortController().signal }),
} as unknown as Policy;

/** etcd server errors that clear up on their own (elections, overload). */
const TRANSIENT_ETCD_MESSAGES = [
  'leader changed',
  'no leader',
  'request timed out',
  'too many requests',
  'not capable',
  'server stopped',
];

/**
 * etcd v3: a commit is one transaction comparing each condition key's mod revision (0 for a key
 * that does not exist). Values above ~1.5 MiB per request are refused by etcd, hence 1 MiB chunks.
 */
export class EtcdKv implements KvBackend {
  readonly kind = 'etcd';
  readonly maxValueBytes = 1024 * 1024;
  readonly secrets: readonly string[];
  private readonly client: Etcd3;

  constructor(settings: EtcdKvSettings) {
    this.secrets = settings.auth ? [settings.auth.password] : [];
    const timeout = settings.requestTimeoutMs;
    this.client = new Etcd3({
      hosts: settings.hosts,
      // TLS comes from `https://` hosts; files only replace the system roots or add a client cert.
      ...(settings.tls && (settings.tls.ca || settings.tls.cert)
        ? {
            credentials: {
              // grpc-js takes null for "the system's roots"; etcd3's type insists on a Buffer.
              rootCertificate: (settings.tls.ca ?? null) as Buffer,
              ...(settings.tls.key ? { privateKey: settings.tls.key } : {}),
              ...(settings.tls.cert ? { certChain: settings.tls.cert } : {}),
            },
          }
        : {}),
      ...(settings.auth
        ? { auth: { ...settings.auth, callOptions: () => ({ deadline: Date.now() + timeout }) } }
        : {}),
      // A stopped (SIGSTOP) server never answers: without a deadline a call would hang forever.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeout }),
      // gRPC's reconnect backoff grows to 2 minutes by default; a restarted etcd should be found fast.
      grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 2_000 },
      faultHandling: { global: passThrough, host: () => passThrough },
    });
  }

  async get(key: string): Promise<KvEntry | undefined> {
    const kv = (await this.client.get(key).exec()).kvs[0];
    return kv ? { value: kv.value, version: String(kv.mod_revision) } : undefined;
  }

  async put(key: string, value: Buffer): Promise<void> {
    await this.client.put(key).value(value).exec();
  }

  async commit(conditions: KvCondition[], puts: KvPut[]): Promise<boolean> {
    const [first, ...rest] = conditions;
    if (!first) throw new Error('an etcd commit needs a condition');
    const txn = this.client.if(first.key, 'Mod', '==', first.version);
    for (const c of rest) txn.and(c.key, 'Mod', '==', c.version);
    // etcd3's `then` takes its operations as arguments. A commit writes one key (kv-store.ts) and
    // etcd caps a transaction at 128 operations (--max-txn-ops), far below the stack limit.
    // eslint-disable-next-line spotdag/no-unbounded-spread
    txn.then(...puts.map((p) => this.client.put(p.key).value(p.value)));
    return (await txn.commit()).succeeded;
  }

  async list(prefix: string): Promise<string[]> {
    return this.client.getAll().prefix(prefix).keys();
  }

  async delete(key: string): Promise<void> {
    await this.client.delete().key(key).exec();
  }

  async deletePrefix(prefix: string): Promise<void> {
    await this.client.delete().prefix(prefix).exec();
  }

  isTransient(err: unknown): boolean {
    if (!(err instanceof Error)) return false;
    if (isRecoverableError(err) || (err as { isBrokenCircuitError?: boolean }).isBrokenCircuitError)
      return true;
    const message = err.message.toLowerCase();
    return TRANSIENT_ETCD_MESSAGES.some((m) => message.includes(m));
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
