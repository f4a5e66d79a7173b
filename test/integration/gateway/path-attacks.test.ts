// Path confusion over raw sockets (a client library would normalize these before sending): dot
// segments, encoded slashes and backslashes, double and overlong encodings, ';' parameters, case and
// trailing-slash variants, absolute-form and asterisk-form targets, and rules never matching queries.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { rawRequest } from '../../helpers/raw-http.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { assertProblem, auditFor, header } from '../../helpers/gateway-checks.ts';

let upstream: TestUpstream;
let gw: TestGateway;

before(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`
upstreams:
  echo: { url: "${upstream.url}" }
routes:
  orders: { match: { path: /orders }, upstream: echo, auth: none }
  order: { match: { path: "/orders/{id}" }, upstream: echo, auth: none }
  a: { match: { prefix: /a/ }, upstream: echo, auth: none }
  public: { match: { path: /public }, upstream: echo, auth: none }
  files: { match: { prefix: /files/ }, upstream: echo, auth: none, allow: { encodedSlash: true } }
`);
});
after(async () => {
  await gw.close();
  await upstream.close();
});
beforeEach(() => {
  upstream.requests.length = 0;
});

function get(target: string, method = 'GET') {
  return rawRequest(gw.port, `${method} ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
}

/** A rejected target: the problem reply, nothing upstream, one audit event with the code. */
async function rejected(target: string, status: number, code: string, method = 'GET') {
  const res = await get(target, method);
  const id = assertProblem(res, status, code, target);
  assert.equal(upstream.requests.length, 0, `${target} must not reach the upstream`);
  return auditFor(gw, id, code);
}

/** A forwarded target: 200 from the upstream, which saw `upstreamUrl`; the audit path is normalized. */
async function forwarded(target: string, route: string, upstreamUrl: string) {
  const res = await get(target);
  assert.equal(res.status, 200, `${target}: ${res.raw}`);
  assert.equal(upstream.requests.length, 1, target);
  assert.equal(upstream.requests[0]?.url, upstreamUrl, target);
  const event = await auditFor(gw, header(res, 'x-request-id') ?? '', 'ok');
  assert.equal(event.what.route, route, target);
  assert.equal(event.what.path, upstreamUrl.split('?')[0], 'policy and upstream see the same path');
  return event;
}

describe('malformed or ambiguous paths are rejected before anything is forwarded', () => {
  const badPath: [string, string][] = [
    ['/orders/%2e%2e/admin', 'encoded dot segment'],
    ['/%2E%2e/', 'encoded dot segment, mixed case'],
    ['/orders/.%2e/admin', 'half-encoded dot segment'],
    ['/a/..;/b', '..; (Tomcat-style traversal)'],
    ['/a/.;x/b', '.; with a parameter'],
    ['/a\\b', 'raw backslash'],
    ['/a%00b', 'encoded NUL'],
    ['/%252e%252e/admin', 'double encoding'],
    ['/a/%252Fb', 'double-encoded slash'],
    ['/%C0%AE%C0%AE/admin', 'overlong UTF-8 dots'],
    ['/a/%C0%AFb', 'overlong UTF-8 slash'],
    ['/a/%FFb', 'invalid UTF-8'],
    ['/a/%E2%82', 'truncated UTF-8'],
    ['/a/%zz', 'malformed escape'],
    ['/orders/../../etc/passwd', 'climbing above the root'],
    ['/..', 'climbing above the root'],
    ['/public#frag', 'fragment'],
  ];
  for (const [target, why] of badPath) {
    test(`${target} (${why}) → 400 request.bad_path`, async () => {
      const event = await rejected(target, 400, 'request.bad_path');
      assert.equal(event.what.upstreamPath, undefined);
    });
  }

  const ambiguous: [string, string][] = [
    ['/a;x=1', '; parameter, no route'],
    ['/a/b;jsessionid=1', '; parameter on a routed path'],
    ['/a%2Fb', 'encoded slash, no route'],
    ['/a/x%2Fy', 'encoded slash on a routed path'],
    ['/a/x%2fy', 'lower-case encoded slash'],
    ['/a%5Cb', 'encoded backslash'],
    ['/orders%2F1', 'encoded slash that would otherwise reach /orders/{id}'],
  ];
  for (const [target, why] of ambiguous) {
    test(`${target} (${why}) → 400 request.ambiguous_path`, async () => {
      await rejected(target, 400, 'request.ambiguous_path');
    });
  }

  test('absolute-form target naming another host is rejected, not routed', async () => {
    await rejected('http://evil.example/orders', 400, 'request.bad_path');
  });

  test('OPTIONS * is rejected as a path', async () => {
    await rejected('*', 400, 'request.bad_path', 'OPTIONS');
  });
});

describe('normalization that resolves to a path', () => {
  test('/orders/../admin resolves to /admin, which has no route: 404, nothing forwarded', async () => {
    const event = await rejected('/orders/../admin', 404, 'route.not_found');
    assert.equal(event.what.path, '/admin', 'the audit trail records the normalized path');
  });

  test('//orders is collapsed and routed to /orders', async () => {
    await forwarded('//orders', 'orders', '/orders');
  });

  test('dot segments that resolve inside a route reach it with the resolved path', async () => {
    await forwarded('/x/../orders', 'orders', '/orders');
    upstream.requests.length = 0;
    await forwarded('/orders/./17', 'order', '/orders/17');
    upstream.requests.length = 0;
    await forwarded('/orders/99/../17', 'order', '/orders/17');
  });

  test('percent-encoded unreserved characters are decoded before routing', async () => {
    await forwarded('/%6Frders', 'orders', '/orders');
    upstream.requests.length = 0;
    await forwarded('/orders/%41%7e', 'order', '/orders/A~');
  });

  test('paths are case-sensitive: /ORDERS is not /orders', async () => {
    await rejected('/ORDERS', 404, 'route.not_found');
    await rejected('/Orders/1', 404, 'route.not_found');
  });

  test('a trailing slash is significant: /orders/ is not routed as /orders', async () => {
    const res = await get('/orders/');
    const event = await auditFor(gw, header(res, 'x-request-id') ?? '', res.status === 404 ? 'route.not_found' : 'ok');
    assert.notEqual(event.what.route, 'orders');
    assert.notEqual(upstream.requests[0]?.url, '/orders');
  });

  test('/orders/ does not match /orders/{id} with an empty id: 404, nothing forwarded', async () => {
    const res = await get('/orders/');
    if (res.status !== 404) {
      const routed = (await gw.audit()).find((e) => e.id === header(res, 'x-request-id'));
      assert.fail(`/orders/ got ${res.status}: forwarded to the upstream as ${upstream.requests[0]?.url ?? '-'} by route ${routed?.what.route ?? '-'}`);
    }
    const id = assertProblem(res, 404, 'route.not_found');
    assert.equal(upstream.requests.length, 0);
    await auditFor(gw, id, 'route.not_found');
  });

  test('a route with allow.encodedSlash accepts %2F and %5C, kept encoded (hex upper-cased)', async () => {
    await forwarded('/files/a%2Fb', 'files', '/files/a%2Fb');
    upstream.requests.length = 0;
    await forwarded('/files/a%2fb%5cc', 'files', '/files/a%2Fb%5Cc');
    upstream.requests.length = 0;
    await rejected('/files/%2e%2e/x', 400, 'request.bad_path');
  });
});

describe('rules never match on the query string', () => {
  test('/public?x=/admin goes to /public with its query untouched', async () => {
    const event = await forwarded('/public?x=/admin&y=../orders', 'public', '/public?x=/admin&y=../orders');
    assert.equal(event.what.path, '/public');
  });

  test('/nothing?x=/public is not routed to /public', async () => {
    await rejected('/nothing?x=/public', 404, 'route.not_found');
    await rejected('/nothing?/orders', 404, 'route.not_found');
  });
});
