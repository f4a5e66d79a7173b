// A token exchange's audit event names its agent and person in `exchange`: the agent and person
// columns take them (so `cortex audit --agent` / `--user` find exchanges), and a SQLite trail
// written before that is backfilled once, behind PRAGMA user_version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createChain } from '../../../src/audit/chain.ts';
import { recordColumns } from '../../../src/audit/columns.ts';
import { buildAuditEvent } from '../../../src/audit/event.ts';
import type { AuditEvent, AuditInput } from '../../../src/audit/event.ts';
import { openSqliteAuditStore } from '../../../src/audit/sinks/sqlite-store.ts';
import { exchangeBackfillSql } from '../../../src/audit/sinks/store-sql.ts';
import { verifyTrail } from '../../../src/audit/verify.ts';
import { openSqliteTrailReader } from '../../../src/audit/verify-source.ts';

function tokenExchange(i: number, extra: Partial<AuditInput> = {}): AuditEvent {
  return buildAuditEvent({
    id: `req-${i}`,
    time: Date.UTC(2025, 0, 1) + i,
    stage: 'test',
    request: { method: 'POST', host: 'h', path: '/.cortex/token', clientIp: '127.0.0.1' },
    outcome: { status: 200, code: 'ok', durationMs: 1, bytesIn: 0, bytesOut: 0 },
    exchange: { agent: 'assistant', person: { issuer: 'https://idp.test', subject: 'sub-bob' }, consent: 'grant', intents: ['orders:read'] },
    ...extra,
  });
}

function ordinary(i: number): AuditEvent {
  return buildAuditEvent({
    id: `req-${i}`,
    time: Date.UTC(2025, 0, 1) + i,
    stage: 'test',
    request: { method: 'GET', host: 'h', path: '/orders', clientIp: '127.0.0.1' },
    outcome: { status: 200, code: 'ok', durationMs: 1, bytesIn: 0, bytesOut: 0 },
    identity: { subject: 'sub-alice', issuer: 'i', provider: 'p', kind: 'user', method: 'jwt', roles: [] },
  });
}

void test('a token exchange fills agent and person from its exchange, whoever authenticated the call', () => {
  const anonymousCall = recordColumns(createChain('w').next(tokenExchange(1)));
  assert.deepEqual([anonymousCall.agent, anonymousCall.person, anonymousCall.subject], ['assistant', 'sub-bob', null]);
  const byAgentClient = recordColumns(
    createChain('w').next(tokenExchange(2, { identity: { subject: 'assistant-client', issuer: 'i', provider: 'p', kind: 'agent', method: 'jwt', roles: [] } })),
  );
  assert.deepEqual([byAgentClient.agent, byAgentClient.person, byAgentClient.subject], ['assistant', 'sub-bob', 'assistant-client']);
  const refused = recordColumns(createChain('w').next(tokenExchange(3, { exchange: { refused: 'invalid_grant' } })));
  assert.deepEqual([refused.agent, refused.person], [null, null]);
});

void test('SQLite: rows stored before the fix are backfilled once, exactly as recordColumns derives them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-backfill-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'audit.db');
  const chain = createChain('w');
  const records = [chain.next(tokenExchange(1)), chain.next(ordinary(2)), chain.next(tokenExchange(3, { exchange: { refused: 'invalid_grant' } }))];
  const store = openSqliteAuditStore(path);
  await store.writeBatch(records);
  await store.close();

  // The file as an older Cortex left it: no exchange columns, user_version 0.
  const old = new DatabaseSync(path);
  old.exec(`UPDATE audit_records SET agent = NULL, person = NULL WHERE path = '/.cortex/token'; PRAGMA user_version = 0`);
  old.close();

  const reopened = openSqliteAuditStore(path);
  const page = await reopened.query({ agent: 'assistant' });
  assert.deepEqual(page.events.map((e) => e.id), ['req-1']);
  assert.deepEqual((await reopened.query({ user: 'sub-bob' })).events.map((e) => e.id), ['req-1']);
  await reopened.close();

  const db = new DatabaseSync(path);
  t.after(() => db.close());
  const rows = db.prepare('SELECT seq, agent, person FROM audit_records ORDER BY seq').all() as { seq: number; agent: string | null; person: string | null }[];
  assert.deepEqual(
    rows.map((r) => [r.agent, r.person]),
    records.map((r) => [recordColumns(r).agent, recordColumns(r).person]),
  );
  assert.equal((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, 1);

  // Once only: a later open does not run it again (a value changed since stays changed).
  db.exec(`UPDATE audit_records SET agent = 'someone-else' WHERE seq = 1`);
  await openSqliteAuditStore(path).close();
  assert.equal((db.prepare('SELECT agent FROM audit_records WHERE seq = 1').get() as { agent: string }).agent, 'someone-else');
});

void test('the backfill SQL touches only token exchanges with an exchange, and keeps a column the event does not name', () => {
  const db = new DatabaseSync(':memory:');
  db.exec(`CREATE TABLE t (path TEXT, agent TEXT, person TEXT, json TEXT)`);
  const insert = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?)');
  insert.run('/.cortex/token', null, null, JSON.stringify({ exchange: { agent: 'a1', person: { subject: 'p1' } } }));
  insert.run('/.cortex/token', 'kept', null, JSON.stringify({ exchange: { refused: 'invalid_grant' } }));
  insert.run('/other', null, null, JSON.stringify({ exchange: { agent: 'a2' } }));
  insert.run('/.cortex/token', null, null, JSON.stringify({ who: null }));
  db.exec(exchangeBackfillSql('sqlite', 't'));
  assert.deepEqual(
    (db.prepare('SELECT agent, person FROM t ORDER BY rowid').all() as { agent: string | null; person: string | null }[]).map((r) => [r.agent, r.person]),
    [['a1', 'p1'], ['kept', null], [null, null], [null, null]],
  );
  db.close();
});

void test('cortex audit verify (read-only) checks a trail no gateway has backfilled yet as the backfill will leave it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-backfill-verify-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'audit.db');
  const chain = createChain('w');
  const store = openSqliteAuditStore(path);
  await store.writeBatch([chain.next(tokenExchange(1)), chain.next(ordinary(2))]);
  await store.close();
  const db = new DatabaseSync(path);
  t.after(() => db.close());
  db.exec(`UPDATE audit_records SET agent = NULL, person = NULL WHERE path = '/.cortex/token'; PRAGMA user_version = 0`);

  const verifyFile = async (): Promise<string | undefined> => {
    const reader = openSqliteTrailReader(path);
    try {
      const report = await verifyTrail(reader, { publicKey: () => undefined, externalCheckpoints: [] });
      return report.writers[0]?.problem?.detail;
    } finally {
      await reader.close();
    }
  };
  assert.equal(await verifyFile(), undefined, 'an older trail is not reported as edited');
  // Once the file says it was backfilled, a missing value is an edit like any other.
  db.exec('PRAGMA user_version = 1');
  assert.match((await verifyFile()) ?? '', /column agent differs/);
});
