// The imported APIs' runtime on its own, with a document file the test rewrites: what it reports
// (an operation without intent and a pending change are logged once per change, not on every
// refresh), when it calls back, and what it does when the lock file cannot be read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/schema.ts';
import { ApiRuntime } from '../../../src/intents/runtime.ts';
import { op, openapi, ordersPaths } from './spec-server.ts';

let dir: string;
let specFile: string;
let lockFile: string;
let config: Config;
const lines: { msg: string; operation?: string }[] = [];
let changes = 0;
let runtime: ApiRuntime;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cortex-runtime-'));
  specFile = join(dir, 'openapi.json');
  lockFile = join(dir, 'orders.lock.json');
  writeFileSync(specFile, JSON.stringify(openapi(ordersPaths())));
  const loaded = loadConfig({
    text: [
      'version: 1',
      'stage: prod',
      'upstreams: { up: { url: "http://127.0.0.1:9" } }',
      `apis: { orders: { upstream: up, auth: none, spec: { file: ${JSON.stringify(specFile)} }, prefix: /api/, lockFile: ${JSON.stringify(lockFile)} } }`,
      'policy: { grants: { admin: ["orders:*"] } }',
    ].join('\n'),
    env: {},
  });
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors));
  config = loaded.config;
  const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string; operation?: string }) });
  runtime = new ApiRuntime({ log, onChange: () => changes++ });
});
after(() => {
  runtime?.close();
  rmSync(dir, { recursive: true, force: true });
});

const logged = (what: RegExp, operation: string) => lines.filter((l) => what.test(l.msg) && l.operation === operation).length;

test('the first fetch serves the document and calls back once; the operation without intent is logged once', async () => {
  await runtime.configure(config, 'prod');
  assert.equal(changes, 1);
  assert.equal(runtime.documents().get('orders')?.operations.length, 4);
  await runtime.refreshNow();
  await runtime.refreshNow();
  assert.equal(changes, 1, 'an unchanged document calls back no more');
  assert.equal(logged(/no intent/, 'GET /orders/{id}/notes'), 1);
  assert.deepEqual(runtime.stats().orders?.operations, { served: 3, no_intent: 1, unsupported: 0 });
});

test('a retag is held in prod, called back once and logged once however many refreshes follow', async () => {
  const paths = ordersPaths();
  paths['/orders/{id}'] = { ...paths['/orders/{id}'], delete: op('deleteOrder', 'orders:read') };
  writeFileSync(specFile, JSON.stringify(openapi(paths)));
  await runtime.refreshNow();
  await runtime.refreshNow();
  await runtime.refreshNow();
  assert.equal(changes, 2);
  assert.equal(logged(/changed its intent/, 'DELETE /orders/{id}'), 1);
  const served = runtime.documents().get('orders')?.operations.find((o) => o.key === 'DELETE /orders/{id}');
  assert.equal(served?.intent, 'orders:delete');
  assert.equal(runtime.stats().orders?.pending, 1);
});

test('a lock file that cannot be read keeps the intents that serve, and says why', async () => {
  writeFileSync(lockFile, '{ not json');
  writeFileSync(specFile, JSON.stringify(openapi({ '/orders/{id}': { delete: op('deleteOrder', 'orders:read') } })));
  await runtime.refreshNow();
  assert.equal(changes, 2, 'nothing new is served');
  assert.equal(runtime.documents().get('orders')?.operations.length, 4);
  const status = runtime.status().orders as { lastProblem?: string };
  assert.match(status.lastProblem ?? '', /corrupt/);
});

test('an api removed from the config is dropped; one added starts with nothing served until fetched', async () => {
  const { orders, ...none } = config.apis;
  assert.ok(orders);
  await runtime.configure({ ...config, apis: none }, 'prod');
  assert.equal(runtime.documents().size, 0);
  const missing = { ...orders, spec: { file: join(dir, 'absent.json') } };
  await runtime.configure({ ...config, apis: { other: missing } }, 'prod');
  assert.deepEqual([...runtime.documents()], [['other', undefined]]);
  assert.equal(runtime.stats().other?.refreshes.failed, 1);
});
