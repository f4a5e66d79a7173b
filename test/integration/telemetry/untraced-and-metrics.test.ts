// Without a telemetry.tracing section no tracing SDK is ever loaded and the request path starts no
// span (the client's traceparent goes upstream as it came); and the metrics issue 8 lists scrape
// from the admin listener: requests by route, status, code and principal kind, decision latency,
// upstream latency and signing-key age.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestIdp } from '../../helpers/idp.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { tracingSdkLoads } from '../../../src/telemetry/tracing.ts';
import { startOrdersLoggedGateway } from './logged-gateway.ts';
import type { LoggedGateway, OrdersLoggedGateway } from './logged-gateway.ts';

let orders: OrdersLoggedGateway;
let idp: TestIdp;
let upstream: TestUpstream;
let gw: LoggedGateway;

before(async () => {
  orders = await startOrdersLoggedGateway();
  ({ idp, upstream, gw } = orders);
});

after(() => orders?.close());

test('no tracing configured: no SDK loaded, no tracer, and the traceparent passes through untouched', async () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const token = await idp.tokenFor({ sub: 'alice' });
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${gw.url}/orders`, { headers: { authorization: `Bearer ${token}`, traceparent } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  }
  assert.equal(gw.runtime.gateway.tracing.current, undefined);
  assert.equal(tracingSdkLoads(), 0);
  assert.equal(upstream.requests.at(-1)?.headers.traceparent, traceparent);
});

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const x of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) have[x[1] as string] = x[2] as string;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

test('/metrics: requests by route, status, code and kind; decision and upstream latency; signing-key age', async () => {
  const alice = await idp.tokenFor({ sub: 'alice' });
  const bob = await idp.tokenFor({ sub: 'bob' });
  assert.equal((await fetch(`${gw.url}/orders`, { headers: { authorization: `Bearer ${alice}` } }).then(async (r) => (await r.arrayBuffer(), r.status))), 200);
  assert.equal((await fetch(`${gw.url}/orders`, { headers: { authorization: `Bearer ${bob}` } }).then(async (r) => (await r.arrayBuffer(), r.status))), 403);
  const res = await fetch(`${gw.adminUrl}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.ok((sample(text, 'cortex_requests_total', { route: 'list', status: '200', code: 'ok', kind: 'user' }) ?? 0) >= 1, text);
  assert.equal(sample(text, 'cortex_requests_total', { route: 'list', status: '403', code: 'authz.denied', kind: 'user' }), 1);
  assert.ok((sample(text, 'cortex_decision_duration_seconds_count') ?? 0) >= 2);
  assert.equal(sample(text, 'cortex_decision_duration_seconds_bucket', { le: '+Inf' }), sample(text, 'cortex_decision_duration_seconds_count'));
  assert.ok((sample(text, 'cortex_upstream_duration_seconds_count', { upstream: 'up' }) ?? 0) >= 1);
  const ring = gw.runtime.gateway.credentials.ring?.list() ?? [];
  const active = ring.find((k) => k.state === 'active');
  assert.ok(active, 'the ring has an active key');
  const age = sample(text, 'cortex_signing_key_age_seconds', { kid: active.kid, state: 'active' });
  assert.ok(age !== undefined && age >= 0, text);
  for (const name of ['cortex_token_cache_lookups_total', 'cortex_decision_cache_lookups_total', 'cortex_jwks_fetches_total']) {
    assert.ok(text.includes(`# TYPE ${name} counter`), name);
  }
});
