import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { readOperations } from '../../../src/intents/document.ts';
import type { ImportedOperation } from '../../../src/intents/types.ts';
import { apiConfig, ORDERS_30, ORDERS_31_YAML } from './fixtures.ts';

function summary(ops: readonly ImportedOperation[]): string[] {
  return ops.map((o) => `${o.key} ${o.intent ?? '-'} [${o.tags.join(',')}] ${o.source}${o.problem !== undefined ? ' PROBLEM' : ''}`);
}

test('an OpenAPI 3.0 document: x-cortex-intent as a string and as { intent, tags }; trace and path-level keys ignored', () => {
  const { operations, problems } = readOperations('orders', apiConfig(), ORDERS_30);
  assert.deepEqual(summary(operations), [
    'GET /orders orders:read [] x-cortex-intent',
    'POST /orders orders:create [pii] x-cortex-intent',
    'GET /orders/{id} - [] none',
    'DELETE /orders/{id} orders:delete [destructive] x-cortex-intent',
    'GET /health - [] none',
  ]);
  assert.deepEqual(problems, []);
  assert.equal(operations[0]?.operationId, 'listOrders');
  assert.equal(operations[0]?.path, '/orders');
  assert.equal(operations[0]?.api, 'orders');
});

test('scopesAreIntents: the root security applies when an operation has none, and security: [] means no scopes', () => {
  const { operations } = readOperations('orders', apiConfig({ intents: { scopesAreIntents: true } }), ORDERS_30);
  const byKey = new Map(operations.map((o) => [o.key, o]));
  assert.equal(byKey.get('GET /orders/{id}')?.intent, 'orders:read');
  assert.equal(byKey.get('GET /orders/{id}')?.source, 'scope');
  assert.equal(byKey.get('GET /health')?.intent, undefined);
});

test('an OpenAPI 3.1 YAML document: one intent-shaped scope, an invalid x-cortex-intent, a bad template, a path-level $ref', () => {
  const { operations, problems } = readOperations('orders', apiConfig({ intents: { scopesAreIntents: true } }), parse(ORDERS_31_YAML));
  assert.deepEqual(summary(operations), [
    'GET /orders orders:read [] scope',
    'PUT /orders/{id} orders:write [] scope',
    'PATCH /orders/{id} - [] x-cortex-intent',
    'GET /orders/{id}.json orders:read [] x-cortex-intent PROBLEM',
    'GET /reports/{year} orders:read [] scope',
  ]);
  assert.equal(problems.length, 3);
  assert.match(problems[0] ?? '', /PATCH \/orders\/\{id\}: invalid x-cortex-intent \("Orders-Write"/);
  assert.match(problems[1] ?? '', /GET \/orders\/\{id\}\.json: .*whole path segment.*denied/);
  assert.match(problems[2] ?? '', /\/shared: a path-level \$ref is not supported/);
});

test('rules, in order, fill {tag} (lowercased), {method} and {scope}; a result that is not an intent is a problem', () => {
  const cfg = apiConfig({
    intents: {
      rules: [
        { when: { tag: 'Reports' }, intent: '{tag}:{method}', tags: ['pii'] },
        { when: { scope: '^orders:' , methods: ['PUT'] }, intent: '{scope}' },
        { when: { operationId: '^list' }, intent: 'misc:{tag}' },
        { when: { path: '\\.json$' }, intent: 'misc:{tag}' },
      ],
    },
  });
  const { operations, problems } = readOperations('orders', cfg, parse(ORDERS_31_YAML));
  assert.deepEqual(summary(operations), [
    'GET /orders misc:orders [] rule',
    'PUT /orders/{id} orders:write [] rule',
    'PATCH /orders/{id} - [] x-cortex-intent',
    'GET /orders/{id}.json orders:read [] x-cortex-intent PROBLEM',
    'GET /reports/{year} reports:get [pii] rule',
  ]);
  assert.equal(problems.length, 3);
});

test('a rule whose template gives no intent leaves the operation without one, and says why', () => {
  const cfg = apiConfig({ intents: { rules: [{ when: { methods: ['GET'] }, intent: 'x:{tag}' }] } });
  const spec = { openapi: '3.0.0', paths: { '/ping': { get: {} } } };
  const { operations, problems } = readOperations('orders', cfg, spec);
  assert.equal(operations[0]?.intent, undefined);
  assert.equal(operations[0]?.source, 'rule');
  assert.match(problems[0] ?? '', /intents\.rules\.0 gives "x:", not an intent/);
});

test('a document without paths has no operations; a non-object path item is a problem', () => {
  assert.deepEqual(readOperations('orders', apiConfig(), { openapi: '3.0.0' }), { operations: [], problems: [] });
  const { operations, problems } = readOperations('orders', apiConfig(), { openapi: '3.0.0', paths: { '/x': 'nope', y: { get: {} } } });
  assert.equal(problems.length, 2);
  assert.equal(operations[0]?.problem, 'a path must start with /');
});
