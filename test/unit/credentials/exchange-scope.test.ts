// The intents of a delegated token: requested ∩ the agent's ∩ the person's, minus forbidden tags,
// over the intents this stage's routes and grants know (wildcards expanded over them).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { delegatedIntents, grantedIntents } from '../../../src/credentials/exchange/scope.ts';
import type { IntentCatalog } from '../../../src/credentials/exchange/scope.ts';

const catalog: IntentCatalog = {
  intents: new Map([
    ['orders:read', []],
    ['orders:create', []],
    ['orders:delete', ['destructive']],
    ['reports:read', []],
  ]),
  grants: { admin: ['*'], customer: ['orders:read', 'orders:create'], agent: ['orders:*'], reporting: ['reports:read'] },
  forbidTags: new Set(['destructive']),
};

test('wildcards cover the intents the catalog knows', () => {
  assert.deepEqual([...grantedIntents(catalog, ['agent'])].sort(), ['orders:create', 'orders:delete', 'orders:read']);
  assert.deepEqual([...grantedIntents(catalog, ['admin'])].length, 4);
  assert.deepEqual([...grantedIntents(catalog, ['nobody'])], []);
});

test('no scope: everything both hold, never a destructive intent', () => {
  assert.deepEqual(delegatedIntents(catalog, undefined, ['agent'], ['admin']), ['orders:create', 'orders:read']);
  assert.deepEqual(delegatedIntents(catalog, undefined, ['agent'], ['reporting']), []);
});

test('a scope narrows further; what neither holds, or an unknown intent, is dropped', () => {
  assert.deepEqual(delegatedIntents(catalog, ['orders:read', 'reports:read', 'orders:delete', 'made:up'], ['agent', 'reporting'], ['customer']), ['orders:read']);
});
