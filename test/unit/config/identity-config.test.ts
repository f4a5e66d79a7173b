import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigProblem } from '../../../src/config/load.ts';
import { errorsOf, load, yaml } from './fixtures.ts';

const BASE = yaml`
  version: 1
  gateway:
    listen: { host: 127.0.0.1, port: 8080 }
  upstreams:
    orders: { url: "http://127.0.0.1:9903" }
`;

/** A config with these routes (and identity section, if any) under the base. */
const config = (routes: string, identity = ''): string => `${BASE}routes:\n${indent(routes)}${identity}`;
const indent = (text: string): string => text.replace(/^(?=.)/gm, '  ');
const providers = (body: string): string => `identity:\n  providers:\n${indent(indent(body))}`;
const at = (problems: readonly ConfigProblem[]): string[] => problems.map((p) => p.path);

test('a route without auth and no providers does not load: authentication is never off by omission', () => {
  const problems = errorsOf(config('orders: { match: { path: /orders }, upstream: orders }\n'));
  assert.deepEqual(at(problems), ['routes.orders.auth']);
  const message = problems[0]?.message ?? '';
  assert.match(message, /identity\.providers is empty/);
  assert.match(message, /add a provider/);
  assert.match(message, /auth: none/);
  assert.equal(problems[0]?.line, 7, 'the line of the route');
});

test('auth: bearer written out with no providers is the same error', () => {
  assert.deepEqual(at(errorsOf(config('orders: { match: { path: /orders }, upstream: orders, auth: bearer }\n'))), ['routes.orders.auth']);
});

test('auth: none loads without providers, and the route stays none', () => {
  const { config: loaded, warnings } = load(config('open: { match: { path: /open }, upstream: orders, auth: none }\n'));
  assert.equal(loaded.routes.open?.auth, 'none');
  assert.deepEqual(warnings, []);
});

test('a bearer section on an auth: none route is a warning (it is ignored)', () => {
  const text = config('open: { match: { path: /open }, upstream: orders, auth: none, bearer: { audiences: [x] } }\n');
  assert.deepEqual(at(load(text).warnings), ['routes.open.bearer']);
});

test('an unknown provider in bearer.providers is an error naming the known ones', () => {
  const text = config(
    'orders: { match: { path: /orders }, upstream: orders, bearer: { providers: [corp, nope] } }\n',
    providers('corp: { issuer: "https://idp.example.com", audiences: [orders-api] }\n'),
  );
  const problems = errorsOf(text);
  assert.deepEqual(at(problems), ['routes.orders.bearer.providers']);
  assert.match(problems[0]?.message ?? '', /unknown provider "nope"; providers are corp/);
});

test('a bearer route with no audience anywhere is an error', () => {
  const text = config('orders: { match: { path: /orders }, upstream: orders }\n', providers('corp: { issuer: "https://idp.example.com" }\n'));
  const problems = errorsOf(text);
  assert.deepEqual(at(problems), ['routes.orders']);
  assert.match(problems[0]?.message ?? '', /no audience to check tokens from provider "corp" against/);
  assert.match(problems[0]?.message ?? '', /upstreams\.orders\.audience/);
});

test('each provider a route accepts needs an audience: one provider\'s audiences do not cover another', () => {
  const text = config(
    'orders: { match: { path: /orders }, upstream: orders }\n',
    providers('corp: { issuer: "https://idp.example.com", audiences: [api] }\nother: { issuer: "https://other.example.com" }\n'),
  );
  const problems = errorsOf(text);
  assert.deepEqual(at(problems), ['routes.orders']);
  assert.match(problems[0]?.message ?? '', /provider "other"/);
});

