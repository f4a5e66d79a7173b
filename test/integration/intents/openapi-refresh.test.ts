// Imported OpenAPI APIs in the running gateway, in stage prod: the gateway starts with the
// document's routes; a document that gains an endpoint serves it at the next refresh without a
// config edit (and denied it before, authz.undeclared_operation, nothing reaching the upstream); a
// retag of an existing operation is held until approved, reported in /api/status and the metrics;
// an operation without intent is denied and reported.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertProblem, auditFor } from '../../helpers/gateway-checks.ts';
import { approveAndRefresh, importedOrdersApi, retaggedOrdersPaths } from '../../helpers/imported-api.ts';
import { metricValue } from './gateway-setup.ts';
import { op, openapi, ordersPaths } from './spec-server.ts';

const api = importedOrdersApi('prod');

describe('the gateway starts with the imported routes', () => {
  test('a declared operation serves, forwarded without the prefix', async () => {
    const { reply, reached } = await api.g.call('GET', '/api/orders/ord_1', api.bob);
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reached, 1);
    assert.equal(api.g.upstream.requests.at(-1)?.url, '/orders/ord_1');
  });

  test('a config route under the prefix is not shadowed by the catch-all', async () => {
    const { reply, reached } = await api.g.call('GET', '/api/health');
    assert.equal(reply.status, 200);
    assert.equal(reached, 1);
  });

  test('the intent of an imported operation is enforced', async () => {
    const { reply, reached } = await api.g.call('DELETE', '/api/orders/ord_1', api.bob);
    assertProblem(reply, 403, 'authz.denied');
    assert.match(reply.body, /orders:delete/);
    assert.equal(reached, 0);
  });
});

describe('a document that gains an endpoint', () => {
  test('before: 403 authz.undeclared_operation naming the method, path and api, audited, nothing upstream', async () => {
    const { reply, reached } = await api.g.call('GET', '/api/orders/ord_1/items', api.alice);
    const id = assertProblem(reply, 403, 'authz.undeclared_operation');
    const detail = (JSON.parse(reply.body) as { detail: string }).detail;
    assert.match(detail, /GET \/api\/orders\/ord_1\/items/);
    assert.match(detail, /orders/);
    assert.equal(reached, 0);
    const event = await auditFor(api.g.gw, id, 'authz.undeclared_operation');
    assert.equal(event.decision?.allow, false);
    assert.equal(event.who?.subject, 'alice');
  });

  test('after a refresh: the route serves with its intent, with no config edit', async () => {
    const configBefore = JSON.stringify(api.g.gw.runtime.gateway.current().config.routes.health);
    api.spec.set(openapi({ ...ordersPaths(), '/orders/{id}/items': { get: op('listItems', 'items:read') } }));
    await api.g.gw.runtime.gateway.apis.refreshNow();
    const allowed = await api.g.call('GET', '/api/orders/ord_1/items', api.alice);
    assert.equal(allowed.reply.status, 200, allowed.reply.body);
    assert.equal(allowed.reached, 1);
    assert.equal(api.g.upstream.requests.at(-1)?.url, '/orders/ord_1/items');
    const denied = await api.g.call('GET', '/api/orders/ord_1/items', api.bob);
    assertProblem(denied.reply, 403, 'authz.denied');
    assert.match(denied.reply.body, /items:read/);
    assert.equal(denied.reached, 0);
    assert.equal(JSON.stringify(api.g.gw.runtime.gateway.current().config.routes.health), configBefore);
    const scrape = await api.g.metrics();
    assert.ok((metricValue(scrape, 'cortex_openapi_refresh_total{api="orders",result="ok"}') ?? 0) >= 2, 'two new documents fetched');
  });

  test('a refresh with the same document changes nothing and is counted unchanged', async () => {
    const generation = api.g.gw.runtime.gateway.current().generation;
    await api.g.gw.runtime.gateway.apis.refreshNow();
    assert.equal(api.g.gw.runtime.gateway.current().generation, generation);
    assert.ok((metricValue(await api.g.metrics(), 'cortex_openapi_refresh_total{api="orders",result="unchanged"}') ?? 0) >= 1);
  });
});

describe('an operation without an intent', () => {
  test('is denied with authz.no_intent, and reported in /api/status and the metrics', async () => {
    const { reply, reached } = await api.g.call('GET', '/api/orders/ord_1/notes', api.alice);
    assertProblem(reply, 403, 'authz.no_intent');
    assert.equal(reached, 0);
    const status = await api.g.status();
    assert.deepEqual(status.apis.orders?.noIntent, ['GET /orders/{id}/notes']);
    assert.equal(metricValue(await api.g.metrics(), 'cortex_openapi_operations{api="orders",state="no_intent"}'), 1);
  });
});

describe('a retag in a protected stage (prod)', () => {
  test('DELETE retagged as a read: the old intent holds, and the change is reported', async () => {
    api.spec.set(openapi(retaggedOrdersPaths({ '/orders/{id}/items': { get: op('listItems', 'items:read') } })));
    await api.g.gw.runtime.gateway.apis.refreshNow();
    const { reply, reached } = await api.g.call('DELETE', '/api/orders/ord_1', api.bob);
    assertProblem(reply, 403, 'authz.denied');
    assert.match(reply.body, /orders:delete/);
    assert.equal(reached, 0);
    const pending = api.g.gw.runtime.gateway.apis.pending();
    assert.equal(pending.length, 1);
    assert.equal(pending[0]?.key, 'DELETE /orders/{id}');
    assert.deepEqual(pending[0]?.approved, { intent: 'orders:delete', tags: ['destructive'] });
    assert.deepEqual(pending[0]?.proposed, { intent: 'orders:read', tags: [] });
    const status = await api.g.status();
    assert.deepEqual(status.apis.orders?.pending.map((p) => p.key), ['DELETE /orders/{id}']);
    assert.equal(metricValue(await api.g.metrics(), 'cortex_intent_changes_pending{api="orders"}'), 1);
    await api.g.gw.runtime.gateway.apis.refreshNow();
    const again = await api.g.call('DELETE', '/api/orders/ord_1', api.bob);
    assertProblem(again.reply, 403, 'authz.denied', 'still held after another refresh');
  });

  test('once approved (what cortex intents approve writes), the next refresh applies the new intent', async () => {
    await approveAndRefresh(api.g.gw, ['DELETE /orders/{id}']);
    const { reply, reached } = await api.g.call('DELETE', '/api/orders/ord_1', api.bob);
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reached, 1);
    assert.equal(api.g.upstream.requests.at(-1)?.method, 'DELETE');
    assert.deepEqual(api.g.gw.runtime.gateway.apis.pending(), []);
    assert.equal(metricValue(await api.g.metrics(), 'cortex_intent_changes_pending{api="orders"}'), 0);
  });
});
