import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditFilterFrom } from '../../../src/admin/audit-api.ts';
import { buildAuditEvent } from '../../../src/audit/event.ts';
import { filterFrom, formatEventLine, formatWho } from '../../../src/cli/audit.ts';

const NOW = Date.parse('2026-11-26T12:00:00Z');

describe('GET /api/audit parameters', () => {
  it('maps every parameter onto the filter', () => {
    const q = new URLSearchParams('user=bob&agent=bot&kind=agent&intent=orders:delete&route=orders&status=403&requestId=r1&denied=true&since=1h&until=2026-11-26T11:30:00Z&limit=10&cursor=abc');
    assert.deepEqual(auditFilterFrom(q, NOW), {
      ok: true,
      filter: { user: 'bob', agent: 'bot', kind: 'agent', intent: 'orders:delete', route: 'orders', requestId: 'r1', cursor: 'abc', status: 403, denied: true, sinceMs: NOW - 3_600_000, untilMs: Date.parse('2026-11-26T11:30:00Z'), limit: 10 },
    });
    assert.deepEqual(auditFilterFrom(new URLSearchParams('denied=false'), NOW), { ok: true, filter: {} });
    assert.deepEqual(auditFilterFrom(new URLSearchParams('denied'), NOW), { ok: true, filter: { denied: true } });
  });

  it('refuses unknown, repeated and malformed parameters', () => {
    for (const q of ['colour=red', 'user=a&user=b', 'status=4o4', 'status=99', 'limit=0', 'limit=1001', 'limit=-1', 'since=tomorrow', 'until=1y', 'denied=yes', 'user=']) {
      const r = auditFilterFrom(new URLSearchParams(q), NOW);
      assert.equal(r.ok, false, q);
    }
  });
});

describe('cortex audit', () => {
  it('turns flags into a filter, durations before now', () => {
    assert.deepEqual(filterFrom({ user: 'bob', since: '1h', denied: true, status: '403', 'request-id': 'r1', limit: '5' }, NOW), {
      user: 'bob',
      requestId: 'r1',
      denied: true,
      status: 403,
      sinceMs: NOW - 3_600_000,
      limit: 5,
    });
    for (const bad of [{ since: 'soon' }, { until: 'x' }, { status: '2000' }, { limit: 'ten' }, { limit: '1001' }]) assert.throws(() => filterFrom(bad, NOW), /--|limit|status/);
  });

  it('shows who acted, and for whom', () => {
    const base = { id: 'r', time: NOW, stage: 'dev', request: { method: 'GET', host: 'h', path: '/orders', clientIp: '127.0.0.1' }, outcome: { status: 200, code: 'ok', durationMs: 1, bytesIn: 0, bytesOut: 0 } };
    const identity = { subject: 'sub-bob', issuer: 'i', provider: 'p', kind: 'user', method: 'bearer', roles: [], username: 'bob' };
    assert.equal(formatWho(buildAuditEvent({ ...base, identity })), 'bob (user)');
    const agent = { ...identity, subject: 'orders-bot', kind: 'agent', username: undefined, onBehalfOf: { subject: 'sub-bob', kind: 'user' } };
    delete agent.username;
    assert.equal(formatWho(buildAuditEvent({ ...base, identity: agent })), 'orders-bot for sub-bob (agent)');
    const line = formatEventLine(buildAuditEvent({ ...base, identity, route: { id: 'orders', upstream: 'u', intent: 'orders:read' }, decision: { allow: false, mode: 'enforce', policyIds: [], reason: 'r' } }));
    assert.deepEqual(line.split('  ').slice(1), ['bob (user)', 'GET', '/orders', 'orders:read', 'deny', '200']);
    assert.deepEqual(formatEventLine(buildAuditEvent(base)).split('  ').slice(1), ['-', 'GET', '/orders', '-', '-', '200']);
  });
});
