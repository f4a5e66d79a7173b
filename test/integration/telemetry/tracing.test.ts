// OpenTelemetry through a real gateway and a real OTLP/HTTP receiver: the span tree of a request
// (cortex.request → cortex.authn, cortex.authz, cortex.upstream), a valid incoming traceparent as its
// parent, an invalid one ignored, and the upstream given the upstream span's traceparent instead of
// the client's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../helpers/gateway-checks.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { startOrdersLoggedGateway } from './logged-gateway.ts';
import type { LoggedGateway, OrdersLoggedGateway } from './logged-gateway.ts';
import { startOtlpReceiver } from './otlp-receiver.ts';
import type { OtlpReceiver, ReceivedSpan } from './otlp-receiver.ts';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;
const SERVER = 2;
const CLIENT = 3;

let orders: OrdersLoggedGateway;
let idp: TestIdp;
let upstream: TestUpstream;
let receiver: OtlpReceiver;
let gw: LoggedGateway;

before(async () => {
  receiver = await startOtlpReceiver();
  orders = await startOrdersLoggedGateway({
    top: ['telemetry:', `  tracing: { otlpEndpoint: "${receiver.url}", serviceName: cortex-test, headers: { x-collector-key: k } }`],
    upstreams: ['down: { url: "http://127.0.0.1:9" }'],
    routes: ['gone: { match: { path: /gone }, upstream: down, auth: none }', 'open: { match: { path: /open }, upstream: up, auth: none }'],
  });
  ({ idp, upstream, gw } = orders);
});

after(async () => {
  await orders?.close();
  await receiver?.close();
});

async function get(path: string, headers: Record<string, string>): Promise<{ status: number; traceparent: string | undefined }> {
  const before = upstream.requests.length;
  const res = await fetch(`${gw.url}${path}`, { headers });
  await res.arrayBuffer();
  const seen = upstream.requests.length > before ? upstream.requests.at(-1) : undefined;
  return { status: res.status, traceparent: seen?.headers.traceparent as string | undefined };
}

async function spansOf(traceId: string, count: number): Promise<ReceivedSpan[]> {
  await gw.runtime.gateway.tracing.flush();
  return eventually(() => {
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    return spans.length >= count ? spans : undefined;
  }, `${count} spans of trace ${traceId}`);
}

function one(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `one ${name} span: ${JSON.stringify(spans.map((s) => s.name))}`);
  return found[0] as ReceivedSpan;
}

test('a request under a valid traceparent: the span tree, its attributes, and a new traceparent upstream', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const clientParent = '00f067aa0ba902b7';
  const token = await idp.tokenFor({ sub: 'alice' });
  const r = await get('/orders?secret_token=x', { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${clientParent}-01` });
  assert.equal(r.status, 200);

  const spans = await spansOf(traceId, 4);
  const request = one(spans, 'cortex.request');
  assert.equal(request.parentSpanId, clientParent);
  assert.equal(request.kind, SERVER);
  assert.deepEqual(
    {
      method: request.attributes['http.request.method'],
      path: request.attributes['url.path'],
      route: request.attributes['http.route'],
      status: request.attributes['http.response.status_code'],
      kind: request.attributes['cortex.principal.kind'],
      intent: request.attributes['cortex.intent'],
      decision: request.attributes['cortex.decision'],
    },
    { method: 'GET', path: '/orders', route: 'list', status: 200, kind: 'user', intent: 'orders:read', decision: 'allow' },
  );
  for (const name of ['cortex.authn', 'cortex.authz', 'cortex.upstream']) assert.equal(one(spans, name).parentSpanId, request.spanId, name);
  const up = one(spans, 'cortex.upstream');
  assert.equal(up.kind, CLIENT);
  assert.equal(up.attributes['http.response.status_code'], 200);

  // The upstream's parent is the upstream span, in the same trace; the client's parent id went no further.
  const m = TRACEPARENT.exec(r.traceparent ?? '');
  assert.ok(m, `a W3C traceparent upstream: ${r.traceparent}`);
  assert.equal(m[1], traceId);
  assert.equal(m[2], up.spanId);
  assert.ok(receiver.contentTypes.every((t) => t.startsWith('application/json')), receiver.contentTypes.join());
});

test('an invalid traceparent is ignored: a new trace starts, and the junk is not forwarded', async () => {
  const junk = '00-ZZZ-not-a-trace-01';
  const r = await get('/gone', { traceparent: junk });
  assert.equal(r.status, 502);
  await gw.runtime.gateway.tracing.flush();
  const request = await eventually(
    () => receiver.spans.find((s) => s.name === 'cortex.request' && s.attributes['http.route'] === 'gone'),
    'the span of the failed request',
  );
  assert.equal(request.parentSpanId ?? '', '');
  assert.equal(request.attributes['cortex.principal.kind'], 'anonymous');
  assert.equal(request.status?.code, 2, 'a 5xx marks the server span as an error');
  const spans = await spansOf(request.traceId, 2);
  const up = one(spans, 'cortex.upstream');
  assert.equal(up.parentSpanId, request.spanId);
  assert.equal(up.status?.code, 2);

  const forwarded = await get('/open', { traceparent: junk, tracestate: 'vendor=1' });
  assert.equal(forwarded.status, 200);
  const m = TRACEPARENT.exec(forwarded.traceparent ?? '');
  assert.ok(m, `the upstream got a valid traceparent of Cortex's own instead of the junk: ${forwarded.traceparent}`);
  const openSpans = await spansOf(m[1] as string, 2);
  assert.equal(one(openSpans, 'cortex.upstream').spanId, m[2]);
});
