import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ABSENT, type KvBackend, type KvCondition, type KvEntry, type KvPut } from './kv';

/**
 * The embedded backend: one sqlite file in WAL mode (or `:memory:`). Several processes may share
 * the file; each commit is an immediate (write-locking) transaction, so its version checks and
 * writes are atomic across processes. Versions come from one revision counter, like etcd's, so a
 * deleted and re-created key never repeats a version.
 */
export class SqliteKv implements KvBackend {
  readonly kind = 'sqlite';
  /** sqlite takes far larger values; chunking anyway keeps one code path and bounded statements. */
  readonly maxValueBytes = 1024 * 1024;
  readonly secrets: readonly string[] = [];
  private readonly db: Database.Database;
  private readonly statements;
  private readonly transaction;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, version INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS revision (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
      INSERT OR IGNORE INTO revision (id, value) VALUES (1, 0);
    `);
    this.statements = {
      get: this.db.prepare<[string], { value: Buffer; version: number }>(
        'SELECT value, version FROM kv WHERE key = ?',
      ),
      version: this.db.prepare<[string], { version: number }>('SELECT version FROM kv WHERE key = ?'),
      bump: this.db.prepare<[], { value: number }>(
        'UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value',
      ),
      upsert: this.db.prepare<[string, Buffer, number]>(
        'INSERT INTO kv (key, value, version) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version',
      ),
      list: this.db.prepare<[string, string], { key: string }>(
        'SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key',
      ),
      delete: this.db.prepare<[string]>('DELETE FROM kv WHERE key = ?'),
      deleteRange: this.db.prepare<[string, string]>('DELETE FROM kv WHERE key >= ? AND key < ?'),
    };
    this.transaction = this.db.transaction(this.commitTxn);
  }

  private readonly commitTxn = (conditions: KvCondition[], puts: KvPut[]): boolean => {
    for (const { key, version } of conditions) {
      const row = this.statements.version.get(key);
      if (String(row?.version ?? ABSENT) !== version) return false;
    }
    if (puts.length === 0) return true;
    const revision = this.statements.bump.get()!.value;
    for (const { key, value } of puts) this.statements.upsert.run(key, value, revision);
    return true;
  };

  async get(key: string): Promise<KvEntry | undefined> {
    const row = this.statements.get.get(key);
    return row ? { value: row.value, version: String(row.version) } : undefined;
  }

  async put(key: string, value: Buffer): Promise<void> {
    this.transaction.immediate([], [{ key, value }]);
  }

  async commit(conditions: KvCondition[], puts: KvPut[]): Promise<boolean> {
    return this.transaction.immediate(conditions, puts);
  }

  async list(prefix: string): Promise<string[]> {
    return this.statements.list.all(prefix, prefixEnd(prefix)).map((row) => row.key);
  }

  async delete(key: string): Promise<void> {
    this.statements.delete.run(key);
  }

  async deletePrefix(prefix: string): Promise<void> {
    this.statements.deleteRange.run(prefix, prefixEnd(prefix));
  }

  isTransient(err: unknown): boolean {
    const code = (err as { code?: unknown } | undefined)?.code;
    return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** The smallest string above every string that starts with `prefix` (keys are ASCII). */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
