// Read-only access to the trail for `cortex audit`: the config's first sqlite or postgres sink (the
// one that answers queries), opened without creating or migrating anything, so the CLI can run
// beside a live gateway (SQLite WAL allows readers while it writes) or against a copied file.
import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import type { SQLInputValue } from 'node:sqlite';
import pg from 'pg';
import type { Config } from '../config/schema.ts';
import type { AuditPage, AuditQuery } from './record.ts';
import { runQuery } from './query-sql.ts';
import type { QueryRow } from './query-sql.ts';

/** The table the SQLite sink keeps its records in. */
export const SQLITE_AUDIT_TABLE = 'audit_records';
export const POSTGRES_AUDIT_TABLE = 'cortex_audit_events';

export interface AuditQueryStore {
  /** Where the trail is, for messages. */
  readonly label: string;
  query(filter: AuditQuery): Promise<AuditPage>;
  close(): Promise<void>;
}

export type QuerySinkConfig = Extract<Config['audit']['sinks'][number], { type: 'sqlite' | 'postgres' }>;

/** The sink that answers queries: the first sqlite or postgres one. */
export function querySink(config: Config): QuerySinkConfig | undefined {
  return config.audit.sinks.find((s): s is QuerySinkConfig => s.type === 'sqlite' || s.type === 'postgres');
}

/** Opens the query sink read-only; rejects (with a message for a person) when it cannot. */
export function openQueryStore(config: Config): Promise<AuditQueryStore> {
  const sink = querySink(config);
  try {
    if (sink === undefined) throw new Error('the config has no sqlite or postgres audit sink to query (audit.sinks)');
    return Promise.resolve(sink.type === 'sqlite' ? openSqliteQueryStore(sink.path) : openPostgresQueryStore(sink.url, sink.table));
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

export function openSqliteQueryStore(path: string, table: string = SQLITE_AUDIT_TABLE): AuditQueryStore {
  if (!existsSync(path)) throw new Error(`no audit database at ${path} (has the gateway run with this config?)`);
  const db = new DatabaseSync(path, { readOnly: true });
  db.exec('PRAGMA busy_timeout = 2000');
  return {
    label: path,
    query: (filter) => runQuery('sqlite', table, filter, (sql, params) => db.prepare(sql).all(...(params as SQLInputValue[])) as unknown as QueryRow[]),
    close: () => {
      db.close();
      return Promise.resolve();
    },
  };
}

export function openPostgresQueryStore(url: string, table: string = POSTGRES_AUDIT_TABLE): AuditQueryStore {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined);
  return {
    label: `${hostOf(url)} table ${table}`,
    query: (filter) =>
      runQuery('postgres', table, filter, async (sql, params) => {
        const client = await pool.connect();
        try {
          // Read-only at the session level: this connection can never change the trail.
          await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
          return (await client.query(sql, params)).rows as QueryRow[];
        } finally {
          client.release();
        }
      }),
    close: () => pool.end(),
  };
}

/** The host of a postgres:// URL, never its password; a libpq keyword string is just "postgres". */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'postgres';
  }
}
