// The audit trail in PostgreSQL, one table for a fleet: each gateway writes its own chain (writer),
// so no instance waits on another. A batch is one multi-row INSERT ... ON CONFLICT (writer, seq) DO
// NOTHING (a spool replayed twice changes nothing); checkpoints go to <table>_checkpoints.
import pg from 'pg';
import { recordColumns } from '../columns.ts';
import { POSTGRES_AUDIT_TABLE } from '../open-query-store.ts';
import { runQuery } from '../query-sql.ts';
import type { QueryRow } from '../query-sql.ts';
import type { ChainedRecord, Checkpoint, DurableAuditStore } from '../record.ts';
import { schemaOnce } from '../../stores/postgres/schema-once.ts';
import { checkpointFromRow, EXCHANGE_BACKFILL, exchangeBackfillSql, INSERT_COLUMNS, recordFromRow, schemaSql } from './store-sql.ts';

const TIMEOUT_MS = 5_000;
/** PostgreSQL binds at most 65535 parameters per statement: 20 columns a row. */
const ROWS_PER_INSERT = 3000;

function insertSql(table: string, rows: number): string {
  const n = INSERT_COLUMNS.length;
  const values: string[] = [];
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    values.push(`(${INSERT_COLUMNS.map((_, i) => `$${base + i + 1}`).join(', ')})`);
  }
  return `INSERT INTO ${table} (${INSERT_COLUMNS.join(', ')}) VALUES ${values.join(', ')} ON CONFLICT (writer, seq) DO NOTHING`;
}

function rowValues(r: ChainedRecord): unknown[] {
  const c = recordColumns(r);
  return [c.writer, c.seq, c.hash, c.prevHash, c.timeMs, c.type, c.requestId, c.subject, c.username, c.kind, c.agent, c.person, c.intent, c.route, c.method, c.path, c.status, c.allow, c.code, c.json];
}

/**
 * One-time fixes of rows written by older versions. The migration's row is inserted in the same
 * transaction as the fix: a second gateway starting at once waits on it, then finds it done.
 */
async function backfillOnce(pool: pg.Pool, table: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS ${table}_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    await client.query('BEGIN');
    const claimed = await client.query(`INSERT INTO ${table}_migrations (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [EXCHANGE_BACKFILL.name]);
    if (claimed.rowCount === 1) await client.query(exchangeBackfillSql('postgres', table));
    await client.query('COMMIT');
    client.release();
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release(err instanceof Error ? err : true);
    throw err;
  }
}

export function openPostgresAuditStore(url: string, table: string = POSTGRES_AUDIT_TABLE): DurableAuditStore {
  const pool = new pg.Pool({
    connectionString: url,
    connectionTimeoutMillis: TIMEOUT_MS,
    query_timeout: TIMEOUT_MS,
    application_name: 'cortex-audit',
    max: 2,
  });
  // An idle client losing its connection (the server restarting) must not crash the process.
  pool.on('error', () => {});
  const ready = schemaOnce(async () => {
    await pool.query(schemaSql('postgres', table));
    await backfillOnce(pool, table);
  });

  return {
    async writeBatch(records) {
      await ready();
      if (records.length === 0) {
        await pool.query('SELECT 1');
        return;
      }
      const client = await pool.connect();
      // A connection lost mid-batch also emits 'error' on the checked-out client: the rejected
      // query reports it, the event must not crash the process.
      if (client.listenerCount('error') === 0) client.on('error', () => {});
      try {
        await client.query('BEGIN');
        for (let i = 0; i < records.length; i += ROWS_PER_INSERT) {
          const chunk = records.slice(i, i + ROWS_PER_INSERT);
          await client.query(insertSql(table, chunk.length), chunk.flatMap(rowValues));
        }
        await client.query('COMMIT');
        client.release();
      } catch (err) {
        // A broken connection is not given back to the pool.
        client.release(err instanceof Error ? err : true);
        throw err;
      }
    },
    async writeCheckpoint(cp: Checkpoint) {
      await ready();
      await pool.query(
        `INSERT INTO ${table}_checkpoints (writer, seq, hash, time, reason, kid, jws) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (writer, seq, reason) DO UPDATE SET hash = EXCLUDED.hash, time = EXCLUDED.time, kid = EXCLUDED.kid, jws = EXCLUDED.jws`,
        [cp.writer, cp.seq, cp.hash, cp.time, cp.reason, cp.kid, cp.jws],
      );
    },
    async writers() {
      await ready();
      const r = await pool.query<{ writer: string }>(`SELECT DISTINCT writer FROM ${table} ORDER BY writer`);
      return r.rows.map((row) => row.writer);
    },
    async records(writer, fromSeq, limit) {
      await ready();
      const r = await pool.query(`SELECT writer, seq, prev_hash, hash, json FROM ${table} WHERE writer = $1 AND seq >= $2 ORDER BY seq LIMIT $3`, [writer, fromSeq, limit]);
      return r.rows.map(recordFromRow);
    },
    async checkpoints(writer) {
      await ready();
      const r = await pool.query(`SELECT * FROM ${table}_checkpoints WHERE writer = $1 ORDER BY seq, time`, [writer]);
      return r.rows.map(checkpointFromRow);
    },
    async query(filter) {
      await ready();
      return runQuery('postgres', table, filter, async (sql, params) => (await pool.query(sql, params)).rows as QueryRow[]);
    },
    async prune(beforeMs) {
      await ready();
      await pool.query(`DELETE FROM ${table} WHERE time_ms < $1`, [beforeMs]);
      const r = await pool.query<{ writer: string; seq: string }>(`SELECT writer, MIN(seq) AS seq FROM ${table} GROUP BY writer`);
      return new Map(r.rows.map((row) => [row.writer, Number(row.seq)]));
    },
    // The retention cut signed by prune.ts: exactly each writer's prefix up to its seq.
    async pruneThrough(cuts) {
      await ready();
      for (const [writer, seq] of cuts) await pool.query(`DELETE FROM ${table} WHERE writer = $1 AND seq <= $2`, [writer, seq]);
    },
    async pruneCheckpoints(cuts) {
      await ready();
      for (const [writer, seq] of cuts) await pool.query(`DELETE FROM ${table}_checkpoints WHERE writer = $1 AND seq < $2`, [writer, seq]);
    },
    async close() {
      await pool.end();
    },
  };
}
