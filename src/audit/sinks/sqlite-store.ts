// The audit trail in an embedded SQLite file (node:sqlite): WAL, synchronous=NORMAL (a power cut
// may lose the last committed batches, never corrupt the file; the chain's checkpoints show any
// such gap), one transaction per batch through prepared statements. Records are idempotent on
// (writer, seq), so a spool replayed twice changes nothing.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { SQLInputValue, StatementSync } from 'node:sqlite';
import { recordColumns } from '../columns.ts';
import { SQLITE_AUDIT_TABLE } from '../open-query-store.ts';
import { runQuery } from '../query-sql.ts';
import type { QueryRow } from '../query-sql.ts';
import type { ChainedRecord, Checkpoint, DurableAuditStore } from '../record.ts';
import { startWalCheckpointer, WRITER_AUTOCHECKPOINT_PAGES } from './wal-checkpointer.ts';
import { checkpointFromRow, EXCHANGE_BACKFILL, exchangeBackfillSql, INSERT_COLUMNS, recordFromRow, schemaSql } from './store-sql.ts';

type Row = Record<string, SQLInputValue>;

const ROWS_PER_INSERT = 50;

function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/** One-time fixes of rows written by older versions, behind the file's user_version. */
function backfillOnce(db: DatabaseSync, table: string): void {
  const { user_version: version } = db.prepare('PRAGMA user_version').get() as { user_version: number };
  if (version >= EXCHANGE_BACKFILL.sqliteVersion) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(exchangeBackfillSql('sqlite', table));
    db.exec(`PRAGMA user_version = ${EXCHANGE_BACKFILL.sqliteVersion}`);
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

export function openSqliteAuditStore(path: string, table: string = SQLITE_AUDIT_TABLE): DurableAuditStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA busy_timeout = 5000');
  // Most of a row's cost is copying the WAL's index pages back into the file (a batch dirties a
  // page per distinct subject/person/intent/request id in each index): a worker thread does it
  // (wal-checkpointer.ts), and while it cannot, the writer checkpoints every 20,000 pages (about
  // 80 MB of WAL, not every 4 MB), which copies a hot page once for many commits. A 64 MiB page
  // cache keeps those pages from being read back; journal_size_limit truncates the WAL after a reset.
  db.exec('PRAGMA cache_size = -65536');
  db.exec(`PRAGMA wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
  db.exec('PRAGMA journal_size_limit = 67108864');
  db.exec(schemaSql('sqlite', table));
  backfillOnce(db, table);
  const checkpointer = path === ':memory:' ? undefined : startWalCheckpointer(db, path);
  // Multi-row inserts (ROWS_PER_INSERT rows a statement): a statement run costs more than a row.
  const inserts = new Map<number, StatementSync>();
  const insertOf = (rows: number): StatementSync => {
    let stmt = inserts.get(rows);
    if (stmt === undefined) {
      const row = `(${INSERT_COLUMNS.map(() => '?').join(', ')})`;
      stmt = db.prepare(`INSERT OR IGNORE INTO ${table} (${INSERT_COLUMNS.join(', ')}) VALUES ${Array(rows).fill(row).join(', ')}`);
      inserts.set(rows, stmt);
    }
    return stmt;
  };
  const insertCheckpoint = db.prepare(
    `INSERT OR REPLACE INTO ${table}_checkpoints (writer, seq, hash, time, reason, kid, jws) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const writersStmt = db.prepare(`SELECT DISTINCT writer FROM ${table} ORDER BY writer`);
  const recordsStmt = db.prepare(`SELECT writer, seq, prev_hash, hash, json FROM ${table} WHERE writer = ? AND seq >= ? ORDER BY seq LIMIT ?`);
  const checkpointsStmt = db.prepare(`SELECT * FROM ${table}_checkpoints WHERE writer = ? ORDER BY seq, time`);
  const firstKeptStmt = db.prepare(`SELECT writer, MIN(seq) AS seq FROM ${table} GROUP BY writer`);
  const pruneStmt = db.prepare(`DELETE FROM ${table} WHERE time_ms < ?`);
  const pruneThroughStmt = db.prepare(`DELETE FROM ${table} WHERE writer = ? AND seq <= ?`);
  const pruneCheckpointsStmt = db.prepare(`DELETE FROM ${table}_checkpoints WHERE writer = ? AND seq < ?`);

  function inTransaction(fn: () => void): void {
    db.exec('BEGIN');
    try {
      fn();
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }

  return {
    writeBatch: (records: readonly ChainedRecord[]) =>
      settle(() => {
        if (records.length === 0) return;
        inTransaction(() => {
          for (let i = 0; i < records.length; i += ROWS_PER_INSERT) {
            const chunk = records.slice(i, i + ROWS_PER_INSERT);
            const values: SQLInputValue[] = [];
            for (const r of chunk) {
              const c = recordColumns(r);
              values.push(c.writer, c.seq, c.hash, c.prevHash, c.timeMs, c.type, c.requestId, c.subject, c.username, c.kind, c.agent, c.person, c.intent, c.route, c.method, c.path, c.status, c.allow === null ? null : c.allow ? 1 : 0, c.code, c.json);
            }
            insertOf(chunk.length).run(...values);
          }
        });
      }),
    writeCheckpoint: (cp: Checkpoint) =>
      settle(() => {
        insertCheckpoint.run(cp.writer, cp.seq, cp.hash, cp.time, cp.reason, cp.kid, cp.jws);
      }),
    writers: () => settle(() => (writersStmt.all() as { writer: string }[]).map((r) => r.writer)),
    records: (writer, fromSeq, limit) => settle(() => (recordsStmt.all(writer, fromSeq, limit) as Row[]).map(recordFromRow)),
    checkpoints: (writer) => settle(() => (checkpointsStmt.all(writer) as Row[]).map(checkpointFromRow)),
    query: (filter) => runQuery('sqlite', table, filter, (sql, params) => db.prepare(sql).all(...(params as SQLInputValue[])) as unknown as QueryRow[]),
    prune: (beforeMs) =>
      settle(() => {
        pruneStmt.run(beforeMs);
        return new Map((firstKeptStmt.all() as { writer: string; seq: number }[]).map((r) => [r.writer, Number(r.seq)]));
      }),
    // The retention cut signed by prune.ts: exactly each writer's prefix up to its seq.
    pruneThrough: (cuts) =>
      settle(() =>
        inTransaction(() => {
          for (const [writer, seq] of cuts) pruneThroughStmt.run(writer, seq);
        }),
      ),
    // Stored checkpoints older than a retention cut (the prune checkpoint at the cut is kept).
    pruneCheckpoints: (cuts) =>
      settle(() =>
        inTransaction(() => {
          for (const [writer, seq] of cuts) pruneCheckpointsStmt.run(writer, seq);
        }),
      ),
    close: async () => {
      await checkpointer?.stop();
      db.close();
    },
  };
}
