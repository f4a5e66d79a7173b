// The admin session cookie (POST /api/session) and the live stream's filters, without a listener.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '../../../src/audit/event.ts';
import { createAdminSessions } from '../../../src/admin/admin-session.ts';
import { eventFilterFrom, matches } from '../../../src/admin/events-stream.ts';

const T0 = Date.UTC(2026, 0, 1);

test('a session cookie holds for 12 hours, for this token only, and not once altered', () => {
  const sessions = createAdminSessions('the-admin-token-0123456789');
  const cookie = sessions.issue(T0).split(';')[0] as string;
  assert.equal(sessions.check(cookie, T0 + 1_000), 'ok');
  assert.equal(sessions.check(`other=1; ${cookie}`, T0 + 1_000), 'ok');
  assert.equal(sessions.check(cookie, T0 + 12 * 3600_000 + 1_000), 'invalid', 'expired');
  assert.equal(createAdminSessions('another-token-0123456789').check(cookie, T0 + 1_000), 'invalid', 'a new token ends old sessions');
  const [name, value] = cookie.split('=') as [string, string];
  const later = value.replace(/^v1\.(\d+)\./, (_, exp: string) => `v1.${Number(exp) + 86_400}.`);
  assert.equal(sessions.check(`${name}=${later}`, T0 + 1_000), 'invalid', 'the expiry is signed');
  assert.equal(sessions.check(`${cookie}; ${cookie}`, T0 + 1_000), 'missing', 'two cookies of that name are refused');
  assert.equal(sessions.check(undefined, T0), 'missing');
  assert.equal(sessions.isToken('the-admin-token-0123456789'), true);
  assert.equal(sessions.isToken('the-admin-token-012345678'), false);
  assert.equal(createAdminSessions(undefined).check(cookie, T0 + 1_000), 'missing', 'no token configured: no session');
});

const who = { subject: 'assistant', issuer: 'i', provider: 'dev', kind: 'agent', method: 'bearer', roles: [], onBehalfOf: { subject: 'u-1', kind: 'user', username: 'alice' } };
const event = (over: Partial<Record<string, unknown>>): AuditEvent =>
  ({
    v: 1, type: 'request', id: 'r', time: new Date(T0).toISOString(), stage: 'dev', who,
    what: { method: 'GET', host: 'h', path: '/orders', route: 'read' },
    decision: { allow: false, mode: 'enforce', policyIds: [], reason: 'no grant' },
    outcome: { status: 403, code: 'authz.denied', durationMs: 1, bytesIn: 0, bytesOut: 0 }, client: { ip: '127.0.0.1' },
    ...over,
  });

test('stream filters: the person an agent acts for, the agent, route, decision and type', () => {
  const f = (q: string) => {
    const parsed = eventFilterFrom(new URLSearchParams(q));
    assert.ok(parsed.ok, q);
    return parsed.filter;
  };
  const e = event({});
  for (const q of ['user=alice', 'user=u-1', 'agent=assistant', 'route=read', 'decision=deny', 'kind=agent', 'type=request', 'user=alice&decision=deny']) assert.equal(matches(e, f(q)), true, q);
  for (const q of ['user=bob', 'agent=planner', 'route=create', 'decision=allow', 'kind=user', 'type=system']) assert.equal(matches(e, f(q)), false, q);
  assert.equal(matches(event({ who: null, decision: null, outcome: { status: 401, code: 'authn.missing', durationMs: 1, bytesIn: 0, bytesOut: 0 } }), f('decision=deny')), true, 'refused before a decision');
  assert.equal(matches(event({ decision: { allow: true, mode: 'enforce', policyIds: [], reason: 'ok' }, outcome: { status: 404, code: 'upstream.status', durationMs: 1, bytesIn: 0, bytesOut: 0 } }), f('decision=deny')), false, 'an allowed request the upstream answered 404 is not a denial');
  assert.equal(eventFilterFrom(new URLSearchParams('decision=maybe')).ok, false);
  assert.equal(eventFilterFrom(new URLSearchParams('user=a&user=b')).ok, false);
});
