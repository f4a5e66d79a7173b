import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { recordHash } from '../../../src/audit/chain.ts';
import { GENESIS_HASH } from '../../../src/audit/record.ts';
import { assertProblem, eventually, send } from '../../helpers/gateway-checks.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { PG_URL, startTcpProxy, startTrailGateway, tempDir } from './trail-gateway.ts';

interface Row {
  writer: string;
  seq: string;
  hash: string;
  prev_hash: string;
  request_id: string;
  type: string;
  json: string;
}

async function withTable(t: { after(fn: () => Promise<void>): void }): Promise<{ table: string; rows: () => Promise<Row[]> }> {
  const table = `cortex_audit_t${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  t.after(async () => {
    await client.query(`DROP TABLE IF EXISTS ${table}; DROP TABLE IF EXISTS ${table}_checkpoints; DROP TABLE IF EXISTS ${table}_migrations`);
    await client.end();
  });
  return { table, rows: async () => (await client.query<Row>(`SELECT * FROM ${table} ORDER BY writer, seq`)).rows };
}

/** Each writer's rows are 1..n with every link intact: no gap, no duplicate, no reordering. */
function assertChains(rows: readonly Row[]): void {
  const byWriter = Map.groupBy(rows, (r) => r.writer);
  for (const [writer, list] of byWriter) {
    let prev = GENESIS_HASH;
    list.forEach((r, i) => {
      assert.equal(Number(r.seq), i + 1, `${writer}: seq ${r.seq} at position ${i + 1}`);
      assert.equal(r.prev_hash, prev);
      assert.equal(r.hash, recordHash(prev, r.json));
      prev = r.hash;
    });
  }
}

async function get(url: string): Promise<{ status: number; id: string; body: string; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, id: res.headers.get('x-request-id') ?? '', body: await res.text(), headers: res.headers };
}

async function echo(t: { after(fn: () => Promise<void>): void }): Promise<TestUpstream> {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  return upstream;
}

function auditYaml(url: string, table: string, spoolDir: string, extra: string[] = []): string {
  return [
    `  sinks: [{ type: postgres, url: ${JSON.stringify(url)}, table: ${table} }]`,
    `  spool: { dir: ${JSON.stringify(spoolDir)} }`,
    '  batch: { maxEvents: 20, maxDelayMs: 10 }',
    ...extra,
  ].join('\n');
}

void test('PostgreSQL sink: requests become rows of one chain in the configured table', async (t) => {
  const dir = tempDir(t);
  const upstream = await echo(t);
  const { table, rows } = await withTable(t);
  const gw = await startTrailGateway(upstream.url, dir, auditYaml(PG_URL, table, join(dir, 'spool')));
  const ids: string[] = [];
  for (let i = 0; i < 45; i++) ids.push((await get(`${gw.url}/api/x/${i}`)).id);
  await gw.close();
  const got = (await rows()).filter((r) => r.type === 'request');
  assert.deepEqual(got.map((r) => r.request_id), ids);
  assertChains(await rows());
});

void test('cut off from PostgreSQL mid-load: traffic keeps flowing and no event is lost, duplicated or reordered', async (t) => {
  const dir = tempDir(t);
  const upstream = await echo(t);
  const { table, rows } = await withTable(t);
  const proxy = await startTcpProxy(5432);
  t.after(() => proxy.close());
  const gw = await startTrailGateway(upstream.url, dir, auditYaml(`postgres://postgres@127.0.0.1:${proxy.port}/test`, table, join(dir, 'spool')));
  t.after(() => gw.close());
  const sink = `cortex_audit_spool_bytes{sink="postgres:127.0.0.1:${proxy.port}/test/${table}"}`;

  const ids: string[] = [];
  /** 8 clients at once, `n` requests each; every one must be served. */
  const load = async (n: number): Promise<void> => {
    await Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        for (let i = 0; i < n; i++) {
          const r = await get(`${gw.url}/api/load/${c}/${i}`);
          assert.equal(r.status, 200);
          ids.push(r.id);
        }
      }),
    );
  };
  await load(15);
  proxy.cut();
  await load(25);
  // The outage is real: batches failed and wait in the spool.
  await gw.runtime.gateway.flushAudit();
  assert.ok((await gw.metric(sink)) > 0, 'events are spooled while PostgreSQL is unreachable');
  await load(10);
  proxy.restore();
  await load(15);
  // A request's event is written as it completes, just after its reply: wait for the last ones.
  const all = await eventually(async () => {
    await gw.runtime.gateway.flushAudit();
    const got = await rows();
    return got.filter((r) => r.type === 'request').length >= ids.length ? got : undefined;
  }, 'every request in PostgreSQL', 10_000);
  assert.equal(await gw.metric(sink), 0);

  assertChains(all);
  assert.equal(new Set(all.map((r) => r.writer)).size, 1);
  const recorded = new Set(all.filter((r) => r.type === 'request').map((r) => r.request_id));
  assert.equal(ids.length, 8 * 65);
  assert.deepEqual(ids.filter((id) => !recorded.has(id)), []);
  assert.equal(all.filter((r) => r.type === 'request').length, ids.length);
});

