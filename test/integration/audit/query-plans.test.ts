// Every filter of `cortex audit` / GET /api/audit is answered from an index on a big trail: 100,000
// generated events in SQLite and in PostgreSQL, each query's plan read back with EXPLAIN. (A million
// takes a minute to write: bench/audit-query.ts does that and reports the query times.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { SQLInputValue } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { SQLITE_AUDIT_TABLE } from '../../../src/audit/open-query-store.ts';
import { buildQuery } from '../../../src/audit/query-sql.ts';
import { openPostgresAuditStore } from '../../../src/audit/sinks/postgres-store.ts';
import { openSqliteAuditStore } from '../../../src/audit/sinks/sqlite-store.ts';
import { fillStore, generatedRecords, indexedQueries } from './query-fixture.ts';

const EVENTS = 100_000;
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const NOW = Date.parse('2026-11-26T12:00:00Z');
const SPAN = 30 * 86_400_000;

function median(fn: () => unknown): number {
  const times: number[] = [];
  for (let i = 0; i < 9; i += 1) {
    const started = performance.now();
    fn();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[4] as number;
}

describe(`audit query plans on SQLite (${EVENTS} events)`, () => {
  let dir: string;
  let db: DatabaseSync;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cortex-audit-plans-'));
    const path = join(dir, 'audit.db');
    const store = openSqliteAuditStore(path);
    await fillStore(store, generatedRecords(EVENTS, NOW, SPAN), 50_000);
    await store.close();
    db = new DatabaseSync(path, { readOnly: true });
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, filter] of indexedQueries(NOW)) {
    it(`${name}: every read of the table goes through an index`, (t) => {
      const q = buildQuery('sqlite', SQLITE_AUDIT_TABLE, filter);
      const args = q.params as SQLInputValue[];
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...args) as { detail: string }[]).map((r) => r.detail);
      const reads = plan.filter((d) => new RegExp(`^(SCAN|SEARCH) ${SQLITE_AUDIT_TABLE}\\b`).test(d));
      assert.ok(reads.length > 0, plan.join('\n'));
      for (const read of reads) assert.match(read, /USING (COVERING )?INDEX /, plan.join('\n'));
      if (filter.user !== undefined) {
        assert.equal(reads.length, 3, 'one index search per user column');
        for (const read of reads) assert.match(read, /_(subject|username|person)_time \((subject|username|person)=\?/, 'the person\'s own index');
      }
      const stmt = db.prepare(q.sql);
      t.diagnostic(`${name}: ${stmt.all(...args).length} rows, median ${median(() => stmt.all(...args)).toFixed(2)} ms; ${reads.join('; ')}`);
    });
  }
});

describe(`audit query plans on PostgreSQL (${EVENTS} events)`, () => {
  const table = `audit_plans_${process.pid}`;
  let client: pg.Client;

  before(async () => {
    client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${table}, ${table}_checkpoints, ${table}_migrations`);
    const store = openPostgresAuditStore(PG_URL, table);
    await fillStore(store, generatedRecords(EVENTS, NOW, SPAN), 5_000);
    await store.close();
    await client.query(`ANALYZE ${table}`);
  });
  after(async () => {
    await client.query(`DROP TABLE IF EXISTS ${table}, ${table}_checkpoints, ${table}_migrations`);
    await client.end();
  });

  for (const [name, filter] of indexedQueries(NOW)) {
    it(`${name}: no sequential scan of the table`, async (t) => {
      const q = buildQuery('postgres', table, filter);
      const plan = (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${q.sql}`, q.params)).rows.map((r) => r['QUERY PLAN']);
      const text = plan.join('\n');
      assert.doesNotMatch(text, new RegExp(`Seq Scan on ${table}\\b`), text);
      assert.match(text, new RegExp(`Index (Only )?Scan( Backward)? using ${table}_|Bitmap Index Scan on ${table}_`), text);
      const started = performance.now();
      const rows = (await client.query(q.sql, q.params)).rowCount;
      t.diagnostic(`${name}: ${rows} rows in ${(performance.now() - started).toFixed(2)} ms; ${plan.filter((l) => /Scan/.test(l)).map((l) => l.trim().replace(/\s+\(cost.*$/, '')).join('; ')}`);
    });
  }
});
