import assert from 'node:assert/strict';
import { test } from 'node:test';
import { baseConfigSchema } from '../../../src/config/schema.ts';
import { createRouter } from '../../../src/gateway/router.ts';
import { compileSnapshotPolicy } from '../../../src/gateway/snapshot-policy.ts';
import { expandApis, joinPrefix } from '../../../src/intents/expand.ts';
import type { ApiDocuments } from '../../../src/intents/types.ts';
import { load, yaml } from '../config/fixtures.ts';
import { op } from './fixtures.ts';

const CONFIG = yaml`
  version: 1
  upstreams:
    orders: { url: http://127.0.0.1:9903 }
    legacy: { url: http://127.0.0.1:9904 }
  identity:
    providers:
      corp: { issuer: "https://idp.example.com", audiences: [orders-api] }
  routes:
    legacy-delete:
      match: { methods: [DELETE], path: "/api/orders/{orderId}" }
      upstream: legacy
      intent: orders:delete
      tags: [destructive]
  apis:
    orders:
      upstream: orders
      spec: { url: "http://127.0.0.1:9903/openapi.json" }
      prefix: /api/
      timeoutMs: 3000
      operations:
        "GET /orders/{id}":
          resource: { attributes: { url: "http://127.0.0.1:9903/orders/{id}", pick: { owner: owner } } }
    billing:
      upstream: orders
      spec: { file: billing.yaml }
      auth: none
  policy:
    grants: { reader: ["orders:read"] }
`;

const DOCS: ApiDocuments = new Map([
  [
    'orders',
    {
      operations: [
        op('GET /orders', 'orders:read', [], { operationId: 'listOrders' }),
        op('GET /orders/{id}', 'orders:read', []),
        op('DELETE /orders/{id}', 'orders:delete', ['destructive'], { operationId: 'deleteOrder' }),
        op('POST /orders', undefined, [], { operationId: 'create order!', source: 'none' }),
        op('GET /orders/{id}.json', 'orders:read', [], { problem: 'bad template' }),
        op('GET /orders/{orderId}', 'orders:read', [], { operationId: 'twin' }),
      ],
    },
  ],
  ['billing', undefined],
]);

test('joinPrefix never doubles the slash', () => {
  assert.equal(joinPrefix('/api/', '/orders'), '/api/orders');
  assert.equal(joinPrefix('/', '/orders'), '/orders');
  assert.equal(joinPrefix('/api/', '/'), '/api/');
});

test('each served operation becomes a route with its intent, under the prefix, forwarded without it', () => {
  const { config } = load(CONFIG);
  const out = expandApis(config, 'dev', DOCS);
  const routes = out.config.routes;
  assert.deepEqual(Object.keys(routes).sort(), ['billing.undeclared', 'legacy-delete', 'orders.create-order', 'orders.get-orders-id', 'orders.listOrders', 'orders.undeclared']);
  const list = routes['orders.listOrders'];
  assert.deepEqual(list?.match, { methods: ['GET'], path: '/api/orders' });
  assert.equal(list?.intent, 'orders:read');
  assert.equal(list?.upstream, 'orders');
  assert.equal(list?.auth, 'bearer', 'the route schema default: never public by omission');
  assert.equal(list?.timeoutMs, 3000);
  assert.deepEqual(list?.rewrite, { stripPrefix: '/api' });
  assert.equal(list?.maxBodyBytes, 10_485_760, 'every route default is filled');
  assert.equal(routes['orders.get-orders-id']?.resource?.attributes.pick.owner, 'owner');
  assert.equal(routes['orders.create-order']?.intent, undefined, 'no intent: the authz filter denies it');
  assert.deepEqual(routes['orders.undeclared']?.match, { prefix: '/api/' });
  assert.equal(routes['billing.undeclared']?.auth, 'none');
  assert.equal(routes['billing.undeclared']?.rewrite, undefined);
  assert.deepEqual([...out.undeclared], [
    ['orders.undeclared', { api: 'orders', prefix: '/api/' }],
    ['billing.undeclared', { api: 'billing', prefix: '/' }],
  ]);
  assert.deepEqual(out.problems, []);
  assert.equal(out.warnings.length, 4);
  assert.match(out.warnings.join('\n'), /DELETE \/orders\/\{id\} has the method and path of route legacy-delete in routes \(DELETE \/api\/orders\/\{id\}\); the imported operation is skipped/);
  assert.match(out.warnings.join('\n'), /GET \/orders\/\{id\}\.json is not served \(bad template\)/);
  assert.match(out.warnings.join('\n'), /POST \/orders has no intent/);
  assert.match(out.warnings.join('\n'), /GET \/orders\/\{orderId\} has the method and path of GET \/orders\/\{id\} of api orders/);
});

