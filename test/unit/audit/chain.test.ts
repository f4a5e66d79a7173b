import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createChain, newWriterId, recordHash } from '../../../src/audit/chain.ts';
import { recordColumns } from '../../../src/audit/columns.ts';
import { buildAuditEvent } from '../../../src/audit/event.ts';
import type { AuditEvent, AuditInput } from '../../../src/audit/event.ts';
import { GENESIS_HASH } from '../../../src/audit/record.ts';

function event(i: number, extra: Partial<AuditInput> = {}): AuditEvent {
  return buildAuditEvent({
    id: `req-${i}`,
    time: Date.UTC(2025, 0, 1) + i,
    stage: 'test',
    request: { method: 'GET', host: 'h', path: `/items/${i}?token=x`, clientIp: '127.0.0.1' },
    outcome: { status: 200, code: 'ok', durationMs: 1, bytesIn: 0, bytesOut: 0 },
    ...extra,
  });
}

void test('a chain numbers from 1, starts at the genesis hash and links each record to the previous', () => {
  const chain = createChain('host/1/2/abcd0123');
  assert.deepEqual(chain.head(), { seq: 0, hash: GENESIS_HASH });
  const a = chain.next(event(1));
  const b = chain.next(event(2));
  assert.deepEqual([a.seq, b.seq], [1, 2]);
  assert.equal(a.writer, 'host/1/2/abcd0123');
  assert.equal(a.prevHash, GENESIS_HASH);
  assert.equal(b.prevHash, a.hash);
  assert.equal(a.json, JSON.stringify(event(1)));
  assert.equal(a.hash, createHash('sha256').update(`${GENESIS_HASH}\n${a.json}`).digest('hex'));
  assert.equal(recordHash(a.hash, b.json), b.hash);
  assert.deepEqual(chain.head(), { seq: 2, hash: b.hash });
});

void test('one edited byte of an event changes its hash', () => {
  const a = createChain('w').next(event(1));
  assert.notEqual(recordHash(GENESIS_HASH, a.json.replace('req-1', 'req-2')), a.hash);
});

void test('writer ids are host/pid/start/random and differ between runs', () => {
  const a = newWriterId(1234);
  assert.match(a, new RegExp(`^[^/]+/${process.pid}/1234/[0-9a-f]{8}$`));
  assert.notEqual(a, newWriterId(1234));
});

void test('columns of a request by an agent acting for a person', () => {
  const chain = createChain('w');
  const r = chain.next(
    event(3, {
      identity: { subject: 'agent-7', issuer: 'i', provider: 'p', kind: 'agent', method: 'bearer', roles: [], onBehalfOf: { subject: 'bob', kind: 'user' }, username: 'bot' },
      route: { id: 'orders', upstream: 'orders-api', intent: 'orders:read' },
      decision: { allow: false, mode: 'enforce', policyIds: [], reason: 'deny', intent: 'orders:read' },
      outcome: { status: 403, code: 'authz.denied', durationMs: 1, bytesIn: 0, bytesOut: 10 },
    }),
  );
  assert.deepEqual(recordColumns(r), {
    writer: 'w', seq: 1, hash: r.hash, prevHash: GENESIS_HASH, timeMs: Date.UTC(2025, 0, 1) + 3, type: 'request', requestId: 'req-3',
    subject: 'agent-7', username: 'bot', kind: 'agent', agent: 'agent-7', person: 'bob', intent: 'orders:read', route: 'orders',
    method: 'GET', path: '/items/3', status: 403, allow: false, code: 'authz.denied', json: r.json,
  });
});

void test('columns of an anonymous request without a decision are null where nothing is known', () => {
  const c = recordColumns(createChain('w').next(event(4)));
  assert.deepEqual([c.subject, c.username, c.kind, c.agent, c.person, c.intent, c.route, c.allow], [null, null, null, null, null, null, null, null]);
  assert.deepEqual([c.method, c.status, c.code], ['GET', 200, 'ok']);
});

void test('columns of a non-request event without what or decision', () => {
  const r = createChain('w').next({ v: 1, type: 'system', id: 'u-1', time: '2025-01-01T00:00:00.000Z', stage: 'test', action: 'config_reload', who: null, details: {}, outcome: { status: 200, code: 'ok' } });
  const c = recordColumns(r);
  assert.deepEqual([c.type, c.requestId, c.method, c.path, c.allow, c.status, c.timeMs], ['system', 'u-1', null, null, null, 200, Date.UTC(2025, 0, 1)]);
});
