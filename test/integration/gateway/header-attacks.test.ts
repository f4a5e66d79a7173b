// Header trust and framing over raw sockets: forged identity and forwarding headers and their
// aliases, opt-in rewrite headers, Connection-named headers, duplicates, missing Host,
// Content-Length / Transfer-Encoding conflicts, smuggling payloads, oversized and garbage input.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { RecordedRequest, TestUpstream } from '../../helpers/upstream.ts';
import { assertProblem, auditFor, header, rawExchange } from '../../helpers/gateway-checks.ts';

let upstream: TestUpstream;
let gw: TestGateway;
/** Requests whose head reached the upstream, complete or not. */
let started = 0;

const routes = (url: string) => `
upstreams:
  echo: { url: "${url}" }
routes:
  api: { match: { prefix: /api/ }, upstream: echo, auth: none }
  legacy:
    match: { prefix: /legacy/ }
    upstream: echo
    auth: none
    allow: { methodOverride: true, originalUrlHeaders: true }
`;

before(async () => {
  upstream = await startUpstream();
  upstream.server.on('request', () => started++);
  gw = await startTestGateway(routes(upstream.url));
});
after(async () => {
  await gw.close();
  await upstream.close();
});
beforeEach(() => {
  upstream.requests.length = 0;
  started = 0;
});

const req = (head: string, body = '') => `${head.trim().split('\n').join('\r\n')}\r\n\r\n${body}`;

/** A forwarded raw request: 200, one request at the upstream (returned), one `ok` audit event. */
async function forwarded(gateway: TestGateway, bytes: string): Promise<{ seen: RecordedRequest; clientIp: string }> {
  const { res, conn } = await rawExchange(gateway.port, bytes);
  conn.destroy();
  assert.equal(res.status, 200, res.raw);
  assert.equal(upstream.requests.length, 1);
  const event = await auditFor(gateway, header(res, 'x-request-id') ?? '', 'ok');
  return { seen: upstream.requests[0] as RecordedRequest, clientIp: event.client.ip };
}

/** A rejected raw request: the problem reply, nothing at the upstream, one audit event. */
async function rejected(bytes: string | Buffer, status: number, code: string, label: string): Promise<void> {
  const { res, conn } = await rawExchange(gw.port, bytes);
  conn.destroy();
  const id = assertProblem(res, status, code, label);
  await auditFor(gw, id, code);
  assert.equal(upstream.requests.length, 0, `${label}: nothing may reach the upstream`);
  assert.equal(started, 0, `${label}: not even a request head may reach the upstream`);
}

const names = (seen: RecordedRequest) => seen.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());

describe('headers the gateway owns never reach the upstream as the client sent them', () => {
  test('identity, assertion and forwarding headers and their _ / case aliases are replaced', async () => {
    const { seen, clientIp } = await forwarded(
      gw,
      req(`
GET /api/whoami HTTP/1.1
Host: localhost
cortex-assertion: forged.jwt.value
Cortex_Assertion: forged2
CORTEX-USER: admin
Cortex-Roles: admin
x-forwarded-for: 6.6.6.6
X_Forwarded_For: 7.7.7.7
forwarded: for=6.6.6.6;proto=https
x-real-ip: 6.6.6.6
X-Forwarded-Proto: https
X-Forwarded-Host: evil.example
X-Forwarded-Port: 443
True-Client-IP: 6.6.6.6
X_Real_IP: 7.7.7.7
x-request-id: client-chosen
Connection: close`),
    );
    const sent = names(seen);
    // The one cortex-* header is Cortex's own signed assertion (the upstream's caller.assertion default).
    assert.deepEqual(sent.filter((n) => n.replaceAll('_', '-').startsWith('cortex-')), ['cortex-assertion'], "no cortex-* header but Cortex's own assertion");
    assert.deepEqual(sent.filter((n) => n.includes('_')), [], 'no _ alias');
    for (const n of ['x-real-ip', 'true-client-ip', 'x-forwarded-port']) assert.equal(seen.headers[n], undefined, n);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], 'localhost');
    assert.equal(seen.headers.forwarded, 'for=127.0.0.1;host=localhost;proto=http');
    assert.equal(sent.filter((n) => n === 'x-forwarded-for').length, 1);
    const values = seen.rawHeaders.join('\n');
    for (const v of ['forged', '6.6.6.6', '7.7.7.7', 'evil.example', 'https']) assert.ok(!values.includes(v), `no ${v} upstream`);
    assert.equal(clientIp, '127.0.0.1');
  });

  test('X-Original-URL, X-Rewrite-URL and method overrides are dropped unless the route opts in', async () => {
    const forged = `X-Original-URL: /admin
X-Rewrite-URL: /admin
X-Original-URI: /admin
X-HTTP-Method-Override: DELETE
X-HTTP-Method: DELETE
X-Method-Override: DELETE
X_Original_URL: /admin2
Connection: close`;
    const plain = await forwarded(gw, req(`GET /api/x HTTP/1.1\nHost: localhost\n${forged}`));
    const dropped = ['x-original-url', 'x-rewrite-url', 'x-original-uri', 'x-http-method-override', 'x-http-method', 'x-method-override'];
    for (const n of dropped) assert.equal(plain.seen.headers[n], undefined, n);
    assert.deepEqual(names(plain.seen).filter((n) => n.includes('_')), []);

    upstream.requests.length = 0;
    const legacy = await forwarded(gw, req(`GET /legacy/x HTTP/1.1\nHost: localhost\n${forged}`));
    for (const n of dropped) assert.ok(legacy.seen.headers[n] !== undefined, `${n} kept on the opted-in route`);
    assert.equal(legacy.seen.headers['x-original-url'], '/admin');
    assert.equal(legacy.seen.headers['x-http-method-override'], 'DELETE');
    assert.deepEqual(names(legacy.seen).filter((n) => n.includes('_')), [], 'the _ alias is dropped even there');
    assert.equal(legacy.seen.method, 'GET');
  });

  test('Connection: x-foo, authorization strips both, yet Cortex forwarding headers still arrive', async () => {
    const { seen } = await forwarded(
      gw,
      req(`
GET /api/conn HTTP/1.1
Host: localhost
Authorization: Bearer abc
X-Foo: bar
X-Bar: kept
Connection: x-foo, authorization, x-forwarded-for, forwarded, host`),
    );
    assert.equal(seen.headers['x-foo'], undefined);
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.headers['x-bar'], 'kept');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers.forwarded, 'for=127.0.0.1;host=localhost;proto=http');
    assert.equal(seen.headers.host, 'localhost');
    assert.ok(!String(seen.headers.connection ?? '').includes('x-foo'), 'the client Connection header is not copied');
  });
});

