// Intent changes of an imported API as system audit events, in a protected stage (prod): a retag
// the document makes is intent_change_pending (recorded once, not at every refresh), and once the
// lock holds the proposed intent (what `cortex intents approve` writes) the next refresh records
// intent_approval.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fetchApiDocument } from '../../../src/intents/document.ts';
import { approveChanges, lockPathFor, readLock, writeLock } from '../../../src/intents/lock.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { startApisGateway } from '../intents/gateway-setup.ts';
import type { ApisGateway } from '../intents/gateway-setup.ts';
import { op, openapi, ordersPaths, startSpecServer } from '../intents/spec-server.ts';
import type { SpecServer } from '../intents/spec-server.ts';
import { systemEvents, waitSystem } from './events-kit.ts';

describe('intent changes are audited', () => {
  let idp: TestIdp;
  let spec: SpecServer;
  let g: ApisGateway;

  before(async () => {
    idp = await startTestIdp();
    spec = await startSpecServer(openapi(ordersPaths()));
    g = await startApisGateway(idp, spec.url(), 'prod');
  });
  after(async () => {
    await g?.close();
    await spec?.close();
    await idp?.close();
  });

  test('a retag waiting for approval is intent_change_pending, once', async () => {
    assert.deepEqual(await systemEvents(g.gw, 'intent_change_pending'), [], 'nothing pending at start');
    const paths = ordersPaths();
    paths['/orders/{id}'] = { ...paths['/orders/{id}'], delete: op('deleteOrder', 'orders:read') };
    spec.set(openapi(paths));
    await g.gw.runtime.gateway.apis.refreshNow();
    await g.gw.runtime.gateway.apis.refreshNow();
    const events = await waitSystem(g.gw, 'intent_change_pending');
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
    const cfg = g.gw.runtime.gateway.current().config.apis.orders;
    assert.ok(cfg);
    const fetched = await fetchApiDocument('orders', cfg);
    assert.ok(fetched.ok);
    const path = lockPathFor('orders', cfg);
    const lock = readLock(path, 'orders');
    assert.ok(lock.ok);
    writeLock(path, approveChanges(lock.lock, 'orders', fetched.document.operations, ['DELETE /orders/{id}']));
    await g.gw.runtime.gateway.apis.refreshNow();
    const [approval] = await waitSystem(g.gw, 'intent_approval');
    assert.deepEqual(approval?.details, {
      api: 'orders',
      operation: 'DELETE /orders/{id}',
      previous: { intent: 'orders:delete', tags: ['destructive'] },
      approved: { intent: 'orders:read', tags: [] },
    });
    assert.deepEqual(approval?.outcome, { status: 200, code: 'ok' });
    assert.equal((await systemEvents(g.gw, 'intent_change_pending')).length, 1, 'no new pending change');
  });

  test('a new endpoint needs no approval and records no intent event', async () => {
    const before = (await systemEvents(g.gw, 'intent_change_pending')).length + (await systemEvents(g.gw, 'intent_approval')).length;
    const paths = ordersPaths();
    paths['/orders/{id}'] = { ...paths['/orders/{id}'], delete: op('deleteOrder', 'orders:read') };
    spec.set(openapi({ ...paths, '/orders/{id}/items': { get: op('listItems', 'items:read') } }));
    await g.gw.runtime.gateway.apis.refreshNow();
    assert.equal(g.gw.runtime.gateway.apis.documents().get('orders')?.operations.some((o) => o.key === 'GET /orders/{id}/items'), true);
    const after = (await systemEvents(g.gw, 'intent_change_pending')).length + (await systemEvents(g.gw, 'intent_approval')).length;
    assert.equal(after, before);
  });
});
