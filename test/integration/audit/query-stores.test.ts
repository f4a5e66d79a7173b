// The queries of `cortex audit` / GET /api/audit on real stores: a SQLite file and a PostgreSQL
// table, written through the stores' writeBatch and read back through their query().
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { AuditEvent } from '../../../src/audit/event.ts';
import { openPostgresQueryStore, openSqliteQueryStore } from '../../../src/audit/open-query-store.ts';
import type { AuditQueryStore } from '../../../src/audit/open-query-store.ts';
import { AuditQueryError } from '../../../src/audit/query-sql.ts';
import type { AuditQuery, ChainedRecord, DurableAuditStore } from '../../../src/audit/record.ts';
import { openPostgresAuditStore } from '../../../src/audit/sinks/postgres-store.ts';
import { openSqliteAuditStore } from '../../../src/audit/sinks/sqlite-store.ts';
import { fillStore, recordOf, requestEvent } from './query-fixture.ts';
import type { EventSpec } from './query-fixture.ts';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const T = Date.parse('2026-11-20T10:00:00Z');
const MIN = 60_000;

/** The trail: people, an agent acting for two of them, refusals, and 30 events in one millisecond. */
function trail(): ChainedRecord[] {
  const specs: [string, EventSpec][] = [
    ['w-a', { id: 'alice-read', timeMs: T + 1 * MIN, subject: 'sub-alice', username: 'alice', intent: 'orders:read', allow: true }],
    ['w-a', { id: 'bob-read', timeMs: T + 2 * MIN, subject: 'sub-bob', username: 'bob', intent: 'orders:read', route: 'orders', allow: true }],
    ['w-b', { id: 'bob-delete', timeMs: T + 3 * MIN, subject: 'sub-bob', username: 'bob', method: 'DELETE', path: '/orders/7', route: 'orders', intent: 'orders:delete', allow: true, status: 204 }],
    ['w-b', { id: 'bob-denied', timeMs: T + 4 * MIN, subject: 'sub-bob', username: 'bob', method: 'DELETE', path: '/orders/8', intent: 'orders:delete', allow: false, status: 403, code: 'authz.denied' }],
    ['w-a', { id: 'bot-for-bob', timeMs: T + 5 * MIN, subject: 'orders-bot', kind: 'agent', person: 'sub-bob', method: 'POST', intent: 'orders:create', allow: true, status: 201 }],
    ['w-a', { id: 'bot-for-alice', timeMs: T + 6 * MIN, subject: 'orders-bot', kind: 'agent', person: 'sub-alice', method: 'DELETE', path: '/orders/9', intent: 'orders:delete', allow: true, status: 204 }],
    ['w-c', { id: 'anon-401', timeMs: T + 7 * MIN, status: 401, code: 'authn.missing_token' }],
    ['w-c', { id: 'anon-404', timeMs: T + 8 * MIN, status: 404, code: 'route.not_found' }],
    ['w-c', { id: 'carol', timeMs: T + 9 * MIN, subject: 'carol', username: 'carol', intent: 'orders:read', allow: true }],
    ['w-c', { id: 'no-intent-403', timeMs: T + 10 * MIN, subject: 'sub-alice', username: 'alice', status: 403, code: 'authz.intent_required' }],
  ];
  for (let i = 0; i < 30; i += 1) specs.push([`w-${'abc'[i % 3]}`, { id: `tie-${i}`, timeMs: T + 20 * MIN, subject: 'sub-dave', username: 'dave', allow: true }]);
  const seqs = new Map<string, number>();
  return specs.map(([writer, spec]) => {
    const seq = (seqs.get(writer) ?? 0) + 1;
    seqs.set(writer, seq);
    return recordOf(writer, seq, requestEvent(spec));
  });
}

const ids = (events: AuditEvent[]): string[] => events.map((e) => e.id);

/** Every page of a filter, following `next`. */
async function allPages(store: AuditQueryStore | DurableAuditStore, filter: AuditQuery): Promise<{ events: AuditEvent[]; pages: number }> {
  const events: AuditEvent[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.query(cursor === undefined ? filter : { ...filter, cursor });
    events.push(...page.events);
    pages += 1;
    cursor = page.next;
  } while (cursor !== undefined && pages < 100);
  return { events, pages };
}

const EVIL = ["x' OR '1'='1", "'; DROP TABLE audit_records; --", 'bob" OR 1=1 --', '\\x00', '%', '_'];