describe('from a trusted proxy', () => {
  let trusting: TestGateway;
  before(async () => {
    trusting = await startTestGatewayTrusting(upstream.url);
  });
  after(() => trusting.close());

  test('X-Forwarded-For and Forwarded are kept and extended; the client ip is the nearest untrusted hop', async () => {
    const { seen, clientIp } = await forwarded(
      trusting,
      req(`
GET /api/through-proxy HTTP/1.1
Host: localhost
X-Forwarded-For: 198.51.100.1, 203.0.113.9
Forwarded: for=203.0.113.9;proto=https
X-Forwarded-Proto: https
X_Forwarded_For: 6.6.6.6
Cortex-Assertion: forged
Connection: close`),
    );
    assert.equal(seen.headers['x-forwarded-for'], '198.51.100.1, 203.0.113.9, 127.0.0.1');
    assert.equal(seen.headers.forwarded, 'for=203.0.113.9;proto=https, for=127.0.0.1;host=localhost;proto=http');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.notEqual(seen.headers['cortex-assertion'], 'forged', 'identity headers are stripped even from a trusted proxy');
    assert.match(String(seen.headers['cortex-assertion']), /^[\w-]+\.[\w-]+\.[\w-]+$/, "the assertion is Cortex's own");
    assert.ok(!seen.rawHeaders.join('\n').includes('6.6.6.6'), 'the _ alias is dropped');
    assert.equal(clientIp, '203.0.113.9');
  });
});

async function startTestGatewayTrusting(url: string): Promise<TestGateway> {
  // The helper writes its own gateway.listen; stage overrides deep-merge trustedProxies into it.
  return startTestGateway(`${routes(url)}\nstages:\n  dev:\n    gateway:\n      trustedProxies: [127.0.0.1]\n`);
}

describe('duplicate and missing headers', () => {
  test('two Host headers → 400 request.duplicate_header', async () => {
    await rejected(req('GET /api/x HTTP/1.1\nHost: localhost\nHost: evil.example\nConnection: close'), 400, 'request.duplicate_header', 'Host twice');
    await rejected(req('GET /api/x HTTP/1.1\nHost: localhost\nhost: localhost\nConnection: close'), 400, 'request.duplicate_header', 'Host twice, same value');
  });

  test('two Authorization headers → 400 request.duplicate_header', async () => {
    await rejected(
      req('GET /api/x HTTP/1.1\nHost: localhost\nAuthorization: Bearer a\nauthorization: Bearer b\nConnection: close'),
      400,
      'request.duplicate_header',
      'Authorization twice',
    );
  });

  test('a missing, empty or malformed Host → 400 request.bad_host', async () => {
    await rejected(req('GET /api/x HTTP/1.1\nConnection: close'), 400, 'request.bad_host', 'no Host');
    await rejected(req('GET /api/x HTTP/1.1\nHost:\nConnection: close'), 400, 'request.bad_host', 'empty Host');
    await rejected(req('GET /api/x HTTP/1.1\nHost: evil.example/x\nConnection: close'), 400, 'request.bad_host', 'Host with a path');
    await rejected(req('GET /api/x HTTP/1.1\nHost: a@evil.example\nConnection: close'), 400, 'request.bad_host', 'Host with userinfo');
  });
});
