// Routing and rewriting through a real gateway: stripPrefix/addPrefix/template rewrites (seen by the
// upstream and in the audit event), 404 and 405 with Allow, unknown methods, host-constrained
// routes, and upstream URLs with a base path.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { rawRequest } from '../../helpers/raw-http.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { assertProblem, auditFor, header, send } from '../../helpers/gateway-checks.ts';

let upstream: TestUpstream;
let gw: TestGateway;

before(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`
upstreams:
  echo: { url: "${upstream.url}" }
  based: { url: "${upstream.url}/base/", host: upstream }
routes:
  hdrs: { match: { path: /hdrs }, upstream: echo, auth: none }
  readonly: { match: { path: /readonly, methods: [GET, HEAD] }, upstream: echo, auth: none }
  api: { match: { prefix: /api/ }, upstream: echo, auth: none }
  strip:
    match: { prefix: /svc/ }
    upstream: echo
    auth: none
    rewrite: { stripPrefix: /svc, addPrefix: /internal/v2 }
  tmpl:
    match: { path: "/users/{id}/profile" }
    upstream: echo
    auth: none
    rewrite: { template: "/profiles/{id}" }
  hosted: { match: { host: api.example.com, path: /host-only }, upstream: echo, auth: none }
  anyhost: { match: { path: /host-only }, upstream: echo, auth: none }
  based: { match: { prefix: /based/ }, upstream: based, auth: none }
`);
});
after(async () => {
  await gw.close();
  await upstream.close();
});
beforeEach(() => {
  upstream.requests.length = 0;
});

describe('routing', () => {
  test('rewrites: stripPrefix + addPrefix and template; the audit event has path and upstreamPath', async () => {
    const cases = [
      { path: '/svc/orders/7?x=1', upstreamUrl: '/internal/v2/orders/7?x=1', auditPath: '/svc/orders/7', upstreamPath: '/internal/v2/orders/7', route: 'strip' },
      { path: '/svc', upstreamUrl: '/internal/v2/', auditPath: '/svc', upstreamPath: '/internal/v2/', route: 'strip' },
      { path: '/users/u-42/profile', upstreamUrl: '/profiles/u-42', auditPath: '/users/u-42/profile', upstreamPath: '/profiles/u-42', route: 'tmpl' },
    ];
    for (const c of cases) {
      upstream.requests.length = 0;
      const res = await send(`${gw.url}${c.path}`);
      assert.equal(res.status, 200, c.path);
      assert.equal(upstream.requests[0]?.url, c.upstreamUrl, c.path);
      const event = await auditFor(gw, header(res, 'x-request-id')!, 'ok');
      assert.equal(event.what.route, c.route);
      assert.equal(event.what.path, c.auditPath);
      assert.equal(event.what.upstreamPath, c.upstreamPath);
    }
  });

  test('a wrong method is 405 with Allow; no route is 404; neither reaches the upstream', async () => {
    const wrong = await send(`${gw.url}/readonly`, { method: 'POST', body: 'x' });
    const id = assertProblem(wrong, 405, 'route.method_not_allowed');
    assert.deepEqual(header(wrong, 'allow')?.split(', ').sort(), ['GET', 'HEAD']);
    const e405 = await auditFor(gw, id, 'route.method_not_allowed');
    assert.equal(e405.outcome.status, 405);

    const missing = await send(`${gw.url}/nowhere`);
    const id404 = assertProblem(missing, 404, 'route.not_found');
    const e404 = await auditFor(gw, id404, 'route.not_found');
    assert.equal(e404.what.route, undefined);
    assert.equal(upstream.requests.length, 0);
  });

  test('methods no route declares (TRACE, PROPFIND) are refused and never forwarded', async () => {
    for (const method of ['TRACE', 'PROPFIND']) {
      const parsed = await rawRequest(gw.port, `${method} /api/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      assert.ok([404, 405, 501].includes(parsed.status), `${method}: ${parsed.raw}`);
      const code = parsed.status === 405 ? 'route.method_not_allowed' : 'route.not_found';
      await auditFor(gw, assertProblem(parsed, parsed.status, code, method), code);
    }
    assert.equal(upstream.requests.length, 0);
  });

  test('host-constrained routes answer only their host (any case, any port); others fall to the unconstrained route', async () => {
    for (const host of ['api.example.com', 'API.Example.COM:8443']) {
      upstream.requests.length = 0;
      const res = await send(`${gw.url}/host-only`, { headers: { host } });
      assert.equal(res.status, 200, host);
      assert.equal(upstream.requests[0]?.headers.host, host, 'the client Host is preserved by default');
      const event = await auditFor(gw, header(res, 'x-request-id')!, 'ok');
      assert.equal(event.what.route, 'hosted');
    }
    const other = await send(`${gw.url}/host-only`, { headers: { host: 'other.example.com' } });
    assert.equal((await auditFor(gw, header(other, 'x-request-id')!, 'ok')).what.route, 'anyhost');
    upstream.requests.length = 0;
    const elsewhere = await send(`${gw.url}/hdrs`, { headers: { host: 'api.example.com' } });
    assert.equal((await auditFor(gw, header(elsewhere, 'x-request-id')!, 'ok')).what.route, 'hdrs');
  });

  test('a trailing dot in Host does not escape a host-constrained route', async () => {
    for (const host of ['api.example.com.', 'API.EXAMPLE.COM.:8443']) {
      const res = await send(`${gw.url}/host-only`, { headers: { host } });
      // Either the same route as without the dot, or refused as a bad Host; never another route.
      if (res.status === 400) {
        await auditFor(gw, assertProblem(res, 400, 'request.bad_host', host), 'request.bad_host');
        continue;
      }
      const event = await auditFor(gw, header(res, 'x-request-id') ?? '', 'ok');
      assert.equal(event.what.route, 'hosted', `${host} was routed to ${event.what.route ?? '-'}`);
    }
  });

  test('an upstream URL with a path prefixes it; host: upstream sends the upstream host', async () => {
    const res = await send(`${gw.url}/based/x?y=1`, { headers: { host: 'client.example' } });
    assert.equal(res.status, 200);
    assert.equal(upstream.requests[0]?.url, '/base/based/x?y=1');
    assert.equal(upstream.requests[0]?.headers.host, new URL(upstream.url).host);
    assert.equal(upstream.requests[0]?.headers['x-forwarded-host'], 'client.example');
    const event = await auditFor(gw, header(res, 'x-request-id')!, 'ok');
    assert.equal(event.what.upstreamPath, '/based/x');
  });
});
