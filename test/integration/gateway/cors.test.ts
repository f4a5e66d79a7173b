// Per-route CORS answered by the gateway: preflights are answered 204 (or 403 cors.rejected) and
// never reach the upstream; actual requests from an allowed origin get the CORS headers, others
// none; credentials never with '*'; routes whose methods omit OPTIONS still get their preflights
// without letting a plain OPTIONS through.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { assertProblem, auditFor, header, send } from '../../helpers/gateway-checks.ts';
import type { Reply } from '../../helpers/gateway-checks.ts';

const APP = 'https://app.example.com';
const ADMIN = 'https://admin.example.com';

let upstream: TestUpstream;
let gw: TestGateway;

before(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`
upstreams:
  echo: { url: "${upstream.url}" }
routes:
  app:
    match: { path: /app, methods: [GET, POST] }
    upstream: echo
    auth: none
    cors:
      origins: ["${APP}", "${ADMIN}"]
      headers: [Content-Type, X-Trace]
      exposeHeaders: [X-Upstream]
      credentials: true
      maxAgeSeconds: 300
  pub:
    match: { path: /pub, methods: [GET] }
    upstream: echo
    auth: none
    cors: { origins: ["*"] }
  opts:
    match: { path: /opts, methods: [GET, OPTIONS] }
    upstream: echo
    auth: none
    cors: { origins: ["${APP}"] }
  items-read:
    match: { path: /items, methods: [GET] }
    upstream: echo
    auth: none
    cors: { origins: ["${APP}"] }
  items-delete:
    match: { path: /items, methods: [DELETE] }
    upstream: echo
    auth: none
    cors: { origins: ["${ADMIN}"] }
`);
});
after(async () => {
  await gw.close();
  await upstream.close();
});
beforeEach(() => {
  upstream.requests.length = 0;
});

function preflight(path: string, origin: string, method: string, headers?: string): Promise<Reply> {
  const h: Record<string, string> = { origin, 'access-control-request-method': method };
  if (headers !== undefined) h['access-control-request-headers'] = headers;
  return send(`${gw.url}${path}`, { method: 'OPTIONS', headers: h });
}

function corsHeaders(reply: Reply): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(reply.headers).sort()) {
    if (name.startsWith('access-control-') || name === 'vary') out[name] = header(reply, name) as string;
  }
  return out;
}