test('the expanded config is a valid config that compiles, and the input is left as it was', () => {
  const { config } = load(CONFIG);
  const out = expandApis(config, 'prod', DOCS);
  assert.ok(Object.isFrozen(config.routes));
  assert.deepEqual(Object.keys(config.routes), ['legacy-delete']);
  assert.ok(baseConfigSchema.safeParse(out.config).success);
  const problems: string[] = [];
  compileSnapshotPolicy(out.config, problems)?.dispose();
  assert.deepEqual(problems, []);
});

test('an api never fetched has only its catch-all: nothing under its prefix is open', () => {
  const { config } = load(CONFIG);
  const out = expandApis(config, 'dev', new Map());
  assert.deepEqual(Object.keys(out.config.routes).sort(), ['billing.undeclared', 'legacy-delete', 'orders.undeclared']);
});

test('a config route on all methods wins over every imported method of that path; ids stay unique', () => {
  const text = CONFIG.replace('match: { methods: [DELETE], path: "/api/orders/{orderId}" }', 'match: { path: "/api/orders/{orderId}" }').replace('legacy-delete:', 'orders.listOrders:');
  const { config } = load(text);
  const out = expandApis(config, 'dev', DOCS);
  assert.equal(out.config.routes['orders.listOrders']?.upstream, 'legacy', 'the config route keeps its id');
  assert.equal(out.config.routes['orders.listOrders-2']?.match.path, '/api/orders');
  assert.equal(out.config.routes['orders.get-orders-id'], undefined);
});

test('an unknown upstream is a problem and nothing of that api is routed', () => {
  const { config } = load(CONFIG);
  const broken = { ...config, apis: { ...config.apis, orders: { ...config.apis.orders, upstream: 'nowhere' } } } as typeof config;
  const out = expandApis(broken, 'dev', DOCS);
  assert.deepEqual(out.problems, ['apis.orders.upstream: unknown upstream "nowhere"']);
  assert.ok(!Object.keys(out.config.routes).some((id) => id.startsWith('orders.')));
});

test('an operation whose route does not validate is skipped with a warning (denied by the catch-all), never blocking the rest', () => {
  const { config } = load(CONFIG);
  const cfg = config.apis.orders;
  assert.ok(cfg);
  const apis = { ...config.apis, orders: { ...cfg, operations: { 'GET /orders': { resource: { attributes: { url: 'http://x/{id}', pick: { owner: 'owner' }, timeoutMs: 2000, cacheSeconds: 5 } } } } } };
  const out = expandApis({ ...config, apis }, 'dev', DOCS);
  assert.deepEqual(out.problems, []);
  assert.match(out.warnings.join('\n'), /GET \/orders cannot be routed \(.*\{id\} is not a path parameter.*\); it is denied/);
  assert.ok(!Object.values(out.config.routes).some((r) => r.match.path === '/orders' && r.match.methods?.includes('GET')));
});

test('apis whose prefixes nest: the api with the longer prefix answers the paths under it', () => {
  const text = CONFIG.replace('spec: { file: billing.yaml }', 'spec: { file: billing.yaml }\n    prefix: /api/billing/');
  const { config } = load(text);
  const docs: ApiDocuments = new Map([
    ['orders', { operations: [op('GET /billing', 'billing:read'), op('GET /billing/invoices', 'billing:read'), op('GET /orders', 'orders:read')] }],
    ['billing', { operations: [op('GET /invoices', 'billing:read', [], { api: 'billing' })] }],
  ]);
  const out = expandApis(config, 'dev', docs);
  assert.deepEqual(Object.keys(out.config.routes).sort(), ['billing.get-invoices', 'billing.undeclared', 'legacy-delete', 'orders.get-orders', 'orders.undeclared']);
  assert.match(out.warnings.join('\n'), /GET \/billing \(\/api\/billing\) is under the prefix \/api\/billing\/ of api billing/);
  assert.match(out.warnings.join('\n'), /GET \/billing\/invoices \(\/api\/billing\/invoices\) is under the prefix \/api\/billing\/ of api billing/);
  const problems: string[] = [];
  compileSnapshotPolicy(out.config, problems)?.dispose();
  assert.doesNotThrow(() => createRouter(Object.entries(out.config.routes).map(([id, rc]) => ({ route: id, ...rc.match }))));
});

test('a config route on the api\'s prefix keeps it: no catch-all, and the warning says so', () => {
  const text = CONFIG.replace('legacy-delete:\n    match: { methods: [DELETE], path: "/api/orders/{orderId}" }', 'legacy-delete:\n    match: { prefix: /api/ }');
  const { config } = load(text);
  const out = expandApis(config, 'dev', DOCS);
  assert.equal(out.config.routes['orders.undeclared'], undefined);
  assert.match(out.warnings.join('\n'), /apis\.orders: route legacy-delete in routes already matches the prefix \/api\//);
});
