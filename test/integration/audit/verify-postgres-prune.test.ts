// Tamper evidence on PostgreSQL (a fleet's trail): a real gateway's trail verifies, and a deleted
// newest row is caught. Retention on SQLite: the gateway's periodic prune cuts an old writer's
// chain behind a signed checkpoint, and the trail still verifies.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import pg from 'pg';
import { createChain } from '../../../src/audit/chain.ts';
import type { AuditEvent } from '../../../src/audit/event.ts';
import { openSqliteAuditStore } from '../../../src/audit/sinks/sqlite-store.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import { PG_URL, tempDir } from './trail-gateway.ts';
import { startVerifyGateway, verify } from './verify-kit.ts';

const DAY = 86_400_000;

void test('PostgreSQL: a real trail verifies, and its newest row deleted is caught', async (t) => {
  const dir = tempDir(t);
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const table = `verify_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  t.after(async () => {
    await client.query(`DROP TABLE IF EXISTS ${table}, ${table}_checkpoints, ${table}_migrations`);
    await client.end();
  });
  const gw = await startVerifyGateway(dir, upstream.url, `{ type: postgres, url: "${PG_URL}", table: ${table} }`);
  for (const p of ['/api/1', '/api/2', '/api/3']) assert.equal((await fetch(`${gw.url}${p}`)).status, 200);
  await gw.runtime.close(1_000);

  const ok = await verify(['--config', gw.configFile]);
  assert.equal(ok.code, 0, ok.out + ok.err);
  const last = Number((await client.query<{ m: string }>(`SELECT MAX(seq) AS m FROM ${table}`)).rows[0]?.m);
  assert.match(ok.out, new RegExp(`ok through seq ${last} `));

  await client.query(`DELETE FROM ${table} WHERE seq = $1`, [last]);
  const deleted = await verify(['--config', gw.configFile]);
  assert.equal(deleted.code, 1);
  assert.match(deleted.out, new RegExp(`seq ${last} deleted \\(the chain ends at seq ${last - 1}`));
});

void test('retention: the periodic prune signs the cut, deletes behind it, and the trail still verifies', async (t) => {
  const dir = tempDir(t);
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  // A writer of a run ten days ago, already in the trail (no checkpoint of its own survived).
  const db = join(dir, 'audit.db');
  const old = openSqliteAuditStore(db);
  const chain = createChain('old-host/1/0/beef');
  const now = Date.now();
  await old.writeBatch(Array.from({ length: 5 }, (_, i) => chain.next({ v: 1, type: 'request', id: `old-${i}`, time: new Date(now - (10 - i) * DAY).toISOString() } as unknown as AuditEvent)));
  await old.close();

  const gw = await startVerifyGateway(dir, upstream.url, '{ type: sqlite, path: $DB }', ['  retention: { maxAgeMs: 86400000, pruneIntervalMs: 50 }']);
  assert.equal((await fetch(`${gw.url}/api/new`)).status, 200);
  const reader = new DatabaseSync(db, { readOnly: true });
  const oldRows = (): number => (reader.prepare("SELECT COUNT(*) AS n FROM audit_records WHERE writer = 'old-host/1/0/beef'").get() as { n: number }).n;
  while (oldRows() > 0) await sleep(20);
  reader.close();
  await gw.runtime.close(1_000);

  const r = await verify(['--config', gw.configFile]);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /writer old-host\/1\/0\/beef: ok, pruned through seq 5/);
  assert.match(r.out, /writer (?!old-host)\S+: ok through seq \d+ \(checkpoint at/);
});
