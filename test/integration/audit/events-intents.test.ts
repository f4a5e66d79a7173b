// Intent changes of an imported API as system audit events, in a protected stage (prod): a retag
// the document makes is intent_change_pending (recorded once, not at every refresh), and once the
// lock holds the proposed intent (what `cortex intents approve` writes) the next refresh records
// intent_approval.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { approveAndRefresh, importedOrdersApi, retaggedOrdersPaths } from '../../helpers/imported-api.ts';
import { op, openapi } from '../intents/spec-server.ts';
import { systemEvents, waitSystem } from './events-kit.ts';

describe('intent changes are audited', () => {
  const api = importedOrdersApi('prod');

  test('a retag waiting for approval is intent_change_pending, once', async () => {
    assert.deepEqual(await systemEvents(api.g.gw, 'intent_change_pending'), [], 'nothing pending at start');
    api.spec.set(openapi(retaggedOrdersPaths()));
    await api.g.gw.runtime.gateway.apis.refreshNow();
    await api.g.gw.runtime.gateway.apis.refreshNow();
    const events = await waitSystem(api.g.gw, 'intent_change_pending');
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.deepEqual(events[0]?.details, {
      api: 'orders',
      operation: 'DELETE /orders/{id}',
      approved: { intent: 'orders:delete', tags: ['destructive'] },
      proposed: { intent: 'orders:read', tags: [] },
    });
    assert.equal(events[0]?.who, null);
    assert.deepEqual(events[0]?.outcome, { status: 202, code: 'pending' });
    assert.equal(events[0]?.stage, 'prod');
  });

  test('once the lock holds the proposed intent, the next refresh records intent_approval', async () => {
    await approveAndRefresh(api.g.gw, ['DELETE /orders/{id}']);
    const [approval] = await waitSystem(api.g.gw, 'intent_approval');
    assert.deepEqual(approval?.details, {
      api: 'orders',
      operation: 'DELETE /orders/{id}',
      previous: { intent: 'orders:delete', tags: ['destructive'] },
      approved: { intent: 'orders:read', tags: [] },
    });
    assert.deepEqual(approval?.outcome, { status: 200, code: 'ok' });
    assert.equal((await systemEvents(api.g.gw, 'intent_change_pending')).length, 1, 'no new pending change');
  });

  test('a new endpoint needs no approval and records no intent event', async () => {
    const before = (await systemEvents(api.g.gw, 'intent_change_pending')).length + (await systemEvents(api.g.gw, 'intent_approval')).length;
    api.spec.set(openapi(retaggedOrdersPaths({ '/orders/{id}/items': { get: op('listItems', 'items:read') } })));
    await api.g.gw.runtime.gateway.apis.refreshNow();
    assert.equal(api.g.gw.runtime.gateway.apis.documents().get('orders')?.operations.some((o) => o.key === 'GET /orders/{id}/items'), true);
    const after = (await systemEvents(api.g.gw, 'intent_change_pending')).length + (await systemEvents(api.g.gw, 'intent_approval')).length;
    assert.equal(after, before);
  });
});
