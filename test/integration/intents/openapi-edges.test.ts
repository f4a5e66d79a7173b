// Imported OpenAPI APIs, the edges: in stage dev a retag applies at once; path tricks under the
// prefix never reach the upstream; a spec server that fails or goes away leaves the last good
// document serving; a reload that changes the apis section fetches again.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertProblem, eventually } from '../../helpers/gateway-checks.ts';
import { importedOrdersApi, retaggedOrdersPaths } from '../../helpers/imported-api.ts';
import { rawRequest } from '../../helpers/raw-http.ts';
import { apisYaml, metricValue } from './gateway-setup.ts';
import { op, openapi, ordersPaths } from './spec-server.ts';

const api = importedOrdersApi('dev');

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
      const before = api.g.upstream.requests.length;
      const res = await rawRequest(api.g.gw.port, `${line} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${api.alice}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      assert.equal(res.status, status, res.raw);
      assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.equal((JSON.parse(res.body) as { code: string }).code, code);
      assert.equal(api.g.upstream.requests.length, before, 'nothing reached the upstream');
    });
  }

  test('without a credential the catch-all answers 401 like the declared routes: no map of the API for strangers', async () => {
    const { reply, reached } = await api.g.call('GET', '/api/orders/ord_1/secret');
    assertProblem(reply, 401, 'authn.missing');
    assert.equal(reached, 0);
  });
});

describe('a retag in an unprotected stage (dev)', () => {
  test('takes effect at the next refresh, and is still reported as pending (the lock does not follow)', async () => {
    const denied = await api.g.call('DELETE', '/api/orders/ord_1', api.bob);
    assertProblem(denied.reply, 403, 'authz.denied');
    api.spec.set(openapi(retaggedOrdersPaths()));
    await api.g.gw.runtime.gateway.apis.refreshNow();
    const { reply, reached } = await api.g.call('DELETE', '/api/orders/ord_1', api.bob);
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reached, 1);
    assert.deepEqual(api.g.gw.runtime.gateway.apis.pending().map((p) => p.key), ['DELETE /orders/{id}']);
    api.spec.set(openapi(ordersPaths()));
    await api.g.gw.runtime.gateway.apis.refreshNow();
    assertProblem((await api.g.call('DELETE', '/api/orders/ord_1', api.bob)).reply, 403, 'authz.denied', 'back to the locked intent');
  });
});

describe('the spec server fails', () => {
  test('a 500, then a reset connection: the last good document keeps serving, the failures are counted and shown', async () => {
    const digest = (await api.g.status()).apis.orders?.digest;
    assert.ok(digest);
    for (const mode of ['error', 'reset'] as const) {
      api.spec.mode(mode);
      await api.g.gw.runtime.gateway.apis.refreshNow();
      const { reply, reached } = await api.g.call('GET', '/api/orders/ord_1', api.bob);
      assert.equal(reply.status, 200, `${mode}: ${reply.body}`);
      assert.equal(reached, 1);
      const status = await api.g.status();
      assert.equal(status.apis.orders?.digest, digest);
      assert.equal(typeof status.apis.orders?.lastProblem, 'string');
    }
    assert.ok((metricValue(await api.g.metrics(), 'cortex_openapi_refresh_total{api="orders",result="failed"}') ?? 0) >= 2);
    api.spec.mode('ok');
    await api.g.gw.runtime.gateway.apis.refreshNow();
    assert.equal((await api.g.status()).apis.orders?.lastProblem, undefined);
  });
});

describe('a reload that changes the apis section', () => {
  test('fetches the new document without being asked: its operations serve under the new prefix', async () => {
    api.spec.set(openapi({ '/orders/{id}/history': { get: op('orderHistory', 'orders:read') } }), '/v2.json');
    const lockFile = api.g.lockFile.replace(/orders\.json$/, 'v2.json');
    const reloaded = api.g.gw.rewrite(api.g.body(apisYaml(api.spec.url('/v2.json'), lockFile, '/v2/', 100)));
    assert.ok(reloaded.ok, JSON.stringify(reloaded));
    const served = await eventually(async () => {
      const r = await api.g.call('GET', '/v2/orders/ord_1/history', api.bob);
      return r.reply.status === 200 ? r : undefined;
    }, 'the new document served after the reload');
    assert.equal(served.reached, 1);
    assert.equal(api.g.upstream.requests.at(-1)?.url, '/orders/ord_1/history');
    const old = await api.g.call('GET', '/api/orders/ord_1', api.bob);
    assertProblem(old.reply, 404, 'route.not_found', 'the old prefix is gone');
    const undeclared = await api.g.call('GET', '/v2/orders/ord_1', api.bob);
    assertProblem(undeclared.reply, 403, 'authz.undeclared_operation');
    assert.equal(undeclared.reached, 0);
  });

  test('refreshIntervalMs: a document change is picked up by the timer, with no refreshNow', async () => {
    api.spec.set(openapi({ '/orders/{id}/history': { get: op('orderHistory', 'orders:read') }, '/orders/{id}/label': { get: op('orderLabel', 'orders:read') } }), '/v2.json');
    await eventually(async () => ((await api.g.call('GET', '/v2/orders/ord_1/label', api.bob)).reply.status === 200 ? true : undefined), 'the new operation served by the periodic refresh');
  });

  test('the spec server gone for good: the document keeps serving', async () => {
    await api.spec.close();
    const failedBefore = metricValue(await api.g.metrics(), 'cortex_openapi_refresh_total{api="orders",result="failed"}') ?? 0;
    await eventually(async () => ((metricValue(await api.g.metrics(), 'cortex_openapi_refresh_total{api="orders",result="failed"}') ?? 0) > failedBefore ? true : undefined), 'a failed periodic refresh');
    const { reply } = await api.g.call('GET', '/v2/orders/ord_1/history', api.bob);
    assert.equal(reply.status, 200, reply.body);
  });
});
