// Sessions in an embedded SQLite file (node:sqlite): one host, and they survive a restart. WAL lets
// several gateway processes on that host share the file; every write is a single statement, so the
// version check and the single use of a login transaction hold across processes too.
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Logger } from 'pino';
import type { LoginTransaction, SessionRecord, SessionStore } from '../session-store.ts';

export interface SqliteSessionStoreOptions {
  path: string;
  log: Logger;
  now?: () => number;
  /** How often expired rows are deleted; reads ignore them in between. */
  pruneIntervalMs?: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    version INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
  CREATE TABLE IF NOT EXISTS login_transactions (
    id TEXT PRIMARY KEY,
    tx TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS login_transactions_expires_at ON login_transactions (expires_at);
`;

function openDatabase(path: string): DatabaseSync {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Create the file owner-only before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
  }
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  db.exec(SCHEMA);
  return db;
}

export function createSqliteSessionStore(opts: SqliteSessionStoreOptions): SessionStore {
  const now = opts.now ?? Date.now;
  const db = openDatabase(opts.path);
  const q = {
    get: db.prepare('SELECT record FROM sessions WHERE id = ? AND expires_at > ?'),
    set: db.prepare(
      `INSERT INTO sessions (id, record, version, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET record = excluded.record, version = excluded.version, expires_at = excluded.expires_at`,
    ),
    cas: db.prepare('UPDATE sessions SET record = ?, version = ?, expires_at = ? WHERE id = ? AND version = ? AND expires_at > ?'),
    delete: db.prepare('DELETE FROM sessions WHERE id = ?'),
    putTx: db.prepare('INSERT OR REPLACE INTO login_transactions (id, tx, expires_at) VALUES (?, ?, ?)'),
    takeTx: db.prepare('DELETE FROM login_transactions WHERE id = ? RETURNING tx, expires_at'),
    pruneSessions: db.prepare('DELETE FROM sessions WHERE expires_at <= ?'),
    pruneTx: db.prepare('DELETE FROM login_transactions WHERE expires_at <= ?'),
  };
  let closed = false;

  const prune = setInterval(() => {
    try {
      const t = now();
      q.pruneSessions.run(t);
      q.pruneTx.run(t);
    } catch (err) {
      opts.log.warn({ err }, 'pruning expired sessions failed');
    }
  }, opts.pruneIntervalMs ?? 60_000);
  prune.unref();

  // node:sqlite is synchronous and throws; the store's contract is promises, so a throw becomes a rejection.
  const run = <T>(fn: () => T): Promise<T> => {
    try {
      if (closed) throw new Error('session store is closed');
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const until = (ttlSeconds: number): number => now() + ttlSeconds * 1000;

  return {
    get: (id) =>
      run(() => {
        const row = q.get.get(id, now()) as { record: string } | undefined;
        return row === undefined ? undefined : (JSON.parse(row.record) as SessionRecord);
      }),
    set: (record, ttlSeconds) =>
      run(() => {
        q.set.run(record.id, JSON.stringify(record), record.version, until(ttlSeconds));
      }),
    compareAndSet: (record, expectedVersion, ttlSeconds) =>
      run(() => {
        const t = now();
        const result = q.cas.run(JSON.stringify(record), record.version, t + ttlSeconds * 1000, record.id, expectedVersion, t);
        return Number(result.changes) === 1;
      }),
    delete: (id) =>
      run(() => {
        q.delete.run(id);
      }),
    putTransaction: (id, tx, ttlSeconds) =>
      run(() => {
        q.putTx.run(id, JSON.stringify(tx), until(ttlSeconds));
      }),
    takeTransaction: (id) =>
      run(() => {
        const row = q.takeTx.get(id) as { tx: string; expires_at: number } | undefined;
        if (row === undefined || row.expires_at <= now()) return undefined;
        return JSON.parse(row.tx) as LoginTransaction;
      }),
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      clearInterval(prune);
      db.close();
      return Promise.resolve();
    },
  };
}
