// API keys in an embedded SQLite file (node:sqlite, WAL): one host. Lookups are synchronous and
// take microseconds, so the authenticator reads every request from here without a cache, and a
// revocation (from this gateway, the admin API or `cortex api-keys revoke`) applies at once.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { SQLInputValue } from 'node:sqlite';
import type { ApiKeyKind, ApiKeyRecord, ApiKeyStore, RevokeResult, StoredApiKey } from './keys.ts';
import { publicRecord } from './keys.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  key_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('service', 'user')),
  subject TEXT NOT NULL,
  roles TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  last_used_at INTEGER,
  description TEXT,
  secret_hash BLOB NOT NULL
) STRICT`;

type Row = Record<string, SQLInputValue>;

function fromRow(row: Row): StoredApiKey {
  const key: StoredApiKey = {
    keyId: row.key_id as string,
    kind: row.kind as ApiKeyKind,
    subject: row.subject as string,
    roles: JSON.parse(row.roles as string) as string[],
    createdAt: Number(row.created_at),
    secretHash: row.secret_hash as Uint8Array,
  };
  if (row.expires_at !== null) key.expiresAt = Number(row.expires_at);
  if (row.revoked_at !== null) key.revokedAt = Number(row.revoked_at);
  if (row.last_used_at !== null) key.lastUsedAt = Number(row.last_used_at);
  if (row.description !== null) key.description = row.description as string;
  return key;
}

/** The store's methods are promises for both backends; a synchronous failure becomes a rejection. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

export function openSqliteApiKeyStore(path: string): ApiKeyStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA busy_timeout = 2000');
  db.exec(SCHEMA);
  const findStmt = db.prepare('SELECT * FROM api_keys WHERE key_id = ?');
  const insertStmt = db.prepare(
    'INSERT INTO api_keys (key_id, kind, subject, roles, created_at, expires_at, revoked_at, last_used_at, description, secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const listStmt = db.prepare('SELECT * FROM api_keys ORDER BY created_at DESC, key_id');
  const revokeStmt = db.prepare('UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL');
  const touchStmt = db.prepare('UPDATE api_keys SET last_used_at = ? WHERE key_id = ? AND (last_used_at IS NULL OR last_used_at < ?)');
  const listeners: ((keyId: string | undefined) => void)[] = [];
  let open = true;
  const changed = (keyId: string): void => {
    for (const l of listeners) l(keyId);
  };

  return {
    type: 'sqlite',
    find(keyId) {
      const row = findStmt.get(keyId) as Row | undefined;
      return row === undefined ? undefined : fromRow(row);
    },
    insert: (k) =>
      settle(() => {
        insertStmt.run(k.keyId, k.kind, k.subject, JSON.stringify(k.roles), k.createdAt, k.expiresAt ?? null, k.revokedAt ?? null, k.lastUsedAt ?? null, k.description ?? null, k.secretHash);
        changed(k.keyId);
      }),
    list: () => settle((): ApiKeyRecord[] => (listStmt.all() as Row[]).map((r) => publicRecord(fromRow(r)))),
    revoke: (keyId, at) =>
      settle((): RevokeResult => {
        const { changes } = revokeStmt.run(at, keyId);
        if (Number(changes) > 0) {
          changed(keyId);
          return 'revoked';
        }
        return findStmt.get(keyId) === undefined ? 'not_found' : 'already_revoked';
      }),
    touch: (used) =>
      settle(() => {
        if (used.size === 0) return;
        db.exec('BEGIN');
        try {
          for (const [keyId, at] of used) touchStmt.run(at, keyId, at);
          db.exec('COMMIT');
        } catch (err) {
          db.exec('ROLLBACK');
          throw err;
        }
      }),
    onChange(listener) {
      listeners.push(listener);
    },
    ready: () => open,
    close: () =>
      settle(() => {
        if (!open) return;
        open = false;
        db.close();
      }),
  };
}
