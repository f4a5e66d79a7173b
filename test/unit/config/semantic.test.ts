import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAddressOrCidr, isLoopbackHost } from '../../../src/config/semantic.ts';
import { errorsOf, load, summary, VALID, yaml } from './fixtures.ts';

/** VALID with more routes appended (indented as entries of routes:). */
const withRoutes = (routes: string): string => VALID.replace('identity:\n', `${routes.replace(/^(?=.)/gm, '  ')}identity:\n`);

test('a route must name an existing upstream', () => {
  const problems = errorsOf(withRoutes('billing: { match: { path: /billing }, upstream: billing, auth: none }\n'));
  assert.deepEqual(summary(problems), ['routes.billing.upstream @22: unknown upstream "billing"; upstreams are orders']);
});

test('reference and address problems are reported beside schema errors, in the same pass', () => {
  const text = withRoutes('billing: { match: { path: billing }, upstream: billing, auth: none }\n').replace('[10.0.0.0/8, "::1", 192.168.1.7]', '[proxy.local]');
  const paths = errorsOf(text).map((p) => `${p.path}: ${p.message.split(';')[0]}`);
  assert.deepEqual(paths.sort(), [
    'gateway.trustedProxies[0]: "proxy.local" is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)',
    'routes.billing.match.path: must start with / and contain only path characters and {param}',
    'routes.billing.upstream: unknown upstream "billing"',
  ]);
});

