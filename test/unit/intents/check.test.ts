import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { checkImportedApis } from '../../../src/intents/check.ts';
import { writeLock } from '../../../src/intents/lock.ts';
import { errorsOf, load, summary } from '../config/fixtures.ts';
import { ordersApiYaml } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'cortex-intents-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const specFile = join(dir, 'orders.json');
const lockFile = join(dir, 'orders.lock.json');

function config(extra = ''): string {
  const operations = ['operations:', '  "GET /nowhere": { intent: x:read }'];
  const remote = ['remote:', '  upstream: orders', '  spec: { url: "http://127.0.0.1:1/openapi.json" }', '  prefix: /remote/', '  fetchTimeoutMs: 1000'];
  return `${ordersApiYaml(specFile, lockFile, { orders: operations, apis: remote })}${extra}`;
}

test('cortex check on imported apis: no intent, bad x-cortex-intent, unknown operations, pending changes, an unreachable URL', async () => {
  writeFileSync(
    specFile,
    JSON.stringify({
      openapi: '3.1.0',
      paths: {
        '/orders': { get: { 'x-cortex-intent': 'orders:read' }, post: { 'x-cortex-intent': 'Orders' } },
        '/orders/{id}': { delete: { 'x-cortex-intent': 'orders:read' } },
      },
    }),
  );
  writeLock(lockFile, { version: 1, api: 'orders', operations: { 'DELETE /orders/{id}': { intent: 'orders:delete', tags: ['destructive'], approvedAt: '2026-01-01T00:00:00.000Z' } } });
  const { config: cfg } = load(config(), { stage: 'prod' });
  const prod = await checkImportedApis(cfg, 'prod');
  assert.deepEqual(prod.errors, []);
  const text = prod.warnings.join('\n');
  assert.match(text, /apis\.remote: could not fetch http:\/\/127\.0\.0\.1:1\/openapi\.json \(not checked\)/);
  assert.match(text, /POST \/orders: invalid x-cortex-intent/);
  assert.match(text, /POST \/orders has no intent/);
  assert.match(text, /"GET \/nowhere" is not an operation of the document/);
  assert.match(text, /DELETE \/orders\/\{id\}: orders:delete \[destructive\] → orders:read waits for approval; prod serves the approved intent/);
  const dev = await checkImportedApis(cfg, 'dev');
  assert.match(dev.warnings.join('\n'), /is not approved; dev serves it, protected stages will not/);
});

test('an imported route that would not compile is an error: one intent, one set of tags', async () => {
  writeFileSync(specFile, JSON.stringify({ openapi: '3.0.0', paths: { '/a': { get: { 'x-cortex-intent': { intent: 'orders:read', tags: ['pii'] } } } } }));
  const extra = 'routes:\n  plain: { match: { path: /plain }, upstream: orders, intent: "orders:read" }\n';
  const { config: cfg } = load(config(extra));
  const { errors } = await checkImportedApis(cfg, 'dev');
  assert.match(errors.join('\n'), /with the imported routes, routes\.orders\.[^ ]+\.tags: the intent orders:read has other tags/);
});

test('a corrupt lock or an unreadable spec file is an error', async () => {
  writeFileSync(lockFile, '[]');
  const { config: cfg } = load(config());
  assert.match((await checkImportedApis(cfg, 'dev')).errors.join('\n'), /is corrupt/);
  rmSync(specFile);
  assert.match((await checkImportedApis(cfg, 'dev')).errors.join('\n'), /cannot be read \(ENOENT\)/);
});

test('semantic checks: unknown upstream, no policy section, a prefix under /.cortex/, a shared prefix, auth as on routes', () => {
  const text = config()
    .replace(/upstream: orders\n {4}spec: \{ url/, 'upstream: nowhere\n    spec: { url')
    .replace('prefix: /remote/', 'prefix: /api/')
    .replace(/policy:\n {2}grants: .*\n/, '');
  assert.deepEqual(summary(errorsOf(text)).map((s) => s.replace(/ @\d+/, '')), [
    'apis.orders: imported routes are authorized by their intents: add a policy section (policy.grants) to serve an api',
    'apis.remote: imported routes are authorized by their intents: add a policy section (policy.grants) to serve an api',
    'apis.remote.upstream: unknown upstream "nowhere"; upstreams are orders',
    'apis.remote.prefix: api "orders" has the same prefix /api/; give each api its own',
  ]);
  const cortex = errorsOf(config().replace('prefix: /remote/', 'prefix: /.cortex/x/'));
  assert.match(summary(cortex).join('\n'), /apis\.remote\.prefix @\d+: paths under \/\.cortex\/ are the gateway's own/);
  assert.match(summary(errorsOf(config().replace('prefix: /remote/', 'prefix: "/t/{tenant}/"'))).join('\n'), /apis\.remote\.prefix @\d+: a prefix is literal/);
  const noProviders = summary(errorsOf(config().replace(/identity:\n.*\n.*\n/, '')));
  assert.equal(noProviders.filter((e) => /^apis\.(orders|remote)\.auth @\d+: this route needs a bearer token/.test(e)).length, 2, noProviders.join('\n'));
  const session = summary(errorsOf(config().replace('prefix: /remote/', 'prefix: /remote/\n    auth: session\n    bearer: { audiences: [x] }')));
  assert.match(session.join('\n'), /apis\.remote\.auth @\d+: session needs identity\.sessions to be configured/);
  const { warnings } = load(config());
  assert.ok(!summary(warnings).some((w) => w.startsWith('routes.')), 'no problem names the stand-in routes');
  assert.ok(!summary(warnings).some((w) => w.includes('no route uses this upstream')), 'an api uses its upstream');
});
