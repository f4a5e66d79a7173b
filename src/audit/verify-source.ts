// What `cortex audit verify` reads, read-only: the query sink's records and stored checkpoints
// (opened without creating or migrating anything, beside a live gateway), and the public halves of
// the signing keys straight from the key ring's store (no key-encryption key needed).
import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import type { SQLInputValue } from 'node:sqlite';
import pg from 'pg';
import type { SigningKeysConfig } from '../config/schema-credentials.ts';
import { openKeyRingStore } from '../credentials/stores/open-store.ts';
import { createLogger } from '../telemetry/logger.ts';
import { POSTGRES_AUDIT_TABLE, SQLITE_AUDIT_TABLE } from './open-query-store.ts';
import type { QuerySinkConfig } from './open-query-store.ts';
import type { DurableAuditStore } from './record.ts';
import { asBackfilled, checkpointFromRow, EXCHANGE_BACKFILL, recordFromRow } from './sinks/store-sql.ts';

export type TrailReader = Pick<DurableAuditStore, 'writers' | 'records' | 'checkpoints' | 'close'> & { readonly label: string };

type Rows = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

/**
 * `backfilled` says whether the store's one-time backfill (store-sql.ts) has run; until it has, rows
 * are checked as it will leave them.
 */
function reader(label: string, table: string, all: Rows, close: () => Promise<void>, dollar: boolean, backfilled: () => Promise<boolean>): TrailReader {
  const p = (n: number): string => (dollar ? `$${n}` : '?');
  let done: Promise<boolean> | undefined;
  return {
    label,
    writers: async () => (await all(`SELECT DISTINCT writer FROM ${table} ORDER BY writer`, [])).map((r) => String(r.writer)),
    records: async (writer, fromSeq, limit) => {
      // The whole row: verify checks the query columns against the hashed event too.
      const rows = await all(`SELECT * FROM ${table} WHERE writer = ${p(1)} AND seq >= ${p(2)} ORDER BY seq LIMIT ${p(3)}`, [writer, fromSeq, limit]);
      const current = await (done ??= backfilled());
      return rows.map((row) => {
        const record = recordFromRow(row);
        return { ...record, row: current ? row : asBackfilled(row, record.json) };
      });
    },
    checkpoints: async (writer) => (await all(`SELECT * FROM ${table}_checkpoints WHERE writer = ${p(1)} ORDER BY seq, time`, [writer])).map(checkpointFromRow),
    close,
  };
}

export function openSqliteTrailReader(path: string, table: string = SQLITE_AUDIT_TABLE): TrailReader {
  if (!existsSync(path)) throw new Error(`no audit database at ${path} (has the gateway run with this config?)`);
  const db = new DatabaseSync(path, { readOnly: true });
  db.exec('PRAGMA busy_timeout = 2000');
  const all: Rows = (sql, params) => Promise.resolve(db.prepare(sql).all(...(params as SQLInputValue[])) as Record<string, unknown>[]);
  const backfilled = (): Promise<boolean> =>
    Promise.resolve((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version >= EXCHANGE_BACKFILL.sqliteVersion);
  return reader(path, table, all, () => Promise.resolve(db.close()), false, backfilled);
}

export function openPostgresTrailReader(url: string, table: string = POSTGRES_AUDIT_TABLE): TrailReader {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pool.on('error', () => undefined);
  const all: Rows = async (sql, params) => {
    const client = await pool.connect();
    try {
      await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
      return (await client.query(sql, params)).rows as Record<string, unknown>[];
    } finally {
      client.release();
    }
  };
  const backfilled = async (): Promise<boolean> => {
    const [found] = await all('SELECT to_regclass($1) IS NOT NULL AS present', [`${table}_migrations`]);
    if (found?.present !== true) return false;
    return (await all(`SELECT 1 FROM ${table}_migrations WHERE name = $1`, [EXCHANGE_BACKFILL.name])).length > 0;
  };
  return reader(`${new URL(url).host} table ${table}`, table, all, () => pool.end(), true, backfilled);
}

export function openTrailReader(sink: QuerySinkConfig): TrailReader {
  return sink.type === 'sqlite' ? openSqliteTrailReader(sink.path) : openPostgresTrailReader(sink.url, sink.table ?? POSTGRES_AUDIT_TABLE);
}

/** Every public key the ring's store holds, retired ones included; undefined for a memory store. */
export async function loadPublicKeys(cfg: SigningKeysConfig): Promise<Map<string, KeyObject> | undefined> {
  if (cfg.store.type === 'memory') return undefined;
  const store = openKeyRingStore(cfg.store, { log: createLogger({ level: 'silent' }), listen: false });
  try {
    const keys = await store.load();
    return new Map(keys.map((k) => [k.kid, createPublicKey({ key: k.publicJwk, format: 'jwk' })]));
  } finally {
    await store.close();
  }
}