test('trusted proxies must be IP addresses or CIDRs', () => {
  const text = VALID.replace('[10.0.0.0/8, "::1", 192.168.1.7]', '[10.0.0.0/8, proxy.local, 10.0.0.0/33, "fd00::/8", "fd00::/129", 1.2.3.4/x]');
  assert.deepEqual(
    errorsOf(text).map((p) => [p.path, p.line]),
    [['gateway.trustedProxies[1]', 6], ['gateway.trustedProxies[2]', 6], ['gateway.trustedProxies[4]', 6], ['gateway.trustedProxies[5]', 6]],
  );
  for (const good of ['10.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '::1', 'fd00::/8', '::/0']) assert.ok(isAddressOrCidr(good), good);
  for (const bad of ['', 'localhost', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.256', '::1/200']) assert.ok(!isAddressOrCidr(bad), bad);
});

test('two routes with the same host, method and path conflict', () => {
  const problems = errorsOf(
    withRoutes(yaml`
      orders-by-number: { match: { methods: [GET, DELETE], path: "/orders/{number}" }, upstream: orders, auth: none }
      all: { match: { prefix: /api/ }, upstream: orders, auth: none }
      all-again: { match: { prefix: /api, methods: [POST] }, upstream: orders, auth: none }
    `),
  );
  assert.deepEqual(summary(problems), [
    'routes.orders-by-number.match @22: conflicts with route "orders-read" (any host, GET, path /orders/{number})',
    'routes.all-again.match @24: conflicts with route "all" (any host, POST, prefix /api)',
  ]);
});

test('routes that differ in host, method or kind of match do not conflict', () => {
  load(
    withRoutes(yaml`
      orders-list-b: { match: { methods: [GET], path: /orders, host: b.example.com }, upstream: orders, auth: none }
      orders-create: { match: { methods: [POST], path: /orders }, upstream: orders, auth: none }
      orders-prefix: { match: { methods: [GET], prefix: /orders/archive/ }, upstream: orders, auth: none }
    `),
  );
});

test('a prefix /p/ also claims the path /p, so it conflicts with a path route on /p', () => {
  const problems = errorsOf(
    withRoutes(yaml`
      orders-prefix: { match: { methods: [GET], prefix: /orders/ }, upstream: orders, auth: none }
    `),
  );
  assert.deepEqual(summary(problems), ['routes.orders-prefix.match @22: conflicts with route "orders-list" (any host, GET, prefix /orders/)']);
});

test('rewrite.stripPrefix must be a prefix of the match', () => {
  const problems = errorsOf(
    withRoutes(yaml`
      v1: { match: { prefix: /v1/ }, upstream: orders, auth: none, rewrite: { stripPrefix: /v2 } }
      v3: { match: { path: /v3/items }, upstream: orders, auth: none, rewrite: { stripPrefix: /v3 } }
    `),
  );
  assert.deepEqual(summary(problems), ['routes.v1.rewrite.stripPrefix @22: "/v2" is not a prefix of match.prefix "/v1/"']);
});

test('a stripPrefix that ends inside a segment is a warning', () => {
  const { warnings } = load(withRoutes('v1: { match: { prefix: /v1/ }, upstream: orders, auth: none, rewrite: { stripPrefix: /v } }\n'));
  assert.deepEqual(summary(warnings), ['routes.v1.rewrite.stripPrefix @22: "/v" ends inside a path segment of "/v1/"']);
});

test('rewrite.template may only use parameters the match declares', () => {
  const problems = errorsOf(
    withRoutes(yaml`
      items: { match: { path: "/items/{id}" }, upstream: orders, auth: none, rewrite: { template: "/v2/{itemId}/{id}/{x}" } }
      things: { match: { prefix: /things/ }, upstream: orders, auth: none, rewrite: { template: "/{id}" } }
    `),
  );
  assert.deepEqual(summary(problems), [
    'routes.items.rewrite.template @22: uses {itemId}, but match.path declares {id}',
    'routes.items.rewrite.template @22: uses {x}, but match.path declares {id}',
    'routes.things.rewrite.template @23: uses {id}, but match.prefix declares no parameters',
  ]);
});

test('the admin listener on a non-loopback address needs admin.allowRemote', () => {
  const remote = VALID.replace('listen: { host: 127.0.0.1, port: 9901 }', 'listen: { host: 0.0.0.0, port: 9901 }');
  assert.deepEqual(summary(errorsOf(remote)), [
    'admin.listen.host @8: "0.0.0.0" is not a loopback address; set admin.allowRemote: true to expose the admin listener',
  ]);
  assert.equal(load(remote.replace('admin:\n', 'admin:\n  allowRemote: true\n')).config.admin.allowRemote, true);
  for (const host of ['127.0.0.1', '127.8.0.1', '::1', 'localhost']) assert.ok(isLoopbackHost(host), host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', 'admin.internal']) assert.ok(!isLoopbackHost(host), host);
});

test('match.host must be a lowercase host name without a port', () => {
  const problems = errorsOf(
    withRoutes(yaml`
      a: { match: { path: /a, host: "api.example.com:8443" }, upstream: orders, auth: none }
      b: { match: { path: /b, host: Api.Example.com }, upstream: orders, auth: none }
      c: { match: { path: /c, host: "[::1]:80" }, upstream: orders, auth: none }
    `),
  );
  assert.deepEqual(summary(problems), [
    'routes.a.match.host @22: "api.example.com:8443" has a port; match.host is the host name alone',
    'routes.b.match.host @23: "Api.Example.com" has uppercase letters; write host names in lowercase',
    'routes.c.match.host @24: "[::1]:80" has a port; match.host is the host name alone',
  ]);
  load(withRoutes('d: { match: { path: /d, host: "[::1]" }, upstream: orders, auth: none }\ne: { match: { path: /e, host: "::1" }, upstream: orders, auth: none }\n'));
});

test('an upstream no route uses is a warning', () => {
  const { warnings } = load(VALID.replace('upstreams:\n', 'upstreams:\n  spare: { url: "http://127.0.0.1:2" }\n'));
  assert.deepEqual(summary(warnings), ['upstreams.spare @10: no route uses this upstream']);
});

test('all semantic problems are collected together', () => {
  const text = withRoutes(yaml`
    a: { match: { path: /a, host: A.example.com }, upstream: nope, auth: none, rewrite: { stripPrefix: /b, template: "/{x}" } }
  `).replace('192.168.1.7', 'bogus');
  assert.deepEqual(
    errorsOf(text).map((p) => p.path),
    ['gateway.trustedProxies[2]', 'routes.a.upstream', 'routes.a.match.host', 'routes.a.rewrite.stripPrefix', 'routes.a.rewrite.template'],
  );
});

test('cors: credentials cannot be combined with origins *', () => {
  const problems = errorsOf(
    withRoutes(yaml`
      open: { match: { path: /open }, upstream: orders, auth: none, cors: { origins: ["*"], credentials: true } }
      listed: { match: { path: /listed }, upstream: orders, auth: none, cors: { origins: ["https://app.example.com"], credentials: true } }
      anon: { match: { path: /anon }, upstream: orders, auth: none, cors: { origins: ["*"] } }
    `),
  );
  assert.deepEqual(summary(problems), [
    "routes.open.cors.credentials @22: credentials: true cannot be combined with origins: ['*']; list the allowed origins exactly",
  ]);
});

test('cors: origins are exact origins (scheme, host, port) or *', () => {
  const problems = errorsOf(
    withRoutes(yaml`
      bad: { match: { path: /bad }, upstream: orders, auth: none, cors: { origins: ["https://app.example.com/", "null", "app.example.com", "https://App.example.com"] } }
    `),
  );
  assert.deepEqual(
    problems.map((p) => p.path),
    ['routes.bad.cors.origins[0]', 'routes.bad.cors.origins[1]', 'routes.bad.cors.origins[2]', 'routes.bad.cors.origins[3]'],
  );
});

test('an upstream has exactly one of url or targets, and readable TLS files', () => {
  const both = VALID.replace('url: http://127.0.0.1:9903', 'url: http://127.0.0.1:9903\n    targets: ["http://127.0.0.1:9904"]');
  assert.deepEqual(errorsOf(both).map((p) => `${p.path}: ${p.message}`), ['upstreams.orders: exactly one of url or targets is required']);
  const neither = VALID.replace('url: http://127.0.0.1:9903', 'connections: 4');
  assert.deepEqual(errorsOf(neither).map((p) => `${p.path}: ${p.message}`), ['upstreams.orders: exactly one of url or targets is required']);
  const targets = VALID.replace('url: http://127.0.0.1:9903', 'targets: ["http://127.0.0.1:9903", "https://127.0.0.1:9904"]\n    balance: least-busy');
  assert.equal(load(targets).config.upstreams.orders?.balance, 'least-busy');
  const tls = VALID.replace('url: http://127.0.0.1:9903', 'url: https://127.0.0.1:9903\n    tls: { ca: /nonexistent/ca.pem, cert: /nonexistent/c.pem }');
  assert.deepEqual(errorsOf(tls).map((p) => `${p.path}: ${p.message}`).sort(), [
    'upstreams.orders.tls.ca: "/nonexistent/ca.pem" does not exist',
    'upstreams.orders.tls.cert: "/nonexistent/c.pem" does not exist',
    'upstreams.orders.tls: cert and key go together (a client certificate needs its key)',
  ]);
});
