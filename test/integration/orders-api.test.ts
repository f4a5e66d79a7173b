import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { MAX_BODY_BYTES, startOrdersApi, type OrdersApi } from '../../src/dev/orders-api.ts';
import type { Order } from '../../src/dev/orders-store.ts';

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
const METHODS: readonly Method[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

let api: OrdersApi;
before(async () => {
  api = await startOrdersApi({ port: 0 });
});
after(() => api.close());

async function call(method: Method, path: string, opts: { body?: string; headers?: Record<string, string> } = {}) {
  const res = await request(`${api.url}${path}`, { method, body: opts.body, headers: opts.headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

function assertProblem(res: Awaited<ReturnType<typeof call>>, status: number, code: string): void {
  assert.equal(res.status, status, res.text);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const body = res.json();
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  for (const key of ['type', 'title', 'detail', 'requestId']) assert.equal(typeof body[key], 'string', key);
}

const post = (body: unknown, headers: Record<string, string> = {}) =>
  call('POST', '/orders', { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

describe('orders', () => {
  test('health answers ok', async () => {
    const res = await call('GET', '/health');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  test('list has seeded orders for alice, bob and carol', async () => {
    const res = await call('GET', '/orders');
    assert.equal(res.status, 200);
    const orders = res.json().orders as Order[];
    for (const owner of ['alice', 'bob', 'carol']) assert.ok(orders.filter((o) => o.owner === owner).length >= 2, owner);
    for (const o of orders) assert.deepEqual(Object.keys(o).sort(), ['createdAt', 'id', 'item', 'owner', 'quantity', 'status']);
  });

  test('get one order, and 404 problem+json for a missing one', async () => {
    const found = await call('GET', '/orders/ord_1001');
    assert.equal(found.status, 200);
    assert.equal(found.json().owner, 'alice');
    assertProblem(await call('GET', '/orders/ord_9999'), 404, 'orders.not_found');
  });

  test('create takes the owner from x-demo-owner, else anonymous', async () => {
    const res = await post({ item: 'Desk lamp', quantity: 2 }, { 'x-demo-owner': 'bob' });
    assert.equal(res.status, 201);
    const order = res.json() as unknown as Order;
    assert.equal(order.owner, 'bob');
    assert.equal(order.item, 'Desk lamp');
    assert.equal(order.status, 'pending');
    assert.equal(res.headers.location, `/orders/${order.id}`);
    assert.equal((await call('GET', `/orders/${order.id}`)).json().item, 'Desk lamp');
    const anon = await post({ item: 'Pen', quantity: 1 });
    assert.equal(anon.json().owner, 'anonymous');
  });

  test('create rejects bad bodies with 400 problem+json', async () => {
    const bad: unknown[] = ['{not json', '[]', {}, { item: '', quantity: 1 }, { item: 'x', quantity: 0 },
      { item: 'x', quantity: 1.5 }, { item: 'x', quantity: '1' }, { item: 'x', quantity: 1, owner: 'alice' }];
    for (const body of bad) assertProblem(await post(body), 400, 'orders.invalid_body');
    assertProblem(await post({ item: 'x', quantity: 1 }, { 'x-demo-owner': 'a b' }), 400, 'orders.invalid_owner');
  });

  test('create rejects bodies over 64 KiB with 413, declared or streamed', async () => {
    const big = JSON.stringify({ item: 'x'.repeat(MAX_BODY_BYTES), quantity: 1 });
    assertProblem(await post(big), 413, 'orders.too_large');
    // A stream has no content-length, so the limit is enforced while reading.
    const chunks = Array.from({ length: 5 }, () => Buffer.alloc(20 * 1024, 0x20));
    const res = await request(`${api.url}/orders`, { method: 'POST', body: Readable.from(chunks) });
    assert.equal(res.statusCode, 413);
    assert.equal((JSON.parse(await res.body.text()) as { code: string }).code, 'orders.too_large');
    const exact = JSON.stringify({ item: 'y', quantity: 1 }).padEnd(MAX_BODY_BYTES, ' ');
    assert.equal((await post(exact)).status, 201, 'exactly 64 KiB is accepted');
  });

  test('delete answers 204, then the order is gone', async () => {
    const created = (await post({ item: 'Temp', quantity: 1 })).json() as unknown as Order;
    const res = await call('DELETE', `/orders/${created.id}`);
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    assertProblem(await call('GET', `/orders/${created.id}`), 404, 'orders.not_found');
    assertProblem(await call('DELETE', `/orders/${created.id}`), 404, 'orders.not_found');
  });

  test('debug/request shows what reached the service', async () => {
    const res = await call('GET', '/debug/request?a=1&b=2', { headers: { 'x-probe': 'seen', 'X-Dup': 'one' } });
    assert.equal(res.status, 200);
    const body = res.json() as { method: string; path: string; query: string; headers: Record<string, string>; rawHeaders: string[][] };
    assert.equal(body.method, 'GET');
    assert.equal(body.path, '/debug/request');
    assert.equal(body.query, 'a=1&b=2');
    assert.equal(body.headers['x-probe'], 'seen');
    assert.ok(body.rawHeaders.some(([name, value]) => name === 'X-Dup' && value === 'one'));
  });

  test('unknown paths are 404 problem+json', async () => {
    for (const path of ['/orders/', '/orders/ord_1001/items', '/admin', '/openapi.yaml']) {
      assertProblem(await call('GET', path), 404, 'orders.no_route');
    }
  });
});

interface Operation {
  operationId?: string;
  'x-cortex-intent'?: string;
  'x-cortex-public'?: boolean;
}

describe('openapi.json', () => {
  let doc: { openapi: string; paths: Record<string, Record<string, unknown>> };
  before(async () => {
    const res = await call('GET', '/openapi.json');
    assert.equal(res.status, 200);
    doc = res.json() as typeof doc;
  });

  function operations(): Array<{ path: string; method: Method; op: Operation }> {
    const out: Array<{ path: string; method: Method; op: Operation }> = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [key, op] of Object.entries(item)) {
        const method = key.toUpperCase() as Method;
        if (METHODS.includes(method)) out.push({ path, method, op: op as Operation });
      }
    }
    return out;
  }

  test('is OpenAPI 3.1 with an operationId and an intent (or public) on every operation', () => {
    assert.equal(doc.openapi, '3.1.0');
    const seen: Record<string, string | undefined> = {};
    for (const { op } of operations()) {
      seen[op.operationId ?? '(none)'] = op['x-cortex-public'] === true ? 'public' : op['x-cortex-intent'];
    }
    assert.deepEqual(seen, {
      listOrders: 'orders:read',
      getOrder: 'orders:read',
      createOrder: 'orders:create',
      deleteOrder: 'orders:delete',
      health: 'public',
      demoPage: 'public',
      getOpenApi: 'public',
      debugRequest: 'public',
    });
  });

  test('lists exactly the routes the server serves', async () => {
    const documented = new Set(operations().map(({ path, method }) => `${method} ${path}`));
    for (const path of Object.keys(doc.paths)) {
      for (const method of METHODS) {
        const id = path.includes('{id}') ? ((await post({ item: 'probe', quantity: 1 })).json() as unknown as Order).id : '';
        const concrete = path.replace('{id}', id);
        const res = await call(method, concrete, method === 'POST' ? { body: '{"item":"probe","quantity":1}' } : {});
        if (documented.has(`${method} ${path}`)) {
          assert.ok(res.status < 400, `${method} ${concrete} is documented but answered ${res.status}`);
        } else {
          assert.equal(res.status, 405, `${method} ${concrete} is served but not documented`);
        }
      }
    }
  });
});