void test('a spool left by a run that stopped while PostgreSQL was down is replayed by the next start', async (t) => {
  const dir = tempDir(t);
  const upstream = await echo(t);
  const { table, rows } = await withTable(t);
  const proxy = await startTcpProxy(5432);
  t.after(() => proxy.close());
  const url = `postgres://postgres@127.0.0.1:${proxy.port}/test`;
  const spoolDir = join(dir, 'spool');

  proxy.cut();
  const first = await startTrailGateway(upstream.url, dir, auditYaml(url, table, spoolDir));
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) ids.push((await get(`${first.url}/api/before/${i}`)).id);
  await first.close(); // bounded: PostgreSQL refuses, the records stay in the spool
  const spoolFile = join(spoolDir, `postgres_127.0.0.1_${proxy.port}_test_${table}.spool`);
  assert.ok(existsSync(spoolFile) && statSync(spoolFile).size > 0, 'the spool is kept on disk');

  proxy.restore();
  const second = await startTrailGateway(upstream.url, dir, auditYaml(url, table, spoolDir));
  for (let i = 0; i < 3; i++) ids.push((await get(`${second.url}/api/after/${i}`)).id);
  await second.close();

  const all = await rows();
  assertChains(all);
  assert.equal(new Set(all.map((r) => r.writer)).size, 2, 'one chain per run');
  const recorded = new Set(all.map((r) => r.request_id));
  assert.deepEqual(ids.filter((id) => !recorded.has(id)), []);
  assert.equal(statSync(spoolFile).size, 0);
});

void test('failClosed: 503 audit.unavailable while nothing can be recorded, served again once it can', async (t) => {
  const dir = tempDir(t);
  const upstream = await echo(t);
  const { table, rows } = await withTable(t);
  const proxy = await startTcpProxy(5432);
  t.after(() => proxy.close());
  // The spool directory is a file: the spool is unwritable, so a failing batch is lost.
  const notADir = join(dir, 'spool-is-a-file');
  writeFileSync(notADir, '');
  const gw = await startTrailGateway(upstream.url, dir, auditYaml(`postgres://postgres@127.0.0.1:${proxy.port}/test`, table, notADir, ['  failClosed: true']));
  t.after(() => gw.close());

  assert.equal((await get(`${gw.url}/api/ok`)).status, 200);
  await gw.runtime.gateway.flushAudit();
  const ready = async () => (await (await fetch(`${gw.adminUrl}/readyz`)).json()) as { components: Record<string, boolean> };
  assert.equal((await ready()).components.audit, true);

  proxy.cut();
  assert.equal((await get(`${gw.url}/api/during`)).status, 200, 'served before the failure is known');
  await gw.runtime.gateway.flushAudit();
  const refusedId = assertProblem(await send(`${gw.url}/api/refused`), 503, 'audit.unavailable');
  assert.equal((await ready()).components.audit, false);
  assert.ok((await gw.metric(`cortex_audit_dropped_total{sink="postgres:127.0.0.1:${proxy.port}/test/${table}"}`)) >= 1);

  proxy.restore();
  await gw.runtime.gateway.flushAudit(); // the replay attempt reaches PostgreSQL again
  const after = await get(`${gw.url}/api/after`);
  assert.equal(after.status, 200);
  assert.equal((await ready()).components.audit, true);
  const recorded = await eventually(async () => {
    await gw.runtime.gateway.flushAudit();
    const ids = (await rows()).map((r) => r.request_id);
    return ids.includes(after.id) ? ids : undefined;
  }, 'the request after recovery in PostgreSQL', 10_000);
  assert.ok(!recorded.includes(refusedId));
});