describe('cors preflight', () => {
  test('an allowed preflight is answered 204 by the gateway with exact headers; nothing reaches the upstream', async () => {
    const res = await preflight('/app', APP, 'POST', 'content-type, x-trace');
    assert.equal(res.status, 204);
    assert.equal(res.body, '');
    assert.deepEqual(corsHeaders(res), {
      'access-control-allow-credentials': 'true',
      'access-control-allow-headers': 'Content-Type, X-Trace',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-origin': APP,
      'access-control-max-age': '300',
      vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    });
    const id = header(res, 'x-request-id');
    assert.ok(id);
    const event = await auditFor(gw, id, 'ok');
    assert.equal(event.outcome.status, 204);
    assert.equal(event.what.route, 'app');
    assert.equal(upstream.requests.length, 0);
  });

  test('Allow-Headers lists only the configured headers that were requested', async () => {
    const one = await preflight('/app', ADMIN, 'GET', 'X-TRACE');
    assert.equal(one.status, 204);
    assert.equal(header(one, 'access-control-allow-headers'), 'X-Trace');
    assert.equal(header(one, 'access-control-allow-origin'), ADMIN);
    const none = await preflight('/app', ADMIN, 'GET');
    assert.equal(none.status, 204);
    assert.equal(header(none, 'access-control-allow-headers'), undefined);
    assert.equal(upstream.requests.length, 0);
  });

  test('a disallowed origin, method or header is 403 cors.rejected and never reaches the upstream', async () => {
    const cases: [string, string, string, string | undefined][] = [
      ['origin', 'https://evil.example.com', 'GET', undefined],
      ['origin differing only by port', 'https://app.example.com:8443', 'GET', undefined],
      ['origin with a path', `${APP}/`, 'GET', undefined],
      ['method', APP, 'DELETE', undefined],
      ['method case', APP, 'post', undefined],
      ['header', APP, 'POST', 'content-type, x-evil'],
    ];
    for (const [label, origin, method, headers] of cases) {
      const res = await preflight('/app', origin, method, headers);
      const id = assertProblem(res, 403, 'cors.rejected', label);
      assert.equal(header(res, 'access-control-allow-origin'), undefined, label);
      await auditFor(gw, id, 'cors.rejected');
    }
    assert.equal(upstream.requests.length, 0);
  });

  test("credentials are never combined with '*'; a credential-less '*' policy answers '*'", async () => {
    const cred = await preflight('/app', APP, 'GET');
    assert.equal(header(cred, 'access-control-allow-origin'), APP);
    assert.equal(header(cred, 'access-control-allow-credentials'), 'true');

    const open = await preflight('/pub', 'https://anyone.example.net', 'GET');
    assert.equal(open.status, 204);
    assert.equal(header(open, 'access-control-allow-origin'), '*');
    assert.equal(header(open, 'access-control-allow-credentials'), undefined);
    assert.equal(header(open, 'access-control-allow-methods'), 'GET');

    const actual = await send(`${gw.url}/pub`, { headers: { origin: 'https://anyone.example.net' } });
    assert.equal(actual.status, 200);
    assert.equal(header(actual, 'access-control-allow-origin'), '*');
    assert.equal(header(actual, 'access-control-allow-credentials'), undefined);
  });

  test("the 'null' origin is refused by a listed policy and answered '*' by a wildcard one", async () => {
    const listed = await preflight('/app', 'null', 'GET');
    assertProblem(listed, 403, 'cors.rejected');
    const actual = await send(`${gw.url}/app`, { headers: { origin: 'null' } });
    assert.equal(actual.status, 200);
    assert.deepEqual(corsHeaders(actual), { vary: 'Origin' });

    const open = await preflight('/pub', 'null', 'GET');
    assert.equal(open.status, 204);
    assert.equal(header(open, 'access-control-allow-origin'), '*');
    assert.equal(upstream.requests.length, 1); // only the actual GET
  });

  test('an OPTIONS that is not a preflight is not forwarded on a route whose methods omit OPTIONS', async () => {
    const variants: Record<string, string>[] = [{ origin: APP }, { 'access-control-request-method': 'GET' }, {}];
    for (const headers of variants) {
      const res = await send(`${gw.url}/app`, { method: 'OPTIONS', headers });
      const id = assertProblem(res, 405, 'route.method_not_allowed', JSON.stringify(headers));
      assert.equal(header(res, 'allow'), 'GET, POST');
      await auditFor(gw, id, 'route.method_not_allowed');
    }
    assert.equal(upstream.requests.length, 0);
  });

  test('on a route that lists OPTIONS, a plain OPTIONS is forwarded and a preflight is still answered here', async () => {
    const plain = await send(`${gw.url}/opts`, { method: 'OPTIONS' });
    assert.equal(plain.status, 200);
    assert.equal(upstream.requests.length, 1);
    assert.equal(upstream.requests[0]?.method, 'OPTIONS');

    const pre = await preflight('/opts', APP, 'GET');
    assert.equal(pre.status, 204);
    assert.equal(header(pre, 'access-control-allow-methods'), 'GET, OPTIONS');
    assert.equal(upstream.requests.length, 1);
  });

  test('two CORS routes on one path: each preflight is judged by the route serving the requested method', async () => {
    assert.equal((await preflight('/items', APP, 'GET')).status, 204);
    const del = await preflight('/items', ADMIN, 'DELETE');
    assert.equal(del.status, 204);
    assert.equal(header(del, 'access-control-allow-origin'), ADMIN);
    assert.equal(header(del, 'access-control-allow-methods'), 'DELETE');
    assertProblem(await preflight('/items', APP, 'DELETE'), 403, 'cors.rejected');
    assertProblem(await preflight('/items', ADMIN, 'GET'), 403, 'cors.rejected');
    const plain = await send(`${gw.url}/items`, { method: 'OPTIONS' });
    assertProblem(plain, 405, 'route.method_not_allowed');
    assert.equal(header(plain, 'allow'), 'GET, DELETE');
    assert.equal(upstream.requests.length, 0);
  });
});

describe('cors on actual requests', () => {
  test('an allowed origin gets Allow-Origin, Allow-Credentials, Expose-Headers and Vary: Origin', async () => {
    const res = await send(`${gw.url}/app`, { headers: { origin: APP } });
    assert.equal(res.status, 200);
    assert.deepEqual(corsHeaders(res), {
      'access-control-allow-credentials': 'true',
      'access-control-allow-origin': APP,
      'access-control-expose-headers': 'X-Upstream',
      vary: 'Origin',
    });
    assert.equal(upstream.requests.length, 1);
    assert.equal(upstream.requests[0]?.headers.origin, APP);
    await auditFor(gw, header(res, 'x-request-id') as string, 'ok');
  });

  test("a disallowed origin is passed through without CORS headers, and the upstream's own are dropped", async () => {
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true', vary: 'Accept-Encoding' });
      res.end('{}');
    });
    try {
      const evil = await send(`${gw.url}/app`, { headers: { origin: 'https://evil.example.com' } });
      assert.equal(evil.status, 200);
      assert.deepEqual(corsHeaders(evil), { vary: 'Accept-Encoding, Origin' });
      assert.equal(upstream.requests.length, 1);

      const good = await send(`${gw.url}/app`, { headers: { origin: ADMIN } });
      assert.equal(header(good, 'access-control-allow-origin'), ADMIN);
      assert.equal(header(good, 'vary'), 'Accept-Encoding, Origin');

      const noOrigin = await send(`${gw.url}/app`);
      assert.equal(header(noOrigin, 'access-control-allow-origin'), undefined);
    } finally {
      upstream.handle((req, res, body) => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'echo' });
        res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyLength: body.length }));
      });
    }
  });
});
