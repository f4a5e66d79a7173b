import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runIntents } from '../../../src/cli/intents.ts';
import type { IntentLock } from '../../../src/intents/types.ts';
import { yaml } from '../config/fixtures.ts';
import { ordersApiYaml } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'cortex-intents-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const specFile = join(dir, 'orders.yaml');
const lockFile = join(dir, 'locks', 'orders.json');
const configFile = join(dir, 'cortex.yaml');

function spec(deleteIntent: string): string {
  return yaml`
    openapi: 3.0.3
    info: { title: Orders, version: "1" }
    paths:
      /orders:
        get: { operationId: listOrders, x-cortex-intent: orders:read }
      /orders/{id}:
        get: { operationId: getOrder, x-cortex-intent: orders:read }
        delete: { operationId: deleteOrder, x-cortex-intent: ${deleteIntent} }
      /orders/{id}/notes:
        get: { operationId: notes }
      /files/{name}.txt:
        get: { operationId: file, x-cortex-intent: files:read }
  `;
}

writeFileSync(configFile, ordersApiYaml(specFile, lockFile));

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runIntents([...argv, '--config', configFile], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: {},
  });
  return { code, stdout, stderr };
}

function lines(text: string): string[] {
  return text.trimEnd().split('\n').map((l) => l.replace(/\s+/g, ' '));
}

test('list, approve, a retagged DELETE held in prod, pending in CI, approve one operation', async () => {
  writeFileSync(specFile, spec('{ intent: orders:delete, tags: [destructive] }'));
  const listed = await run('list', '--stage', 'prod');
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(lines(listed.stdout), [
    'API OPERATION INTENT TAGS SOURCE STATE',
    'orders GET /orders orders:read - x-cortex-intent served',
    'orders GET /orders/{id} orders:read - x-cortex-intent served',
    'orders DELETE /orders/{id} orders:delete destructive x-cortex-intent served',
    'orders GET /orders/{id}/notes - - none no-intent',
    'orders GET /files/{name}.txt files:read - x-cortex-intent unsupported',
  ]);
  assert.deepEqual(await run('pending'), { code: 0, stdout: 'no pending changes\n', stderr: '' });

  const approved = await run('approve');
  assert.equal(approved.code, 0, approved.stderr);
  assert.match(approved.stdout, /DELETE \/orders\/\{id\}: orders:delete \[destructive\] \(new\)/);
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as IntentLock;
  assert.deepEqual(Object.keys(lock.operations), ['DELETE /orders/{id}', 'GET /orders', 'GET /orders/{id}', 'GET /orders/{id}/notes']);
  assert.equal(lock.operations['GET /orders/{id}/notes']?.intent, null);
  assert.equal((await run('approve')).stdout, 'orders: nothing to approve\n');

  // The upstream retags its DELETE as a read and renames a read: both wait for approval.
  writeFileSync(specFile, spec('orders:read').replace('getOrder, x-cortex-intent: orders:read', 'getOrder, x-cortex-intent: orders:get'));
  const waiting = await run('pending', '--stage', 'prod');
  assert.equal(waiting.code, 1);
  assert.deepEqual(lines(waiting.stdout), [
    'API OPERATION APPROVED PROPOSED',
    'orders GET /orders/{id} orders:read orders:get',
    'orders DELETE /orders/{id} orders:delete [destructive] orders:read',
    '2 pending changes (stage prod); approve with cortex intents approve',
  ]);
  const prod = await run('list', '--stage', 'prod');
  assert.match(prod.stdout, /DELETE \/orders\/\{id\}\s+orders:delete\s+destructive\s+x-cortex-intent\s+pending/);
  const dev = await run('list', '--stage', 'dev');
  assert.match(dev.stdout, /DELETE \/orders\/\{id\}\s+orders:read\s+-\s+x-cortex-intent\s+pending/);

  const one = await run('approve', '--operation', 'DELETE /orders/{id}');
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /DELETE \/orders\/\{id\}: orders:delete \[destructive\] → orders:read/);
  assert.doesNotMatch(one.stdout, /GET \/orders\/\{id\}:/);
  const left = await run('pending', '--stage', 'prod');
  assert.equal(left.code, 1);
  assert.match(left.stdout, /1 pending change \(stage prod\)/);
});

test('usage errors: no command, an unknown api or operation, --operation outside approve', async () => {
  writeFileSync(specFile, spec('orders:delete'));
  assert.equal((await run()).code, 2);
  const api = await run('list', '--api', 'billing');
  assert.equal(api.code, 2);
  assert.match(api.stderr, /no api "billing" in the config; apis are orders/);
  const operation = await run('approve', '--operation', 'PUT /orders');
  assert.equal(operation.code, 2);
  assert.match(operation.stderr, /not an operation of the document: PUT \/orders/);
  assert.equal((await run('list', '--operation', 'GET /orders')).code, 2);
  assert.equal((await run('list', '--stage', 'qa')).code, 2);
});

test('a corrupt lock or an unreadable document fails with exit 1', async () => {
  writeFileSync(lockFile, '{ nope');
  const corrupt = await run('list');
  assert.equal(corrupt.code, 1);
  assert.match(corrupt.stderr, /is corrupt \(not JSON\)/);
  rmSync(lockFile);
  rmSync(specFile);
  const missing = await run('pending');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot be read \(ENOENT\)/);
});
