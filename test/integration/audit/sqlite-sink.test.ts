import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { recordHash } from '../../../src/audit/chain.ts';
import type { RequestAuditEvent } from '../../../src/audit/event.ts';
import { GENESIS_HASH } from '../../../src/audit/record.ts';
import { openSqliteAuditStore } from '../../../src/audit/sinks/sqlite-store.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import { startTrailGateway, tempDir } from './trail-gateway.ts';

interface Row {
  writer: string;
  seq: number;
  hash: string;
  prev_hash: string;
  time_ms: number;
  type: string;
  request_id: string;
  method: string;
  path: string;
  route: string | null;
  status: number;
  allow: number | null;
  code: string;
  json: string;
}

void test('SQLite sink: every request is a row of one chain, with its columns, beside the same JSON lines', async (t) => {
  const dir = tempDir(t);
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const db = join(dir, 'audit.db');
  const jsonl = join(dir, 'audit.jsonl');
  const gw = await startTrailGateway(
    upstream.url,
    dir,
    [
      `  sinks: [{ type: sqlite, path: ${JSON.stringify(db)} }, { type: jsonl, path: ${JSON.stringify(jsonl)} }]`,
      `  spool: { dir: ${JSON.stringify(join(dir, 'spool'))} }`,
      '  batch: { maxEvents: 7, maxDelayMs: 20 }',
    ].join('\n'),
  );
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`${gw.url}${i % 10 === 9 ? '/nowhere' : `/api/items/${i}?token=secret`}`);
    await res.arrayBuffer();
    ids.push(res.headers.get('x-request-id') ?? '');
  }
  await gw.runtime.gateway.flushAudit();
  assert.equal(await gw.metric('cortex_audit_queue_depth{sink="sqlite:' + db + '"}'), 0);
  assert.ok((await gw.metric('cortex_audit_batches_total{sink="sqlite:' + db + '",result="ok"}')) >= 5, 'batches of at most 7');
  await gw.close();

  const rows = new DatabaseSync(db, { readOnly: true }).prepare('SELECT * FROM audit_records ORDER BY seq').all() as unknown as Row[];
  const requests = rows.filter((r) => r.type === 'request');
  assert.deepEqual(requests.map((r) => r.request_id), ids);
  const writers = new Set(rows.map((r) => r.writer));
  assert.equal(writers.size, 1);
  let prev = GENESIS_HASH;
  rows.forEach((r, i) => {
    assert.equal(r.seq, i + 1);
    assert.equal(r.prev_hash, prev);
    assert.equal(r.hash, recordHash(prev, r.json));
    prev = r.hash;
  });
  const first = requests[0] as Row;
  const event = JSON.parse(first.json) as RequestAuditEvent;
  assert.deepEqual(
    [first.method, first.path, first.route, first.status, first.code, first.allow, first.time_ms],
    ['GET', '/api/items/0', 'api', 200, 'ok', null, Date.parse(event.time)],
  );
  assert.doesNotMatch(first.json, /secret/);
  const missed = requests[9] as Row;
  assert.deepEqual([missed.path, missed.route, missed.status, missed.code], ['/nowhere', null, 404, 'route.not_found']);

  // The JSON-lines sink got the very same records.
  const lines = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { writer: string; seq: number; hash: string; event: unknown });
  assert.deepEqual(lines.map((l) => [l.writer, l.seq, l.hash]), rows.map((r) => [r.writer, r.seq, r.hash]));
  assert.deepEqual(lines[0]?.event, JSON.parse(rows[0]?.json ?? ''));

  // Read back through the store: the chain in order, and the query path.
  const store = openSqliteAuditStore(db);
  t.after(() => store.close());
  assert.deepEqual(await store.writers(), [...writers]);
  const back = await store.records([...writers][0] ?? '', 1, 1000);
  assert.deepEqual(back.map((r) => r.hash), rows.map((r) => r.hash));
  const page = await store.query({ route: 'api', limit: 5 });
  assert.equal(page.events.length, 5);
  assert.ok(page.next !== undefined);
  // A replayed batch changes nothing.
  await store.writeBatch(back.slice(0, 3));
  assert.equal((await store.records([...writers][0] ?? '', 1, 1000)).length, rows.length);
});
