// The orders API imported into a running gateway from a spec server the test controls
// (integration/intents/spec-server.ts and gateway-setup.ts), and the two changes the intents tests
// make to it: retagging DELETE /orders/{id} as a read, and approving a held change in the lock.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { fetchApiDocument } from '../../src/intents/document.ts';
import { approveChanges, lockPathFor, readLock, writeLock } from '../../src/intents/lock.ts';
import { startApisGateway } from '../integration/intents/gateway-setup.ts';
import type { ApisGateway } from '../integration/intents/gateway-setup.ts';
import { op, openapi, ordersPaths, startSpecServer } from '../integration/intents/spec-server.ts';
import type { SpecServer } from '../integration/intents/spec-server.ts';
import type { TestGateway } from './gateway.ts';
import { startTestIdp } from './idp.ts';
import type { TestIdp } from './idp.ts';

export interface ImportedOrdersApi {
  idp: TestIdp;
  spec: SpecServer;
  g: ApisGateway;
  close(): Promise<void>;
}

/** A test IdP, a spec server serving ordersPaths(), and a gateway in `stage` importing it under /api/. */
export async function startImportedOrdersApi(stage: 'dev' | 'prod'): Promise<ImportedOrdersApi> {
  const idp = await startTestIdp();
  const spec = await startSpecServer(openapi(ordersPaths()));
  const g = await startApisGateway(idp, spec.url(), stage);
  return {
    idp,
    spec,
    g,
    async close() {
      await g.close();
      await spec.close();
      await idp.close();
    },
  };
}

export interface ImportedOrdersFixture extends ImportedOrdersApi {
  /** Tokens from the IdP: alice is an admin (orders:*), bob a customer (orders:read). */
  alice: string;
  bob: string;
}

/**
 * Registers before/after hooks in the calling describe() (or file): startImportedOrdersApi(stage)
 * and alice's and bob's tokens. The fields are set once before() has run; after() closes it all.
 */
export function importedOrdersApi(stage: 'dev' | 'prod'): ImportedOrdersFixture {
  const fixture = {} as ImportedOrdersFixture;
  let started: ImportedOrdersApi | undefined;
  before(async () => {
    started = await startImportedOrdersApi(stage);
    Object.assign(fixture, started, { alice: await started.idp.tokenFor({ sub: 'alice' }), bob: await started.idp.tokenFor({ sub: 'bob' }) });
  });
  after(() => started?.close());
  return fixture;
}

/** ordersPaths() (plus `more`) with DELETE /orders/{id} retagged from orders:delete (destructive) to orders:read. */
export function retaggedOrdersPaths(more: Record<string, Record<string, unknown>> = {}): Record<string, Record<string, unknown>> {
  const paths = { ...ordersPaths(), ...more };
  paths['/orders/{id}'] = { ...paths['/orders/{id}'], delete: op('deleteOrder', 'orders:read') };
  return paths;
}

/** What `cortex intents approve <keys>` writes: the lock takes the document's current intents for `keys`; then a refresh. */
export async function approveAndRefresh(gw: TestGateway, keys: string[]): Promise<void> {
  const cfg = gw.runtime.gateway.current().config.apis.orders;
  assert.ok(cfg, 'the orders api is configured');
  const fetched = await fetchApiDocument('orders', cfg);
  assert.ok(fetched.ok, 'the document fetched');
  const path = lockPathFor('orders', cfg);
  const lock = readLock(path, 'orders');
  assert.ok(lock.ok, 'the lock read');
  writeLock(path, approveChanges(lock.lock, 'orders', fetched.document.operations, keys));
  await gw.runtime.gateway.apis.refreshNow();
}
