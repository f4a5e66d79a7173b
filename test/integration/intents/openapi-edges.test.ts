// Imported OpenAPI APIs, the edges: in stage dev a retag applies at once; path tricks under the
// prefix never reach the upstream; a spec server that fails or goes away leaves the last good
// document serving; a reload that changes the apis section fetches again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertProblem, eventually } from '../../helpers/gateway-checks.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { rawRequest } from '../../helpers/raw-http.ts';
import { apisYaml, metricValue, startApisGateway } from './gateway-setup.ts';
import type { ApisGateway } from './gateway-setup.ts';
import { op, openapi, ordersPaths, startSpecServer } from './spec-server.ts';
import type { SpecServer } from './spec-server.ts';

let idp: TestIdp;
let spec: SpecServer;
let g: ApisGateway;
let alice: string;
let bob: string;

before(async () => {
  idp = await startTestIdp();
  spec = await startSpecServer(openapi(ordersPaths()));
  g = await startApisGateway(idp, spec.url(), 'dev');
  alice = await idp.tokenFor({ sub: 'alice' });
  bob = await idp.tokenFor({ sub: 'bob' });
});
after(async () => {
  await g?.close();
  await spec?.close();
  await idp?.close();
});

describe('path tricks under the prefix (raw requests)', () => {
  const cases: [string, string, number, string][] = [
    ['dot segments climbing out of a declared path', 'GET /api/orders/../admin', 403, 'authz.undeclared_operation'],
    ['encoded dot segments', 'GET /api/orders/%2e%2e/admin', 400, 'request.bad_path'],
    ['double slashes onto an undeclared path', 'GET /api//admin//x', 403, 'authz.undeclared_operation'],
    ['an undeclared method on a declared path', 'PUT /api/orders/ord_1', 403, 'authz.undeclared_operation'],
    ['OPTIONS on a declared path', 'OPTIONS /api/orders/ord_1', 403, 'authz.undeclared_operation'],
    ['an empty parameter', 'GET /api/orders/', 403, 'authz.undeclared_operation'],
    ['the prefix without its slash', 'GET /api', 403, 'authz.undeclared_operation'],
    ['an encoded slash inside a parameter', 'GET /api/orders/ord_1%2Fnotes', 400, 'request.ambiguous_path'],
    ['a semicolon parameter', 'GET /api/orders/ord_1;x=1', 400, 'request.ambiguous_path'],
    ['a path deeper than any declared one', 'GET /api/orders/ord_1/notes/secret', 403, 'authz.undeclared_operation'],
  ];
  for (const [name, line, status, code] of cases) {
    test(`${name}: ${line} → ${status} ${code}, nothing upstream`, async () => {
      const before = g.upstream.requests.length;
      const res = await rawRequest(g.gw.port, `${line} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${alice}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      assert.equal(res.status, status, res.raw);
      assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.equal((JSON.parse(res.body) as { code: string }).code, code);
      assert.equal(g.upstream.requests.length, before, 'nothing reached the upstream');
    });
  }

  test('without a credential the catch-all answers 401 like the declared routes: no map of the API for strangers', async () => {
    const { reply, reached } = await g.call('GET', '/api/orders/ord_1/secret');
    assertProblem(reply, 401, 'authn.missing');
    assert.equal(reached, 0);
  });
});

describe('a retag in an unprotected stage (dev)', () => {
  test('takes effect at the next refresh, and is still reported as pending (the lock does not follow)', async () => {
    const denied = await g.call('DELETE', '/api/orders/ord_1', bob);
    assertProblem(denied.reply, 403, 'authz.denied');
    const paths = ordersPaths();
    paths['/orders/{id}'] = { ...paths['/orders/{id}'], delete: op('deleteOrder', 'orders:read') };
    spec.set(openapi(paths));
    await g.gw.runtime.gateway.apis.refreshNow();
    const { reply, reached } = await g.call('DELETE', '/api/orders/ord_1', bob);
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reached, 1);
    assert.deepEqual(g.gw.runtime.gateway.apis.pending().map((p) => p.key), ['DELETE /orders/{id}']);
    spec.set(openapi(ordersPaths()));
    await g.gw.runtime.gateway.apis.refreshNow();
    assertProblem((await g.call('DELETE', '/api/orders/ord_1', bob)).reply, 403, 'authz.denied', 'back to the locked intent');
  });
});

describe('the spec server fails', () => {
  test('a 500, then a reset connection: the last good document keeps serving, the failures are counted and shown', async () => {
    const digest = (await g.status()).apis.orders?.digest;
    assert.ok(digest);
    for (const mode of ['error', 'reset'] as const) {
      spec.mode(mode);
      await g.gw.runtime.gateway.apis.refreshNow();
      const { reply, reached } = await g.call('GET', '/api/orders/ord_1', bob);
      assert.equal(reply.status, 200, `${mode}: ${reply.body}`);
      assert.equal(reached, 1);
      const status = await g.status();
      assert.equal(status.apis.orders?.digest, digest);
      assert.equal(typeof status.apis.orders?.lastProblem, 'string');
    }
    assert.ok((metricValue(await g.metrics(), 'cortex_openapi_refresh_total{api="orders",result="failed"}') ?? 0) >= 2);
    spec.mode('ok');
    await g.gw.runtime.gateway.apis.refreshNow();
    assert.equal((await g.status()).apis.orders?.lastProblem, undefined);
  });
});

describe('a reload that changes the apis section', () => {
  test('fetches the new document without being asked: its operations serve under the new prefix', async () => {
    spec.set(openapi({ '/orders/{id}/history': { get: op('orderHistory', 'orders:read') } }), '/v2.json');
    const lockFile = g.lockFile.replace(/orders\.json$/, 'v2.json');
    const reloaded = g.gw.rewrite(g.body(apisYaml(spec.url('/v2.json'), lockFile, '/v2/', 100)));
    assert.ok(reloaded.ok, JSON.stringify(reloaded));
    const served = await eventually(async () => {
      const r = await g.call('GET', '/v2/orders/ord_1/history', bob);
      return r.reply.status === 200 ? r : undefined;
    }, 'the new document served after the reload');
    assert.equal(served.reached, 1);
    assert.equal(g.upstream.requests.at(-1)?.url, '/orders/ord_1/history');
    const old = await g.call('GET', '/api/orders/ord_1', bob);
    assertProblem(old.reply, 404, 'route.not_found', 'the old prefix is gone');
    const undeclared = await g.call('GET', '/v2/orders/ord_1', bob);
    assertProblem(undeclared.reply, 403, 'authz.undeclared_operation');
    assert.equal(undeclared.reached, 0);
  });

  test('refreshIntervalMs: a document change is picked up by the timer, with no refreshNow', async () => {
    spec.set(openapi({ '/orders/{id}/history': { get: op('orderHistory', 'orders:read') }, '/orders/{id}/label': { get: op('orderLabel', 'orders:read') } }), '/v2.json');
    await eventually(async () => ((await g.call('GET', '/v2/orders/ord_1/label', bob)).reply.status === 200 ? true : undefined), 'the new operation served by the periodic refresh');
  });

  test('the spec server gone for good: the document keeps serving', async () => {
    await spec.close();
    const failedBefore = metricValue(await g.metrics(), 'cortex_openapi_refresh_total{api="orders",result="failed"}') ?? 0;
    await eventually(async () => ((metricValue(await g.metrics(), 'cortex_openapi_refresh_total{api="orders",result="failed"}') ?? 0) > failedBefore ? true : undefined), 'a failed periodic refresh');
    const { reply } = await g.call('GET', '/v2/orders/ord_1/history', bob);
    assert.equal(reply.status, 200, reply.body);
  });
});
