import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapIntent } from '../../../src/intents/mapping.ts';
import type { OperationFacts } from '../../../src/intents/mapping.ts';
import { apiConfig } from './fixtures.ts';

const facts: OperationFacts = {
  key: 'DELETE /orders/{id}',
  method: 'DELETE',
  path: '/orders/{id}',
  operationId: 'deleteOrder',
  tags: ['Orders'],
  scopes: ['orders:delete'],
  extension: { intent: 'orders:remove', tags: ['destructive'] },
};
const everything = {
  intents: { scopesAreIntents: true, rules: [{ when: { tag: 'Orders' }, intent: '{tag}:{method}' }] },
  operations: { 'DELETE /orders/{id}': { intent: 'orders:purge', tags: ['destructive', 'admin'] } },
};

test('config beats x-cortex-intent beats scopes beats rules', () => {
  assert.deepEqual(mapIntent(apiConfig(everything), facts), { intent: 'orders:purge', tags: ['destructive', 'admin'], source: 'config' });
  assert.deepEqual(mapIntent(apiConfig({ ...everything, operations: {} }), facts), { intent: 'orders:remove', tags: ['destructive'], source: 'x-cortex-intent' });
  const { extension: _e, ...noExtension } = facts;
  assert.deepEqual(mapIntent(apiConfig({ ...everything, operations: {} }), noExtension), { intent: 'orders:delete', tags: [], source: 'scope' });
  assert.deepEqual(mapIntent(apiConfig({ intents: everything.intents }), { ...noExtension, scopes: [] }), { intent: 'orders:delete', tags: [], source: 'rule' });
  assert.deepEqual(mapIntent(apiConfig(), noExtension), { tags: [], source: 'none' });
});

test('scopes give an intent only when exactly one scope is shaped like one', () => {
  const cfg = apiConfig({ intents: { scopesAreIntents: true } });
  const base = { ...facts, extension: undefined };
  assert.equal(mapIntent(cfg, { ...base, scopes: ['orders:read', 'orders:write'] }).source, 'none');
  assert.equal(mapIntent(cfg, { ...base, scopes: ['openid', 'profile', 'orders:read'] }).intent, 'orders:read');
  assert.equal(mapIntent(apiConfig(), { ...base, scopes: ['orders:read'] }).source, 'none', 'off unless scopesAreIntents');
});

test('tags pinned in config without an intent re-tag the intent the document gives', () => {
  const cfg = apiConfig({ operations: { 'DELETE /orders/{id}': { tags: ['admin'] } } });
  assert.deepEqual(mapIntent(cfg, facts), { intent: 'orders:remove', tags: ['admin'], source: 'x-cortex-intent' });
});

test('an invalid x-cortex-intent is a problem and gives no intent (the rules are not tried)', () => {
  const cfg = apiConfig({ intents: everything.intents });
  for (const extension of ['Orders:Delete', 42, { intent: 'orders' }, { intent: 'orders:delete', tags: ['Not A Tag'] }, { intent: 'orders:delete', extra: 1 }, ['orders:delete']]) {
    const mapped = mapIntent(cfg, { ...facts, extension });
    assert.equal(mapped.intent, undefined, JSON.stringify(extension));
    assert.equal(mapped.source, 'x-cortex-intent');
    assert.match(mapped.problem ?? '', /^DELETE \/orders\/\{id\}: invalid x-cortex-intent/);
  }
});
