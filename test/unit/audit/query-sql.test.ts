import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuditQueryError, buildQuery, decodeCursor, encodeCursor, pageFromRows, parseSince, queryProblem } from '../../../src/audit/query-sql.ts';
import type { AuditQuery } from '../../../src/audit/record.ts';

const EVIL = "x' OR 1=1; DROP TABLE audit_records; --";

describe('buildQuery', () => {
  it('without filters: newest first, limit + 1 rows, default limit 100', () => {
    const q = buildQuery('sqlite', 'audit_records', {});
    assert.equal(q.sql, 'SELECT json, time_ms, writer, seq FROM audit_records ORDER BY time_ms DESC, writer DESC, seq DESC LIMIT ?');
    assert.deepEqual(q.params, [101]);
    assert.equal(q.limit, 100);
  });

  it('each filter becomes a condition on its column with a bound value', () => {
    const cases: [AuditQuery, string, unknown][] = [
      [{ agent: 'a1' }, 'agent = ?', 'a1'],
      [{ kind: 'agent' }, 'kind = ?', 'agent'],
      [{ intent: 'orders:delete' }, 'intent = ?', 'orders:delete'],
      [{ route: 'orders' }, 'route = ?', 'orders'],
      [{ status: 403 }, 'status = ?', 403],
      [{ requestId: 'req-1' }, 'request_id = ?', 'req-1'],
      [{ type: 'system' }, 'type = ?', 'system'],
      [{ sinceMs: 1000 }, 'time_ms >= ?', 1000],
      [{ untilMs: 2000 }, 'time_ms < ?', 2000],
    ];
    for (const [filter, condition, value] of cases) {
      const q = buildQuery('sqlite', 't', filter);
      assert.ok(q.sql.includes(`WHERE ${condition}`), `${JSON.stringify(filter)}: ${q.sql}`);
      assert.deepEqual(q.params, [value, 101]);
    }
  });

  it('denied: a refused decision, or a 401/403 from authentication or authorization', () => {
    const q = buildQuery('postgres', 't', { denied: true });
    assert.match(q.sql, /WHERE \(allow = FALSE OR \(status IN \(401, 403\) AND \(code LIKE 'authn\.%' OR code LIKE 'authz\.%'\)\)\)/);
    assert.deepEqual(q.params, [101]);
  });

  it('user: a UNION of subject, username and person branches, each limited, merged newest first', () => {
    const q = buildQuery('postgres', 't', { user: 'bob', intent: 'orders:delete', limit: 10 });
    assert.equal(q.sql.match(/ UNION /g)?.length, 2);
    assert.ok(!q.sql.includes('UNION ALL'));
    for (const column of ['subject', 'username', 'person']) assert.ok(q.sql.includes(`WHERE ${column} = $`), column);
    assert.deepEqual(q.params, ['bob', 'orders:delete', 11, 'bob', 'orders:delete', 11, 'bob', 'orders:delete', 11, 11]);
    assert.match(q.sql, /\) AS u ORDER BY time_ms DESC, writer DESC, seq DESC LIMIT \$10$/);
  });

  it('on SQLite, a user branch keeps the broader agent/intent/route indexes out of the plan', () => {
    const q = buildQuery('sqlite', 't', { user: 'bob', intent: 'orders:delete', agent: 'bot', route: 'orders', requestId: 'r1' });
    assert.ok(q.sql.includes('WHERE subject = ? AND +agent = ? AND +intent = ? AND +route = ? AND request_id = ?'), q.sql);
    assert.ok(buildQuery('sqlite', 't', { intent: 'orders:delete' }).sql.includes('WHERE intent = ?'));
  });

  it('numbers PostgreSQL placeholders in order', () => {
    const q = buildQuery('postgres', 't', { route: 'r', status: 200, sinceMs: 5 });
    assert.ok(q.sql.includes('route = $1 AND status = $2 AND time_ms >= $3'));
    assert.ok(q.sql.endsWith('LIMIT $4'));
  });

  it('a cursor continues strictly after the last row of the page', () => {
    const cursor = encodeCursor({ timeMs: 5000, writer: 'w2', seq: 9 });
    const q = buildQuery('sqlite', 't', { cursor, limit: 5 });
    assert.ok(q.sql.includes('time_ms <= ? AND (time_ms < ? OR writer < ? OR (writer = ? AND seq < ?))'));
    assert.deepEqual(q.params, [5000, 5000, 'w2', 'w2', 9, 6]);
  });

  it('string filters never reach the SQL text, whatever they contain', () => {
    for (const key of ['user', 'agent', 'kind', 'intent', 'route', 'requestId', 'type'] as const) {
      for (const dialect of ['sqlite', 'postgres'] as const) {
        const q = buildQuery(dialect, 't', { [key]: EVIL });
        assert.ok(!q.sql.includes(EVIL) && !q.sql.includes('DROP'), `${key} leaked into ${q.sql}`);
        assert.ok(q.params.includes(EVIL), key);
      }
    }
  });

  it('refuses a table name that is not a plain identifier', () => {
    for (const table of ['t; DROP TABLE x', 'a.b', '"t"', '', '1t']) assert.throws(() => buildQuery('sqlite', table, {}), /not a plain SQL identifier/);
  });

  it('refuses bad filters as usage errors', () => {
    const bad: AuditQuery[] = [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { status: 99 }, { status: 600 }, { user: '' }, { agent: 'x'.repeat(513) }, { sinceMs: -1 }, { untilMs: 1.5 }];
    for (const filter of bad) {
      assert.ok(queryProblem(filter) !== undefined, JSON.stringify(filter));
      assert.throws(() => buildQuery('sqlite', 't', filter), AuditQueryError);
    }
    assert.equal(buildQuery('sqlite', 't', { limit: 1000 }).limit, 1000);
  });
});

