// npx node bench/audit-query.ts [--events 1000000] [--keep FILE]
//
// Fills a SQLite audit trail (the gateway's own store, openSqliteAuditStore) with generated request
// events over 30 days, then times the queries of `cortex audit` / GET /api/audit on it: each one's
// plan (EXPLAIN QUERY PLAN) and the median of 20 runs of its first page (limit 100).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { SQLInputValue } from 'node:sqlite';
import { parseArgs } from 'node:util';
import { SQLITE_AUDIT_TABLE } from '../src/audit/open-query-store.ts';
import { buildQuery } from '../src/audit/query-sql.ts';
import { openSqliteAuditStore } from '../src/audit/sinks/sqlite-store.ts';
import { fillStore, generatedRecords, indexedQueries } from '../test/integration/audit/query-fixture.ts';

const { values } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, keep: { type: 'string' } } });
const count = Number(values.events);
const dir = mkdtempSync(join(tmpdir(), 'cortex-audit-bench-'));
const path = values.keep ?? join(dir, 'audit.db');
const now = Date.now();

const store = openSqliteAuditStore(path);
let started = performance.now();
await fillStore(store, generatedRecords(count, now, 30 * 86_400_000), 50_000);
const fillMs = performance.now() - started;
await store.close();
console.log(`filled ${count} events in ${(fillMs / 1000).toFixed(1)} s (${Math.round(count / (fillMs / 1000))} events/s, batches of 50k); file ${(statSync(path).size / 1e6).toFixed(0)} MB`);

const db = new DatabaseSync(path, { readOnly: true });
console.log('\n| query | rows | median ms | max ms | plan |\n|---|---|---|---|---|');
for (const [name, filter] of indexedQueries(now)) {
  const q = buildQuery('sqlite', SQLITE_AUDIT_TABLE, filter);
  const args = q.params as SQLInputValue[];
  const plan = (db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...args) as { detail: string }[]).map((r) => r.detail).filter((d) => /SCAN|SEARCH/.test(d));
  const stmt = db.prepare(q.sql);
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < 20; i += 1) {
    started = performance.now();
    rows = stmt.all(...args).length;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(`| ${name} | ${rows} | ${(times[10] as number).toFixed(2)} | ${(times[19] as number).toFixed(2)} | ${[...new Set(plan)].join('; ')} |`);
}
db.close();
if (values.keep === undefined) rmSync(dir, { recursive: true, force: true });
