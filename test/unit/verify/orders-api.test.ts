// The demo orders API with `assertion`: it trusts only the kit-verified assertion (a real JWKS
// server, real ES256 keys) and filters orders to the caller's own unless the caller is staff.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startOrdersApi, type OrdersApi } from '../../../src/dev/orders-api.ts';
import type { Order } from '../../../src/dev/orders-store.ts';
import { makeKey, mint, startJwksServer, type JwksServer, type TestKey } from './jwks-fixture.ts';

let key: TestKey;
let jwks: JwksServer;
let api: OrdersApi;
before(async () => {
  key = await makeKey('ES256');
  jwks = await startJwksServer([key]);
  api = await startOrdersApi({ assertion: { issuer: jwks.issuer, audience: 'orders' } });
});
after(async () => {
  await api.close();
  await jwks.close();
});

const as = (sub: string, roles: string[], extra: Record<string, unknown> = {}) =>
  mint(key, { issuer: jwks.issuer, claims: { sub, roles, ...extra } });

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await request(`${api.url}${path}`, {
    method: method as 'GET',
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, type: String(res.headers['content-type']), json: () => JSON.parse(text) as Record<string, unknown> };
}

async function owners(token: string): Promise<string[]> {
  const res = await call('GET', '/orders', { 'cortex-assertion': token });
  assert.equal(res.status, 200);
  return [...new Set((res.json().orders as Order[]).map((o) => o.owner))].sort();
}

describe('orders API behind the assertion', () => {
  test('/health and /openapi.json are open; everything else needs an assertion', async () => {
    assert.equal((await call('GET', '/health')).status, 200);
    assert.equal((await call('GET', '/openapi.json')).status, 200);
    for (const path of ['/orders', '/orders/ord_1001', '/', '/debug/request']) {
      const res = await call('GET', path);
      assert.equal(res.status, 401, path);
      assert.match(res.type, /^application\/problem\+json/);
      assert.equal(res.json().code, 'assertion.missing');
    }
  });

  test('nothing else is trusted: not Authorization, not x-demo-owner', async () => {
    const token = await as('alice', ['customer']);
    const untrusted: Record<string, string>[] = [{ authorization: `Bearer ${token}` }, { 'x-demo-owner': 'alice' }];
    for (const headers of untrusted) {
      assert.equal((await call('GET', '/orders', headers)).json().code, 'assertion.missing');
    }
    const billing = await mint(key, { issuer: jwks.issuer, audience: 'billing' });
    assert.equal((await call('GET', '/orders', { 'cortex-assertion': billing })).json().code, 'assertion.wrong_audience');
  });

  test('a customer lists only their own orders; support and admin list everyone\'s', async () => {
    assert.deepEqual(await owners(await as('alice', ['customer'])), ['alice']);
    assert.deepEqual(await owners(await as('bob', [])), ['bob']);
    assert.deepEqual(await owners(await as('sam', ['support'])), ['alice', 'bob', 'carol']);
    assert.deepEqual(await owners(await as('ada', ['customer', 'admin'])), ['alice', 'bob', 'carol']);
  });

  test('an agent acting for a person sees that person\'s orders, not the agent\'s roles\' reach', async () => {
    const token = await as('carol', ['customer'], { kind: 'agent', act: { sub: 'agent:shopper', roles: ['admin'] } });
    assert.deepEqual(await owners(token), ['carol']);
  });

  test('a customer cannot read or delete another owner\'s order', async () => {
    const alice = { 'cortex-assertion': await as('alice', ['customer']) };
    assert.equal((await call('GET', '/orders/ord_1001', alice)).json().owner, 'alice');
    assert.equal((await call('GET', '/orders/ord_1003', alice)).json().code, 'orders.not_found');
    assert.equal((await call('DELETE', '/orders/ord_1003', alice)).status, 404);
    const support = { 'cortex-assertion': await as('sam', ['support']) };
    assert.equal((await call('GET', '/orders/ord_1003', support)).json().owner, 'bob');
  });

  test('a new order belongs to the verified subject, whatever x-demo-owner says', async () => {
    const headers = { 'cortex-assertion': await as('alice', ['customer']), 'x-demo-owner': 'bob' };
    const res = await call('POST', '/orders', headers, { item: 'Desk lamp', quantity: 1 });
    assert.equal(res.status, 201);
    assert.equal(res.json().owner, 'alice');
  });
});
