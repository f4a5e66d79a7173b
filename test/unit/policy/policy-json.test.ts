import assert from 'node:assert/strict';
import { test } from 'node:test';
import { policyToJson } from '@cedar-policy/cedar-wasm/nodejs';
import { policyJson } from '../../../src/policy/policy-json.ts';

test('a policy text is parsed once: the same result object, equal to Cedar\'s own', () => {
  const text = '@id("p1")\npermit(principal, action == Action::"orders:read", resource) when { context.stage == "dev" };';
  const first = policyJson(text);
  assert.equal(policyJson(text), first);
  assert.deepEqual(first, policyToJson(text));
  assert.equal(first.type, 'success');
});

test('a text that does not parse keeps its failure, also on the second call', () => {
  const first = policyJson('permit(principal, action, resource');
  assert.equal(first.type, 'failure');
  assert.equal(policyJson('permit(principal, action, resource'), first);
});