describe('cursor', () => {
  it('round-trips a position', () => {
    const p = { timeMs: 1_764_000_000_123, writer: 'host/123/1764/abc', seq: 42 };
    assert.deepEqual(decodeCursor(encodeCursor(p)), p);
  });

  it('refuses tampered, foreign or malformed cursors with a usage error', () => {
    const good = encodeCursor({ timeMs: 1, writer: 'w', seq: 1 });
    const json = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const bad = [
      '',
      'not base64!',
      `${good}$`,
      Buffer.from('not json').toString('base64url'),
      json([1, 'w', 1]),
      json({ t: '1', w: 'w', s: 1 }),
      json({ t: 1, w: 'w', s: 0 }),
      json({ t: 1, w: '', s: 1 }),
      json({ t: -5, w: 'w', s: 1 }),
      json({ t: 1, w: 'w', s: 1, x: "' OR 1=1" }),
      json({ t: 1, w: 'w' }),
      json({ t: 1e300, w: 'w', s: 1 }),
      'A'.repeat(2000),
    ];
    for (const cursor of bad) {
      assert.throws(() => decodeCursor(cursor), AuditQueryError, cursor);
      assert.throws(() => buildQuery('sqlite', 't', { cursor }), AuditQueryError, cursor);
    }
  });

  it('a value smuggled in a cursor is still a bound parameter', () => {
    const cursor = encodeCursor({ timeMs: 1, writer: EVIL, seq: 1 });
    const q = buildQuery('postgres', 't', { cursor });
    assert.ok(!q.sql.includes(EVIL));
    assert.ok(q.params.includes(EVIL));
  });
});

describe('pageFromRows', () => {
  const row = (i: number): { json: string; time_ms: string; writer: string; seq: string } => ({ json: JSON.stringify({ id: `r${i}` }), time_ms: String(1000 - i), writer: 'w', seq: String(100 - i) });

  it('gives a next cursor at the last kept row when there is one row more', () => {
    const page = pageFromRows([row(0), row(1), row(2)], 2);
    assert.deepEqual(page.events.map((e) => e.id), ['r0', 'r1']);
    assert.deepEqual(decodeCursor(page.next as string), { timeMs: 999, writer: 'w', seq: 99 });
  });

  it('has no next on the last page', () => {
    assert.equal(pageFromRows([row(0), row(1)], 2).next, undefined);
    assert.deepEqual(pageFromRows([], 2), { events: [] });
  });
});

describe('parseSince', () => {
  const now = Date.parse('2026-11-26T12:00:00Z');
  it('takes durations before now', () => {
    assert.equal(parseSince('1h', now), now - 3_600_000);
    assert.equal(parseSince('30m', now), now - 1_800_000);
    assert.equal(parseSince('7d', now), now - 7 * 86_400_000);
    assert.equal(parseSince('2w', now), now - 14 * 86_400_000);
    assert.equal(parseSince('45s', now), now - 45_000);
  });
  it('takes ISO times and dates', () => {
    assert.equal(parseSince('2026-11-20T08:00:00Z', now), Date.parse('2026-11-20T08:00:00Z'));
    assert.equal(parseSince('2026-11-20T08:00:00+01:00', now), Date.parse('2026-11-20T07:00:00Z'));
    assert.equal(parseSince('2026-11-20', now), Date.parse('2026-11-20T00:00:00Z'));
  });
  it('refuses anything else', () => {
    for (const text of ['', '1', 'h', '1y', '-1h', 'yesterday', '2026-13-45', "1h' OR 1=1"]) assert.equal(parseSince(text, now), undefined, text);
  });
});
