// API keys in PostgreSQL: shared by a fleet of gateways. A create or revoke sends NOTIFY on
// CHANNEL in the same statement; every gateway LISTENs on a dedicated connection and drops the
// key from its cache when told, so a revocation anywhere applies everywhere at once.
import pg from 'pg';
import type { Logger } from 'pino';
import type { ApiKeyKind, ApiKeyRecord, ApiKeyStore, RevokeResult, StoredApiKey } from './keys.ts';
import { publicRecord } from './keys.ts';
import { listenToChannel } from '../../stores/postgres/channel-listener.ts';
import { schemaOnce } from '../../stores/postgres/schema-once.ts';

export const CHANNEL = 'cortex_api_keys';
const TIMEOUT_MS = 2_000;
const RELISTEN_MS = 1_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS cortex_api_keys (
  key_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('service', 'user')),
  subject TEXT NOT NULL,
  roles JSONB NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT,
  last_used_at BIGINT,
  description TEXT,
  secret_hash BYTEA NOT NULL
)`;

interface Row {
  key_id: string;
  kind: ApiKeyKind;
  subject: string;
  roles: string[];
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  description: string | null;
  secret_hash: Buffer;
}

function fromRow(row: Row): StoredApiKey {
  const key: StoredApiKey = { keyId: row.key_id, kind: row.kind, subject: row.subject, roles: row.roles, createdAt: Number(row.created_at), secretHash: row.secret_hash };
  if (row.expires_at !== null) key.expiresAt = Number(row.expires_at);
  if (row.revoked_at !== null) key.revokedAt = Number(row.revoked_at);
  if (row.last_used_at !== null) key.lastUsedAt = Number(row.last_used_at);
  if (row.description !== null) key.description = row.description;
  return key;
}

export interface PostgresStoreOptions {
  log: Logger;
  /** LISTEN for changes (gateways); the CLI only writes. */
  listen: boolean;
}

export function openPostgresApiKeyStore(url: string, opts: PostgresStoreOptions): ApiKeyStore {
  const settings = { connectionString: url, connectionTimeoutMillis: TIMEOUT_MS, query_timeout: TIMEOUT_MS, application_name: 'cortex-api-keys' };
  const pool = new pg.Pool({ ...settings, max: 4 });
  pool.on('error', (err) => opts.log.warn({ err: err.message }, 'api keys: idle PostgreSQL connection failed'));
  const listeners: ((keyId: string | undefined) => void)[] = [];
  const emit = (keyId: string | undefined): void => {
    for (const l of listeners) l(keyId);
  };
  let closed = false;

  const ensureSchema = schemaOnce(() => pool.query(SCHEMA));
  async function query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    await ensureSchema();
    return pool.query<R>(text, values);
  }

  const listener = opts.listen
    ? listenToChannel({
        settings,
        channel: CHANNEL,
        what: 'api keys',
        log: opts.log,
        retryMs: RELISTEN_MS,
        beforeListen: ensureSchema,
        onNotify: (keyId) => {
          if (keyId !== undefined) emit(keyId);
        },
        // Anything cached while not listening may have missed a change.
        onListening: () => emit(undefined),
        onLost: () => emit(undefined),
      })
    : undefined;

  return {
    type: 'postgres',
    async find(keyId) {
      const r = await query<Row>('SELECT * FROM cortex_api_keys WHERE key_id = $1', [keyId]);
      const row = r.rows[0];
      return row === undefined ? undefined : fromRow(row);
    },
    async insert(k) {
      await query(
        `WITH i AS (INSERT INTO cortex_api_keys (key_id, kind, subject, roles, created_at, expires_at, revoked_at, last_used_at, description, secret_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING key_id)
         SELECT pg_notify('${CHANNEL}', key_id) FROM i`,
        [k.keyId, k.kind, k.subject, JSON.stringify(k.roles), k.createdAt, k.expiresAt ?? null, k.revokedAt ?? null, k.lastUsedAt ?? null, k.description ?? null, Buffer.from(k.secretHash)],
      );
    },
    async list(): Promise<ApiKeyRecord[]> {
      const r = await query<Row>('SELECT * FROM cortex_api_keys ORDER BY created_at DESC, key_id');
      return r.rows.map((row) => publicRecord(fromRow(row)));
    },
    async revoke(keyId, at): Promise<RevokeResult> {
      const r = await query(
        `WITH u AS (UPDATE cortex_api_keys SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL RETURNING key_id)
         SELECT pg_notify('${CHANNEL}', key_id) FROM u`,
        [keyId, at],
      );
      if (r.rowCount !== null && r.rowCount > 0) return 'revoked';
      const exists = await query('SELECT 1 FROM cortex_api_keys WHERE key_id = $1', [keyId]);
      return exists.rowCount === 0 ? 'not_found' : 'already_revoked';
    },
    async touch(used) {
      if (used.size === 0) return;
      await query(
        `UPDATE cortex_api_keys k SET last_used_at = u.at FROM unnest($1::text[], $2::bigint[]) AS u(key_id, at)
         WHERE k.key_id = u.key_id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`,
        [[...used.keys()], [...used.values()]],
      );
    },
    onChange(l) {
      listeners.push(l);
    },
    ready: () => (listener !== undefined ? listener.listening : !closed),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([listener?.close(), pool.end()]);
    },
  };
}
