import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIT_EVENT_VERSION, USER_AGENT_MAX, buildAuditEvent, roundMs, traceIdFrom } from '../../../src/audit/event.ts';
import type { AuditInput } from '../../../src/audit/event.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

function input(over: Partial<AuditInput> = {}): AuditInput {
  return {
    id: 'req-1',
    time: Date.UTC(2025, 0, 2, 3, 4, 5, 678),
    stage: 'prod',
    request: { method: 'GET', host: 'api.example.com', path: '/orders/42', clientIp: '203.0.113.7' },
    outcome: { status: 200, code: 'ok', durationMs: 12.345678, bytesIn: 0, bytesOut: 512 },
    ...over,
  };
}

void test('traceIdFrom accepts a valid version-00 traceparent', () => {
  assert.equal(traceIdFrom(`00-${TRACE}-${PARENT}-01`), TRACE);
  assert.equal(traceIdFrom(`00-${TRACE}-${PARENT}-00`), TRACE);
});

void test('traceIdFrom accepts a future version with extra fields', () => {
  assert.equal(traceIdFrom(`01-${TRACE}-${PARENT}-01-what-comes-next`), TRACE);
  assert.equal(traceIdFrom(`cc-${TRACE}-${PARENT}-01`), TRACE);
});

void test('traceIdFrom rejects malformed traceparents', () => {
  const bad = [
    undefined,
    '',
    'garbage',
    `ff-${TRACE}-${PARENT}-01`, // version ff is forbidden
    `00-${TRACE}-${PARENT}-01-extra`, // version 00 has exactly four fields
    `00-${'0'.repeat(32)}-${PARENT}-01`, // all-zero trace id
    `00-${TRACE}-${'0'.repeat(16)}-01`, // all-zero parent id
    `00-${TRACE.toUpperCase()}-${PARENT}-01`, // upper-case hex
    `00-${TRACE.slice(1)}-${PARENT}-01`, // short trace id
    `00-${TRACE}-${PARENT.slice(1)}-01`, // short parent id
    `00-${TRACE}-${PARENT}-1`, // short flags
    `0-${TRACE}-${PARENT}-01`, // short version
    `00-${TRACE}-${PARENT}-0g`, // non-hex flags
    ` 00-${TRACE}-${PARENT}-01`,
    `00_${TRACE}_${PARENT}_01`,
  ];
  for (const tp of bad) assert.equal(traceIdFrom(tp), undefined, String(tp));
});

void test('a minimal event: v1, no identity, no decision, ISO time, rounded duration', () => {
  const e = buildAuditEvent(input());
  assert.deepEqual(e, {
    v: AUDIT_EVENT_VERSION,
    type: 'request',
    id: 'req-1',
    time: '2025-01-02T03:04:05.678Z',
    stage: 'prod',
    who: null,
    what: { method: 'GET', host: 'api.example.com', path: '/orders/42' },
    decision: null,
    outcome: { status: 200, code: 'ok', durationMs: 12.346, bytesIn: 0, bytesOut: 512 },
    client: { ip: '203.0.113.7' },
  });
  assert.equal(e.v, 1);
});

