// The admin listener beside a real gateway: /metrics reflects the traffic the data plane served
// (route, status and code labels; parser-level rejections; upstreams; in-flight requests), and the
// admin API is behind the token. The data-plane port serves none of it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { ADMIN_TOKEN, startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { rawRequest } from '../../helpers/raw-http.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { assertProblem, auditFor, eventually, header, send } from '../../helpers/gateway-checks.ts';

let upstream: TestUpstream;
let gw: TestGateway;

before(async () => {
  upstream = await startUpstream((_req, res) => res.end('ok'));
  gw = await startTestGateway(`
upstreams:
  live: { url: "${upstream.url}" }
  dead: { url: "http://127.0.0.1:1" }
routes:
  svc: { match: { prefix: /svc/, methods: [GET, POST] }, upstream: live, auth: none }
  down: { match: { prefix: /down/ }, upstream: dead, auth: none }
`);
});
after(async () => {
  await gw.close();
  await upstream.close();
});

async function metrics(): Promise<string> {
  const res = await send(`${gw.adminUrl}/metrics`);
  assert.equal(res.status, 200);
  assert.match(String(header(res, 'content-type')), /^text\/plain/);
  return res.body;
}

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const inner = /\{(.*)\}/.exec(line)?.[1] ?? '';
    const have = new Map([...inner.matchAll(/(\w+)="([^"]*)"/g)].map((m): [string, string] => [m[1] ?? '', m[2] ?? '']));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics', () => {
  test('cortex_requests_total has route, status and code labels after traffic', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await send(`${gw.url}/svc/x`)).status, 200);
    const missing = await send(`${gw.url}/nowhere`);
    await auditFor(gw, assertProblem(missing, 404, 'route.not_found'), 'route.not_found');
    const wrong = await send(`${gw.url}/svc/x`, { method: 'DELETE' });
    await auditFor(gw, assertProblem(wrong, 405, 'route.method_not_allowed'), 'route.method_not_allowed');
    const down = await send(`${gw.url}/down/x`);
    await auditFor(gw, assertProblem(down, 502, 'upstream.connect_failed'), 'upstream.connect_failed');

    const text = await metrics();
    assert.equal(sample(text, 'cortex_requests_total', { route: 'svc', method: 'GET', status: '200', code: 'ok' }), 3);
    assert.equal(sample(text, 'cortex_requests_total', { route: '-', status: '404', code: 'route.not_found' }), 1);
    assert.equal(sample(text, 'cortex_requests_total', { route: '-', method: 'DELETE', status: '405', code: 'route.method_not_allowed' }), 1);
    assert.equal(sample(text, 'cortex_requests_total', { route: 'down', status: '502', code: 'upstream.connect_failed' }), 1);
    assert.equal(sample(text, 'cortex_upstream_requests_total', { upstream: 'live', outcome: 'ok' }), 3);
    assert.equal(sample(text, 'cortex_upstream_requests_total', { upstream: 'dead', outcome: 'error' }), 1);
    assert.match(text, /^cortex_request_duration_seconds_count\{route="svc"\} 3$/m);
  });

  test('parser-level rejections are counted in cortex_client_errors_total', async () => {
    const res = await rawRequest(gw.port, 'GARBAGE\r\n\r\n');
    await auditFor(gw, assertProblem(res, 400, 'request.malformed'), 'request.malformed');
    const big = await rawRequest(gw.port, `GET /svc/x HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    await auditFor(gw, assertProblem(big, 431, 'request.header_too_large'), 'request.header_too_large');
    const text = await metrics();
    assert.equal(sample(text, 'cortex_client_errors_total', { code: 'request.malformed' }), 1);
    assert.equal(sample(text, 'cortex_client_errors_total', { code: 'request.header_too_large' }), 1);
  });

  test('a request in flight shows in cortex_requests_in_flight and /api/status, and leaves both at 0', async (t) => {
    let held: ServerResponse | undefined;
    upstream.handle((_req, res) => {
      held = res;
    });
    t.after(() => upstream.handle((_req, res) => res.end('ok')));
    const pending = send(`${gw.url}/svc/held`);
    await eventually(() => held, 'the upstream to hold the request');
    const status = async () => {
      const res = await send(`${gw.adminUrl}/api/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      return (JSON.parse(res.body) as { inflight: number }).inflight;
    };
    const statusDuring = await status();
    const gaugeDuring = sample(await metrics(), 'cortex_requests_in_flight', {});
    held?.end('done');
    assert.equal((await pending).status, 200);
    assert.equal(statusDuring, 1);
    assert.equal(gaugeDuring, 1, 'cortex_requests_in_flight follows requests in flight');
    await eventually(async () => ((await status()) === 0 ? true : undefined), 'inflight to return to 0');
    assert.equal(sample(await metrics(), 'cortex_requests_in_flight', {}), 0);
  });

  test('the config generation is exported', async () => {
    const text = await metrics();
    assert.equal(sample(text, 'cortex_config_generation', {}), gw.runtime.gateway.current().generation);
  });
});

describe('admin API', () => {
  test('/api/routes requires the admin token', async () => {
    const none = await send(`${gw.adminUrl}/api/routes`);
    assertProblem(none, 401, 'admin.unauthorized');
    assert.match(String(header(none, 'www-authenticate')), /^Bearer/);
    const wrong = await send(`${gw.adminUrl}/api/routes`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } });
    assertProblem(wrong, 401, 'admin.unauthorized');
    const basic = await send(`${gw.adminUrl}/api/routes`, { headers: { authorization: `Basic ${ADMIN_TOKEN}` } });
    assertProblem(basic, 401, 'admin.unauthorized');

    const ok = await send(`${gw.adminUrl}/api/routes`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(ok.status, 200);
    const { routes } = JSON.parse(ok.body) as { routes: { id: string; upstream: string; filters: string[] }[] };
    // cortex.jwks: the gateway-owned /.cortex/jwks.json (no upstream).
    assert.deepEqual(routes.map((r) => [r.id, r.upstream]).sort(), [['cortex.jwks', '-'], ['down', 'dead'], ['svc', 'live']]);
    assert.deepEqual(routes.find((r) => r.id === 'svc')?.filters, ['forwarded', 'authn', 'assertion', 'upstream']);
  });

  test('the data-plane port serves no admin endpoint, whatever the token', async () => {
    for (const path of ['/metrics', '/api/routes', '/healthz']) {
      upstream.requests.length = 0;
      const res = await send(`${gw.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      await auditFor(gw, assertProblem(res, 404, 'route.not_found', path), 'route.not_found');
      assert.equal(upstream.requests.length, 0);
    }
  });

  test('the admin token never shows in /api/config', async () => {
    const res = await send(`${gw.adminUrl}/api/config`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.ok(!res.body.includes(ADMIN_TOKEN), 'the token is redacted');
  });
});
