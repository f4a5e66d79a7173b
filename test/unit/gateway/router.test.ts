import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRouter, paramNames, toRouterPath } from '../../../src/gateway/router.ts';
import type { RouteMatch, RouteSpec } from '../../../src/gateway/router.ts';

const HOST = 'any.example.com';

/** The matched route's name and params, or the `allow` list when nothing matched. */
function look(specs: readonly RouteSpec<string>[], method: string, path: string, host = HOST): RouteMatch<string> {
  const match = createRouter(specs).find(method, path, host);
  return match.found ? { found: true, route: match.route, params: { ...match.params } } : match;
}

function hit(route: string, params: Record<string, string> = {}): RouteMatch<string> {
  return { found: true, route, params };
}

function miss(allow: string[] = []): RouteMatch<string> {
  return { found: false, allow };
}

type Case = readonly [method: string, path: string, expect: RouteMatch<string>, host?: string];

function check(specs: readonly RouteSpec<string>[], cases: readonly Case[]): void {
  const router = createRouter(specs);
  const failures: string[] = [];
  for (const [method, path, expect, host = HOST] of cases) {
    const match = router.find(method, path, host);
    const got = match.found ? { found: true, route: match.route, params: { ...match.params } } : match;
    try {
      assert.deepEqual(got, expect);
    } catch {
      failures.push(`${method} ${path} (host ${host}) gave ${JSON.stringify(got)}; expected ${JSON.stringify(expect)}`);
    }
  }
  assert.deepEqual(failures, []);
}

void test('toRouterPath and paramNames read {name} templates', () => {
  assert.equal(toRouterPath('/orders/{id}'), '/orders/:id');
  assert.equal(toRouterPath('/a/{x}/b/{y_2}'), '/a/:x/b/:y_2');
  assert.equal(toRouterPath('/v1/things:batch'), '/v1/things::batch');
  assert.deepEqual(paramNames('/a/{x}/b/{y_2}'), ['x', 'y_2']);
  assert.deepEqual(paramNames('/plain'), []);
});

void test('a {name} template matches one segment and captures it', () => {
  check(
    [
      { route: 'order', path: '/orders/{id}' },
      { route: 'line', path: '/orders/{id}/lines/{line}' },
      { route: 'orders', path: '/orders' },
    ],
    [
      ['GET', '/orders/42', hit('order', { id: '42' })],
      ['GET', '/orders/a-b.c', hit('order', { id: 'a-b.c' })],
      ['GET', '/orders/42/lines/7', hit('line', { id: '42', line: '7' })],
      ['GET', '/orders', hit('orders')],
      ['GET', '/orders/42/x', miss()],
      ['GET', '/orders/42/lines', miss()],
    ],
  );
});

// `/orders/` is neither `/orders` (trailing slash is distinct) nor an order: routing it to
// `/orders/{id}` with an empty id lets a collection path be decided on as an item (upstreams that
// ignore the trailing slash serve the collection), and hands policy an empty resource id.
void test('a {name} template does not match an empty segment', () => {
  check(
    [
      { route: 'order', path: '/orders/{id}' },
      { route: 'orders', path: '/orders' },
    ],
    [
      ['GET', '/orders/', miss()],
      ['DELETE', '/orders/', miss()],
    ],
  );
});

void test('a prefix matches itself with and without the trailing slash, and everything below it', () => {
  const specs = [
    { route: 'files', prefix: '/files' },
    { route: 'static', prefix: '/static/' },
  ];
  check(specs, [
    ['GET', '/files', hit('files')],
    ['GET', '/files/', hit('files', { '*': '' })],
    ['GET', '/files/a', hit('files', { '*': 'a' })],
    ['GET', '/files/a/b/c.txt', hit('files', { '*': 'a/b/c.txt' })],
    ['GET', '/filesx', miss()],
    ['GET', '/file', miss()],
    ['GET', '/static', hit('static')],
    ['GET', '/static/', hit('static', { '*': '' })],
    ['GET', '/static/app.js', hit('static', { '*': 'app.js' })],
    ['GET', '/staticx/app.js', miss()],
  ]);
});

void test('a / prefix matches every path', () => {
  check(
    [{ route: 'root', prefix: '/' }],
    [
      ['GET', '/', hit('root', { '*': '' })],
      ['GET', '/anything/at/all', hit('root', { '*': 'anything/at/all' })],
    ],
  );
});

void test('a more specific route wins over a prefix', () => {
  check(
    [
      { route: 'api', prefix: '/api/' },
      { route: 'health', path: '/api/health' },
    ],
    [
      ['GET', '/api/health', hit('health')],
      ['GET', '/api/healthz', hit('api', { '*': 'healthz' })],
    ],
  );
});

