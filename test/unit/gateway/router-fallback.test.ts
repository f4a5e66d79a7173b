// An imported API's catch-all (a fallback prefix route): it takes every request under its prefix
// that no declared operation serves (an undeclared method, a deeper path, an empty parameter), and
// never the gateway's own /.cortex/ endpoints or the config's routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRouter } from '../../../src/gateway/router.ts';

const router = (prefix: string) =>
  createRouter<string>([
    { route: 'get-order', methods: ['GET'], path: '/api/orders/{id}' },
    { route: 'list', methods: ['GET'], path: '/api/orders' },
    { route: 'health', methods: ['GET'], path: '/api/health' },
    { route: 'login', methods: ['GET'], path: '/.cortex/login' },
    { route: 'catch-all', prefix, fallback: true },
  ]);

const routeOf = (r: ReturnType<typeof router>, method: string, path: string) => {
  const m = r.find(method, path, 'example.com');
  return m.found ? m.route : `none:${m.allow.join(',')}`;
};

test('under the prefix, whatever no declared operation serves lands on the catch-all', () => {
  const r = router('/api/');
  assert.equal(routeOf(r, 'GET', '/api/orders/ord_1'), 'get-order');
  assert.equal(routeOf(r, 'GET', '/api/health'), 'health');
  for (const [method, path] of [['PUT', '/api/orders/ord_1'], ['GET', '/api/orders/ord_1/items'], ['GET', '/api/orders/'], ['GET', '/api'], ['POST', '/api/health'], ['HEAD', '/api/orders']]) {
    assert.equal(routeOf(r, method as string, path as string), 'catch-all', `${method} ${path}`);
  }
  assert.equal(routeOf(r, 'GET', '/other'), 'none:');
});

test('an API imported at / never takes the /.cortex/ endpoints: they keep their 405 and 404', () => {
  const r = router('/');
  assert.equal(routeOf(r, 'GET', '/.cortex/login'), 'login');
  assert.equal(routeOf(r, 'POST', '/.cortex/login'), 'none:GET');
  assert.equal(routeOf(r, 'GET', '/.cortex/nothing'), 'none:');
  assert.equal(routeOf(r, 'GET', '/anything'), 'catch-all');
  assert.equal(routeOf(r, 'GET', '/api/orders/ord_1'), 'get-order');
});
