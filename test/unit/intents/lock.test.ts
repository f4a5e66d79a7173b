import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { applyLock, approveChanges, lockPathFor, readLock, writeLock } from '../../../src/intents/lock.ts';
import type { IntentLock } from '../../../src/intents/types.ts';
import { apiConfig, op } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'cortex-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T0 = new Date('2026-01-01T00:00:00.000Z');
const T1 = new Date('2026-02-01T00:00:00.000Z');

const LOCK: IntentLock = {
  version: 1,
  api: 'orders',
  operations: {
    'GET /orders': { intent: 'orders:read', tags: [], approvedAt: T0.toISOString() },
    'DELETE /orders/{id}': { intent: 'orders:delete', tags: ['destructive'], approvedAt: T0.toISOString() },
    'GET /gone': { intent: 'gone:read', tags: [], approvedAt: T0.toISOString() },
  },
};
const UNCHANGED = op('GET /orders', 'orders:read');
const RETAGGED = op('DELETE /orders/{id}', 'orders:read', []);
const NEW = op('POST /orders', 'orders:create', ['pii']);

test('no lock yet: every operation is new, served at once and locked', () => {
  const out = applyLock([UNCHANGED, NEW], undefined, 'orders', true, T1);
  assert.deepEqual(out.operations, [UNCHANGED, NEW]);
  assert.deepEqual(out.pending, []);
  assert.deepEqual(out.updatedLock?.operations['POST /orders'], { intent: 'orders:create', tags: ['pii'], approvedAt: T1.toISOString() });
});

test('unchanged operations change nothing: no updated lock', () => {
  const out = applyLock([UNCHANGED], LOCK, 'orders', true, T1);
  assert.deepEqual(out, { operations: [UNCHANGED], pending: [] });
});

test('a DELETE retagged as a read is held in a protected stage: the locked intent and tags are served', () => {
  const out = applyLock([UNCHANGED, RETAGGED, NEW], LOCK, 'orders', true, T1);
  assert.deepEqual(out.operations[1], { ...RETAGGED, intent: 'orders:delete', tags: ['destructive'] });
  assert.deepEqual(out.pending, [
    { api: 'orders', key: 'DELETE /orders/{id}', approved: { intent: 'orders:delete', tags: ['destructive'] }, proposed: { intent: 'orders:read', tags: [] } },
  ]);
  // The new operation is locked, the retagged one is not, and the removed one keeps its entry.
  assert.deepEqual(Object.keys(out.updatedLock?.operations ?? {}).sort(), ['DELETE /orders/{id}', 'GET /gone', 'GET /orders', 'POST /orders']);
  assert.deepEqual(out.updatedLock?.operations['DELETE /orders/{id}'], LOCK.operations['DELETE /orders/{id}']);
});

test('in an unprotected stage the change is served and reported, but the lock does not follow', () => {
  const out = applyLock([UNCHANGED, RETAGGED], LOCK, 'orders', false, T1);
  assert.deepEqual(out.operations, [UNCHANGED, RETAGGED]);
  assert.equal(out.pending.length, 1);
  assert.equal(out.updatedLock, undefined);
});

test('an operation that loses its intent is held too (served with the approved one in a protected stage)', () => {
  const lost = op('GET /orders', undefined, [], { source: 'none' });
  const out = applyLock([lost], LOCK, 'orders', true, T1);
  assert.equal(out.operations[0]?.intent, 'orders:read');
  assert.deepEqual(out.pending[0]?.proposed, { intent: null, tags: [] });
  const unprotected = applyLock([lost], LOCK, 'orders', false, T1);
  assert.equal(unprotected.operations[0]?.intent, undefined);
});

test('tag order does not count as a change', () => {
  const lock: IntentLock = { version: 1, api: 'orders', operations: { 'POST /orders': { intent: 'orders:create', tags: ['pii', 'admin'], approvedAt: T0.toISOString() } } };
  assert.deepEqual(applyLock([op('POST /orders', 'orders:create', ['admin', 'pii'])], lock, 'orders', true).pending, []);
});