void test('a host-constrained route is preferred over an unconstrained one; other hosts get the unconstrained one', () => {
  const specs = [
    { route: 'any', path: '/h' },
    { route: 'api', path: '/h', host: 'api.example.com' },
    { route: 'only-admin', path: '/admin', host: 'admin.example.com' },
  ];
  check(specs, [
    ['GET', '/h', hit('api'), 'api.example.com'],
    ['GET', '/h', hit('any'), 'www.example.com'],
    ['GET', '/h', hit('any'), 'api.example.com.evil.test'],
    ['GET', '/admin', hit('only-admin'), 'admin.example.com'],
    ['GET', '/admin', miss(), 'www.example.com'],
  ]);
  // Registration order does not change the preference.
  check([...specs].reverse(), [
    ['GET', '/h', hit('api'), 'api.example.com'],
    ['GET', '/h', hit('any'), 'www.example.com'],
  ]);
});

void test('methods narrow a route; a miss on another method lists the allowed ones for a 405', () => {
  const specs = [
    { route: 'orders', path: '/orders', methods: ['GET', 'POST'] },
    { route: 'order', path: '/orders/{id}', methods: ['GET', 'DELETE'] },
    { route: 'all', path: '/all' },
  ];
  check(specs, [
    ['GET', '/orders', hit('orders')],
    ['POST', '/orders', hit('orders')],
    ['DELETE', '/orders', miss(['GET', 'POST'])],
    ['PUT', '/orders/1', miss(['GET', 'DELETE'])],
    ['POST', '/orders/1', miss(['GET', 'DELETE'])],
    ['DELETE', '/orders/1', hit('order', { id: '1' })],
    ['GET', '/nowhere', miss()],
    // A method outside the route methods is not offered an allow list.
    ['TRACE', '/orders', miss()],
    ['CONNECT', '/orders', miss()],
  ]);
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    assert.deepEqual(look(specs, method, '/all'), hit('all'), `${method} /all`);
  }
});

void test('host constraints apply per method, and the allow list follows them', () => {
  check(
    [
      { route: 'api', path: '/x', host: 'api.example.com', methods: ['POST'] },
      { route: 'any', path: '/x', methods: ['GET'] },
    ],
    [
      ['POST', '/x', hit('api'), 'api.example.com'],
      // No constrained GET: the unconstrained route answers GET on that host too.
      ['GET', '/x', hit('any'), 'api.example.com'],
      ['PUT', '/x', miss(['GET', 'POST']), 'api.example.com'],
      ['POST', '/x', miss(['GET']), 'www.example.com'],
      ['PUT', '/x', miss(['GET']), 'www.example.com'],
    ],
  );
});

void test('a literal : in a path is matched literally', () => {
  check(
    [
      { route: 'batch', path: '/v1/things:batch', methods: ['POST'] },
      { route: 'things', path: '/v1/things', methods: ['POST'] },
      { route: 'time', path: '/at/12:00' },
    ],
    [
      ['POST', '/v1/things:batch', hit('batch')],
      ['POST', '/v1/things', hit('things')],
      ['POST', '/v1/things:other', miss()],
      ['GET', '/v1/things:batch', miss(['POST'])],
      ['GET', '/at/12:00', hit('time')],
      ['GET', '/at/12', miss()],
    ],
  );
});

// Custom methods in the style of `/v1/{name}:undelete` (AIP-136) cannot be matched exactly by the
// radix router (it would read one parameter named `name::undelete`), so a {param} that does not fill
// its whole segment is refused when the router is built, and by the config schema before that.
void test('a {param} that does not fill its whole segment is refused', () => {
  assert.throws(
    () => createRouter([{ route: 'undelete', path: '/v1/{name}:undelete', methods: ['POST'] }]),
    /whole path segment/,
  );
  assert.throws(() => createRouter([{ route: 'x', prefix: '/files/{id}.json/' }]), /whole path segment/);
  assert.doesNotThrow(() => createRouter([{ route: 'ok', path: '/v1/{name}/undelete' }]));
});

void test('matching is case-sensitive', () => {
  check(
    [
      { route: 'orders', path: '/orders' },
      { route: 'Admin', prefix: '/Admin/' },
    ],
    [
      ['GET', '/orders', hit('orders')],
      ['GET', '/Orders', miss()],
      ['GET', '/ORDERS', miss()],
      ['GET', '/Admin/x', hit('Admin', { '*': 'x' })],
      ['GET', '/admin/x', miss()],
      ['GET', '/admin', miss()],
    ],
  );
});

void test('a trailing slash is a different path', () => {
  check(
    [
      { route: 'bare', path: '/bare' },
      { route: 'slashed', path: '/slashed/' },
    ],
    [
      ['GET', '/bare', hit('bare')],
      ['GET', '/bare/', miss()],
      ['GET', '/slashed/', hit('slashed')],
      ['GET', '/slashed', miss()],
    ],
  );
});

void test('a duplicate route throws when the router is built', () => {
  assert.throws(() =>
    createRouter([
      { route: 'a', path: '/x', methods: ['GET'] },
      { route: 'b', path: '/x', methods: ['GET'] },
    ]),
  );
});
