// PostgreSQL: a trail written before columns.ts took agent and person from a token exchange's
// `exchange` is backfilled once, when the store first reaches the database (a row in
// <table>_migrations records it), in a database of its own on the real server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createChain } from '../../../src/audit/chain.ts';
import { recordColumns } from '../../../src/audit/columns.ts';
import { buildAuditEvent } from '../../../src/audit/event.ts';
import type { AuditEvent, AuditInput } from '../../../src/audit/event.ts';
import { openPostgresAuditStore } from '../../../src/audit/sinks/postgres-store.ts';
import { verifyTrail } from '../../../src/audit/verify.ts';
import { openPostgresTrailReader } from '../../../src/audit/verify-source.ts';
import { PG_URL } from './trail-gateway.ts';

function event(i: number, path: string, extra: Partial<AuditInput> = {}): AuditEvent {
  return buildAuditEvent({
    id: `req-${i}`,
    time: Date.UTC(2025, 0, 1) + i,
    stage: 'test',
    request: { method: 'POST', host: 'h', path, clientIp: '127.0.0.1' },
    outcome: { status: 200, code: 'ok', durationMs: 1, bytesIn: 0, bytesOut: 0 },
    ...extra,
  });
}

async function ownDatabase(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const name = `cortex_backfill_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  t.after(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

void test('PostgreSQL: exchange rows stored before the fix get agent and person, once, as recordColumns derives them', async (t) => {
  const url = await ownDatabase(t);
  const table = 'audit_records';
  const chain = createChain('w');
  const records = [
    chain.next(event(1, '/.cortex/token', { exchange: { agent: 'assistant', person: { issuer: 'https://idp.test', subject: 'sub-bob' }, intents: ['orders:read'] } })),
    chain.next(event(2, '/orders', { identity: { subject: 'sub-alice', issuer: 'i', provider: 'p', kind: 'user', method: 'jwt', roles: [] } })),
    chain.next(event(3, '/.cortex/token', { exchange: { refused: 'invalid_grant' } })),
  ];
  const first = openPostgresAuditStore(url, table);
  await first.writeBatch(records);
  await first.close();

  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {}); // DROP DATABASE ... WITH (FORCE) ends it if an assertion failed first
  await client.connect();
  // The table as an older Cortex left it: no exchange columns, no migration recorded.
  await client.query(`UPDATE ${table} SET agent = NULL, person = NULL WHERE path = '/.cortex/token'`);
  await client.query(`DELETE FROM ${table}_migrations`);
  const verifyProblem = async (): Promise<string | undefined> => {
    const reader = openPostgresTrailReader(url, table);
    try {
      return (await verifyTrail(reader, { publicKey: () => undefined, externalCheckpoints: [] })).writers[0]?.problem?.detail;
    } finally {
      await reader.close();
    }
  };
  // cortex audit verify (read-only) checks the older rows as the backfill will leave them.
  assert.equal(await verifyProblem(), undefined);

  const second = openPostgresAuditStore(url, table);
  assert.deepEqual((await second.query({ agent: 'assistant' })).events.map((e) => e.id), ['req-1']);
  assert.deepEqual((await second.query({ user: 'sub-bob' })).events.map((e) => e.id), ['req-1']);
  await second.close();
  const rows = (await client.query<{ agent: string | null; person: string | null }>(`SELECT agent, person FROM ${table} ORDER BY seq`)).rows;
  assert.deepEqual(
    rows.map((r) => [r.agent, r.person]),
    records.map((r) => [recordColumns(r).agent, recordColumns(r).person]),
  );
  assert.deepEqual((await client.query(`SELECT name FROM ${table}_migrations`)).rows, [{ name: 'exchange-agent-person' }]);
  assert.equal(await verifyProblem(), undefined);

  // Once only, also with two stores starting at the same time: a value changed since stays changed.
  await client.query(`UPDATE ${table} SET agent = 'someone-else' WHERE seq = 1`);
  const a = openPostgresAuditStore(url, table);
  const b = openPostgresAuditStore(url, table);
  await Promise.all([a.writeBatch([]), b.writeBatch([])]);
  await Promise.all([a.close(), b.close()]);
  assert.equal((await client.query<{ agent: string }>(`SELECT agent FROM ${table} WHERE seq = 1`)).rows[0]?.agent, 'someone-else');
  assert.match((await verifyProblem()) ?? '', /column agent differs/, 'after the backfill, a changed column is an edit');
  await client.end();
});