test("the upstream's audience or the route's bearer.audiences satisfies the audience check", () => {
  const idp = providers('corp: { issuer: "https://idp.example.com" }\n');
  const viaUpstream = config('orders: { match: { path: /orders }, upstream: orders }\n', idp).replace(
    'orders: { url: "http://127.0.0.1:9903" }',
    'orders: { url: "http://127.0.0.1:9903", audience: orders-api }',
  );
  assert.equal(load(viaUpstream).config.upstreams.orders?.audience, 'orders-api');
  const viaRoute = config('orders: { match: { path: /orders }, upstream: orders, bearer: { audiences: [orders-api] } }\n', idp);
  assert.deepEqual(load(viaRoute).config.routes.orders?.bearer?.audiences, ['orders-api']);
});

test('a {tenantid} issuer without tenants is an error; so are tenants without the template', () => {
  const route = 'orders: { match: { path: /orders }, upstream: orders }\n';
  const templated = errorsOf(config(route, providers('entra: { preset: entra, issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", audiences: [api] }\n')));
  assert.deepEqual(at(templated), ['identity.providers.entra.tenants']);
  assert.match(templated[0]?.message ?? '', /list the tenant ids/);
  const empty = errorsOf(config(route, providers('entra: { preset: entra, issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", tenants: [], audiences: [api] }\n')));
  assert.deepEqual(at(empty), ['identity.providers.entra.tenants']);
  const untemplated = errorsOf(config(route, providers('corp: { issuer: "https://idp.example.com", tenants: [t1], audiences: [api] }\n')));
  assert.deepEqual(at(untemplated), ['identity.providers.corp.tenants']);
  const listed = load(config(route, providers('entra: { preset: entra, issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", tenants: [t1], audiences: [api] }\n')));
  assert.deepEqual(listed.config.identity.providers.entra?.tenants, ['t1']);
});

test('a plain-http issuer is a warning unless it is on loopback', () => {
  const route = 'orders: { match: { path: /orders }, upstream: orders }\n';
  const remote = load(config(route, providers('corp: { issuer: "http://idp.example.com", audiences: [api] }\n')));
  assert.deepEqual(at(remote.warnings), ['identity.providers.corp.issuer']);
  assert.match(remote.warnings[0]?.message ?? '', /use https/);
  for (const issuer of ['http://127.0.0.1:9000', 'http://localhost:9000/realms/x', 'http://[::1]:9000', 'https://idp.example.com']) {
    assert.deepEqual(load(config(route, providers(`corp: { issuer: "${issuer}", audiences: [api] }\n`))).warnings, [], issuer);
  }
});

test('symmetric and none algorithms are schema errors', () => {
  const route = 'orders: { match: { path: /orders }, upstream: orders }\n';
  for (const alg of ['HS256', 'HS512', 'none']) {
    const problems = errorsOf(config(route, providers(`corp: { issuer: "https://idp.example.com", audiences: [api], algorithms: [RS256, ${alg}] }\n`)));
    assert.deepEqual(at(problems), ['identity.providers.corp.algorithms[1]'], alg);
    assert.match(problems[0]?.message ?? '', /expected one of "RS256"/);
    assert.doesNotMatch(problems[0]?.message ?? '', /HS\d|none/);
  }
});

test('a stage replaces one claim value\'s role list (arrays replace) and null removes a value', () => {
  const text = `${BASE}${yaml`
    routes:
      orders: { match: { path: /orders }, upstream: orders }
    identity:
      providers:
        corp:
          issuer: "https://idp.example.com"
          audiences: [api]
          roles:
            map:
              admins: [admin, reader]
              staff: [reader]
              interns: [reader]
    stages:
      prod:
        identity:
          providers:
            corp:
              roles:
                map:
                  admins: [reader]
                  interns: null
  `}`;
  assert.deepEqual(load(text).config.identity.providers.corp?.roles.map, { admins: ['admin', 'reader'], staff: ['reader'], interns: ['reader'] });
  const prod = load(text, { stage: 'prod' }).config.identity.providers.corp;
  assert.deepEqual(prod?.roles.map, { admins: ['reader'], staff: ['reader'] });
  assert.equal(prod?.issuer, 'https://idp.example.com', 'the rest of the provider is kept');
  assert.deepEqual(prod?.audiences, ['api']);
});