function queriesOn(name: string, open: () => Promise<{ store: DurableAuditStore; reader: AuditQueryStore; close(): Promise<void> }>): void {
  describe(`audit queries on ${name}`, () => {
    let store: DurableAuditStore;
    let reader: AuditQueryStore;
    let opened: { store: DurableAuditStore; reader: AuditQueryStore; close(): Promise<void> };
    const records = trail();
    // Newest first by (time, writer, seq), as the stores order them.
    const expected = [...records].sort((a, b) => Date.parse(b.event.time) - Date.parse(a.event.time) || (a.writer < b.writer ? 1 : a.writer > b.writer ? -1 : b.seq - a.seq));

    before(async () => {
      opened = await open();
      ({ store, reader } = opened);
      await fillStore(store, records);
    });
    after(() => opened.close());

    it('a per-person timeline: the person by subject or username, and what agents did for them', async () => {
      const byName = await store.query({ user: 'bob' });
      assert.deepEqual(ids(byName.events), ['bob-denied', 'bob-delete', 'bob-read']);
      const bySubject = await store.query({ user: 'sub-bob' });
      assert.deepEqual(ids(bySubject.events), ['bot-for-bob', 'bob-denied', 'bob-delete', 'bob-read']);
      assert.deepEqual(ids((await store.query({ user: 'sub-alice' })).events), ['no-intent-403', 'bot-for-alice', 'alice-read']);
    });

    it('a user whose subject is also their username is listed once per event', async () => {
      assert.deepEqual(ids((await store.query({ user: 'carol' })).events), ['carol']);
    });

    it('a per-intent view: who did orders:delete this week', async () => {
      const page = await store.query({ intent: 'orders:delete', sinceMs: T, untilMs: T + 7 * 86_400_000 });
      assert.deepEqual(ids(page.events), ['bot-for-alice', 'bob-denied', 'bob-delete']);
      assert.deepEqual(ids((await store.query({ intent: 'orders:delete', denied: true })).events), ['bob-denied']);
    });

    it('denied: refused decisions and authn/authz refusals, not other 4xx', async () => {
      assert.deepEqual(ids((await store.query({ denied: true })).events), ['no-intent-403', 'anon-401', 'bob-denied']);
      assert.deepEqual(ids((await store.query({ user: 'bob', denied: true })).events), ['bob-denied']);
    });

    it('by agent, kind, route, status, request id, and a time window', async () => {
      assert.deepEqual(ids((await store.query({ agent: 'orders-bot' })).events), ['bot-for-alice', 'bot-for-bob']);
      assert.deepEqual(ids((await store.query({ kind: 'agent', user: 'sub-bob' })).events), ['bot-for-bob']);
      assert.deepEqual(ids((await store.query({ route: 'orders' })).events), ['bob-delete', 'bob-read']);
      assert.deepEqual(ids((await store.query({ status: 204 })).events), ['bot-for-alice', 'bob-delete']);
      assert.deepEqual(ids((await store.query({ requestId: 'anon-404' })).events), ['anon-404']);
      assert.deepEqual(ids((await store.query({ sinceMs: T + 3 * MIN, untilMs: T + 5 * MIN })).events), ['bob-denied', 'bob-delete']);
    });

    it('pages newest first without duplicates or gaps, also through a tie of 30 events in one millisecond', async () => {
      for (const limit of [1, 7, 13, 100]) {
        const { events, pages } = await allPages(store, { limit });
        assert.deepEqual(ids(events), expected.map((r) => r.event.id), `limit ${limit}`);
        assert.equal(pages, Math.max(1, Math.ceil(records.length / limit)), `limit ${limit}`);
      }
      const dave = await allPages(store, { user: 'dave', limit: 4 });
      assert.deepEqual(ids(dave.events), expected.filter((r) => r.event.id.startsWith('tie-')).map((r) => r.event.id));
      assert.equal(new Set(ids(dave.events)).size, 30);
    });

    it('the last page has no next', async () => {
      const page = await store.query({ user: 'bob', limit: 3 });
      assert.equal(page.events.length, 3);
      assert.equal(page.next, undefined);
      assert.notEqual((await store.query({ user: 'bob', limit: 2 })).next, undefined);
    });

    it('injection attempts in every string filter are values: they match nothing and change nothing', async () => {
      for (const value of EVIL) {
        for (const key of ['user', 'agent', 'kind', 'intent', 'route', 'requestId', 'type'] as const) {
          assert.deepEqual((await store.query({ [key]: value })).events, [], `${key}=${value}`);
        }
      }
      assert.equal((await allPages(store, { limit: 1000 })).events.length, records.length);
    });

    it('a tampered cursor is a usage error', async () => {
      await assert.rejects(store.query({ cursor: 'eyJ0IjoxfQ' }), AuditQueryError);
      await assert.rejects(store.query({ cursor: "' OR 1=1 --" }), AuditQueryError);
    });

    it('the read-only opener answers the same', async () => {
      assert.deepEqual(ids((await reader.query({ user: 'sub-bob' })).events), ['bot-for-bob', 'bob-denied', 'bob-delete', 'bob-read']);
      assert.deepEqual(ids((await allPages(reader, { limit: 9 })).events), expected.map((r) => r.event.id));
    });
  });
}

queriesOn('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-audit-query-'));
  const path = join(dir, 'audit.db');
  const store = openSqliteAuditStore(path);
  await store.writeBatch([]);
  const reader = openSqliteQueryStore(path);
  return {
    store,
    reader,
    close: async () => {
      await reader.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

queriesOn('PostgreSQL', async () => {
  const table = `audit_query_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`DROP TABLE IF EXISTS ${table}, ${table}_checkpoints, ${table}_migrations`);
  const store = openPostgresAuditStore(PG_URL, table);
  const reader = openPostgresQueryStore(PG_URL, table);
  return {
    store,
    reader,
    close: async () => {
      await reader.close();
      await store.close();
      await admin.query(`DROP TABLE IF EXISTS ${table}, ${table}_checkpoints, ${table}_migrations`);
      await admin.end();
    },
  };
});