void test('a full event maps identity, route, decision and trace', () => {
  const e = buildAuditEvent(
    input({
      identity: {
        subject: 'agent-7',
        issuer: 'https://idp.example.com',
        provider: 'corp',
        kind: 'agent',
        method: 'jwt',
        roles: ['support'],
        fingerprint: 'sha256:abc',
        onBehalfOf: { subject: 'alice', kind: 'user' },
      },
      request: {
        method: 'DELETE',
        host: 'api.example.com',
        path: '/orders/42',
        clientIp: '203.0.113.7',
        userAgent: 'curl/8.5.0',
        traceparent: `00-${TRACE}-${PARENT}-01`,
      },
      route: { id: 'orders', upstream: 'orders-svc', intent: 'orders:read' },
      decision: { allow: false, mode: 'enforce', policyIds: ['p1', 'p2'], reason: 'authz.denied', intent: 'orders:delete' },
      outcome: {
        status: 403,
        code: 'authz.denied',
        upstreamPath: '/v1/orders/42',
        upstreamStatus: 204,
        durationMs: 1.0004,
        upstreamMs: 0.12345,
        bytesIn: 10,
        bytesOut: 20,
      },
    }),
  );
  assert.deepEqual(e.who, {
    subject: 'agent-7',
    issuer: 'https://idp.example.com',
    provider: 'corp',
    kind: 'agent',
    method: 'jwt',
    roles: ['support'],
    fingerprint: 'sha256:abc',
    onBehalfOf: { subject: 'alice', kind: 'user' },
  });
  // The decision's intent is the one that was enforced, so it wins over the route's default.
  assert.deepEqual(e.what, {
    method: 'DELETE',
    host: 'api.example.com',
    path: '/orders/42',
    upstreamPath: '/v1/orders/42',
    route: 'orders',
    upstream: 'orders-svc',
    intent: 'orders:delete',
  });
  assert.deepEqual(e.decision, { allow: false, mode: 'enforce', policyIds: ['p1', 'p2'], reason: 'authz.denied' });
  assert.equal(e.outcome.durationMs, 1);
  assert.equal(e.outcome.upstreamMs, 0.123);
  assert.equal(e.client.userAgent, 'curl/8.5.0');
  assert.equal(e.traceId, TRACE);
});

void test('the event copies arrays instead of sharing them with the request', () => {
  const roles = ['a'];
  const policyIds = ['p'];
  const e = buildAuditEvent(
    input({
      identity: { subject: 's', issuer: 'i', provider: 'p', kind: 'user', method: 'jwt', roles },
      decision: { allow: true, mode: 'shadow', policyIds, reason: 'ok' },
    }),
  );
  roles.push('admin');
  policyIds.push('q');
  assert.deepEqual(e.who?.roles, ['a']);
  assert.deepEqual(e.decision?.policyIds, ['p']);
});

void test('a user agent of 1000 characters is truncated to 256', () => {
  const e = buildAuditEvent(input({ request: { ...input().request, userAgent: 'x'.repeat(1000) } }));
  assert.equal(e.client.userAgent?.length, USER_AGENT_MAX);
  assert.equal(USER_AGENT_MAX, 256);
});

void test('repeated headers: the first user agent is kept, several traceparents are ignored', () => {
  const tp = `00-${TRACE}-${PARENT}-01`;
  const e = buildAuditEvent(input({ request: { ...input().request, userAgent: ['a', 'b'], traceparent: [tp, tp] } }));
  assert.equal(e.client.userAgent, 'a');
  assert.equal(e.traceId, undefined);
  const one = buildAuditEvent(input({ request: { ...input().request, userAgent: ['a'], traceparent: [tp] } }));
  assert.equal(one.client.userAgent, 'a');
  assert.equal(one.traceId, TRACE);
});

void test('an invalid traceparent leaves traceId out', () => {
  const e = buildAuditEvent(input({ request: { ...input().request, traceparent: 'nope' } }));
  assert.equal('traceId' in e, false);
});

void test('a query string or fragment in the path never reaches the event', () => {
  const e = buildAuditEvent(
    input({
      request: { ...input().request, path: '/cb?code=SECRETCODE&access_token=SECRETTOKEN' },
      outcome: { ...input().outcome, upstreamPath: '/v1/cb?token=SECRETUP#frag' },
    }),
  );
  assert.equal(e.what.path, '/cb');
  assert.equal(e.what.upstreamPath, '/v1/cb');
  const line = JSON.stringify(e);
  for (const secret of ['SECRETCODE', 'SECRETTOKEN', 'SECRETUP', '?', 'frag']) assert.ok(!line.includes(secret), secret);
});

void test('the event has no place for headers, tokens or claims', () => {
  const e = buildAuditEvent(
    input({ identity: { subject: 's', issuer: 'i', provider: 'p', kind: 'user', method: 'jwt', roles: [] } }),
  );
  const keys = JSON.stringify(e);
  for (const k of ['authorization', 'cookie', 'claims', 'headers', 'query', 'token']) assert.ok(!keys.includes(k), k);
});

void test('roundMs keeps three decimals', () => {
  assert.equal(roundMs(1.23456), 1.235);
  assert.equal(roundMs(0), 0);
  assert.equal(roundMs(1000.0004), 1000);
});
