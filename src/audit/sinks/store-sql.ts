// What the SQLite and PostgreSQL stores share: the table of records (the columns and indexes of
// RecordColumns in record.ts), the table of checkpoints, and reading rows back.
import type { AuditEvent } from '../event.ts';
import type { ChainedRecord, Checkpoint } from '../record.ts';

/** The insert order of a record's columns (columns.ts gives their values). */
export const INSERT_COLUMNS = [
  'writer', 'seq', 'hash', 'prev_hash', 'time_ms', 'type', 'request_id', 'subject', 'username', 'kind',
  'agent', 'person', 'intent', 'route', 'method', 'path', 'status', 'allow', 'code', 'json',
] as const;

const INDEXED = ['subject', 'username', 'person', 'agent', 'intent', 'route'] as const;

export function schemaSql(dialect: 'sqlite' | 'postgres', table: string): string {
  const big = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  const bool = dialect === 'sqlite' ? 'INTEGER' : 'BOOLEAN';
  const strict = dialect === 'sqlite' ? ' STRICT' : '';
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (
  writer TEXT NOT NULL, seq ${big} NOT NULL, hash TEXT NOT NULL, prev_hash TEXT NOT NULL,
  time_ms ${big} NOT NULL, type TEXT NOT NULL, request_id TEXT NOT NULL,
  subject TEXT, username TEXT, kind TEXT, agent TEXT, person TEXT, intent TEXT, route TEXT,
  method TEXT, path TEXT, status INTEGER, allow ${bool}, code TEXT, json TEXT NOT NULL,
  PRIMARY KEY (writer, seq)
)${strict}`,
    `CREATE INDEX IF NOT EXISTS ${table}_time ON ${table} (time_ms)`,
    // Partial: a column that is null (no identity, no intent) costs no index entry, and `c = ?`
    // implies `c IS NOT NULL`, so both planners still use them.
    ...INDEXED.map((c) => `CREATE INDEX IF NOT EXISTS ${table}_${c}_time ON ${table} (${c}, time_ms) WHERE ${c} IS NOT NULL`),
    `CREATE INDEX IF NOT EXISTS ${table}_request_id ON ${table} (request_id)`,
    `CREATE TABLE IF NOT EXISTS ${table}_checkpoints (
  writer TEXT NOT NULL, seq ${big} NOT NULL, hash TEXT NOT NULL, time TEXT NOT NULL,
  reason TEXT NOT NULL, kid TEXT NOT NULL, jws TEXT NOT NULL,
  PRIMARY KEY (writer, seq, reason)
)${strict}`,
  ].join(';\n');
}

/**
 * Rows stored before columns.ts took agent and person from a token exchange's `exchange`: the same
 * values, derived from the stored event text (the hashed json, unchanged), so verify's column check
 * agrees with recordColumns. Idempotent; each store runs it once (sqlite: PRAGMA user_version,
 * postgres: a row in <table>_migrations).
 */
export function exchangeBackfillSql(dialect: 'sqlite' | 'postgres', table: string): string {
  const field = (path: string): string =>
    dialect === 'sqlite' ? `json_extract(json, '$.exchange.${path}')` : `(json::jsonb #>> '{exchange,${path.replace('.', ',')}}')`;
  const hasExchange = dialect === 'sqlite' ? `json_extract(json, '$.exchange') IS NOT NULL` : `json::jsonb ? 'exchange'`;
  return (
    `UPDATE ${table} SET agent = COALESCE(${field('agent')}, agent), person = COALESCE(${field('person.subject')}, person) ` +
    `WHERE path = '/.cortex/token' AND ${hasExchange}`
  );
}

/** The migration name exchangeBackfillSql is recorded under (postgres) / the user_version it sets (sqlite). */
export const EXCHANGE_BACKFILL = { name: 'exchange-agent-person', sqliteVersion: 1 } as const;

/**
 * A stored row as exchangeBackfillSql leaves it: what `cortex audit verify` (read-only, migrating
 * nothing) checks a trail no gateway of this version has opened yet against.
 */
export function asBackfilled(row: Record<string, unknown>, json: string): Record<string, unknown> {
  if (row.path !== '/.cortex/token') return row;
  const exchange = (JSON.parse(json) as { exchange?: { agent?: unknown; person?: { subject?: unknown } } }).exchange;
  if (exchange === undefined || exchange === null) return row;
  return { ...row, agent: exchange.agent ?? row.agent, person: exchange.person?.subject ?? row.person };
}

export function recordFromRow(row: Record<string, unknown>): ChainedRecord {
  const json = String(row.json);
  return {
    writer: String(row.writer),
    seq: Number(row.seq),
    prevHash: String(row.prev_hash),
    hash: String(row.hash),
    json,
    event: JSON.parse(json) as AuditEvent,
  };
}

export function checkpointFromRow(row: Record<string, unknown>): Checkpoint {
  return {
    writer: String(row.writer),
    seq: Number(row.seq),
    hash: String(row.hash),
    time: String(row.time),
    reason: String(row.reason) as Checkpoint['reason'],
    kid: String(row.kid),
    jws: String(row.jws),
  };
}