test('a config-pinned operation is never pending: the lock follows the config', () => {
  const pinned = op('DELETE /orders/{id}', 'orders:remove', ['destructive'], { source: 'config' });
  const out = applyLock([pinned], LOCK, 'orders', true, T1);
  assert.deepEqual(out.operations, [pinned]);
  assert.deepEqual(out.pending, []);
  assert.deepEqual(out.updatedLock?.operations['DELETE /orders/{id}'], { intent: 'orders:remove', tags: ['destructive'], approvedAt: T1.toISOString() });
});

test('an unsupported operation is passed through, never locked', () => {
  const bad = op('GET /x{y}', 'x:read', [], { problem: 'bad template' });
  assert.deepEqual(applyLock([bad], undefined, 'orders', true), { operations: [bad], pending: [] });
});

test('approve all: every pending change takes the document\'s intent; removed operations stay', () => {
  const lock = approveChanges(LOCK, 'orders', [UNCHANGED, RETAGGED, NEW], undefined, T1);
  assert.deepEqual(lock.operations['DELETE /orders/{id}'], { intent: 'orders:read', tags: [], approvedAt: T1.toISOString() });
  assert.equal(lock.operations['GET /orders']?.approvedAt, T0.toISOString(), 'unchanged entries keep their date');
  assert.ok(lock.operations['POST /orders']);
  assert.ok(lock.operations['GET /gone']);
  assert.deepEqual(applyLock([UNCHANGED, RETAGGED, NEW], lock, 'orders', true).pending, []);
});

test('approve one key leaves the others pending', () => {
  const other = op('GET /orders', 'orders:list');
  const lock = approveChanges(LOCK, 'orders', [other, RETAGGED], ['DELETE /orders/{id}'], T1);
  assert.equal(lock.operations['DELETE /orders/{id}']?.intent, 'orders:read');
  assert.equal(lock.operations['GET /orders']?.intent, 'orders:read');
  assert.deepEqual(applyLock([other, RETAGGED], lock, 'orders', true).pending.map((p) => p.key), ['GET /orders']);
});

test('writeLock and readLock round trip, sorted and ending in a newline', () => {
  const path = join(dir, 'nested', 'orders.json');
  writeLock(path, { ...LOCK, operations: { ...LOCK.operations, 'POST /orders': { intent: 'orders:create', tags: ['pii', 'admin'], approvedAt: T1.toISOString() } } });
  const text = readFileSync(path, 'utf8');
  assert.ok(text.endsWith('}\n'));
  assert.deepEqual(Object.keys((JSON.parse(text) as IntentLock).operations), ['DELETE /orders/{id}', 'GET /gone', 'GET /orders', 'POST /orders']);
  const read = readLock(path, 'orders');
  assert.ok(read.ok);
  assert.deepEqual(read.lock?.operations['POST /orders']?.tags, ['admin', 'pii']);
  assert.deepEqual(read.lock?.operations['GET /orders'], LOCK.operations['GET /orders']);
});

test('a missing lock is no lock; a corrupt one or another api\'s is a problem', () => {
  assert.deepEqual(readLock(join(dir, 'missing.json'), 'orders'), { ok: true, lock: undefined });
  const corrupt = join(dir, 'corrupt.json');
  for (const [text, why] of [
    ['{ not json', /not JSON/],
    ['{"version":2,"api":"orders","operations":{}}', /version is not 1/],
    ['{"version":1,"api":"billing","operations":{}}', /lock of api "billing", not orders/],
    ['{"version":1,"api":"orders","operations":{"GET /x":{"intent":1,"tags":[],"approvedAt":"t"}}}', /GET \/x\.intent/],
    ['{"version":1,"api":"orders","operations":{"GET /x":{"intent":null,"tags":"a","approvedAt":"t"}}}', /GET \/x\.tags/],
  ] as const) {
    writeFileSync(corrupt, text);
    const read = readLock(corrupt, 'orders');
    assert.ok(!read.ok);
    assert.match(read.problem, why);
  }
});

test('lockPathFor: lockFile or .cortex/intents/<api>.json, against the working directory', () => {
  assert.equal(lockPathFor('orders', apiConfig()), resolve('.cortex/intents/orders.json'));
  assert.equal(lockPathFor('orders', apiConfig({ lockFile: 'locks/o.json' })), resolve('locks/o.json'));
});
