// Grants compiled to Cedar: exact, wildcard and '*' patterns, roles combined, services, and the
// generated policies and schema as text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertTable, compileOk, ISSUER, person, request, service } from './fixtures.ts';
import type { Row } from './fixtures.ts';

test('each role gets exactly the intents its patterns cover, decided by the grant that names it', (t) => {
  const engine = compileOk(t);
  const alice = person('alice', ['admin']);
  const carol = person('carol', ['support']);
  const bob = person('bob', ['customer']);
  const rows: Row[] = [
    ['admin *', alice, 'orders:delete', true, ['grant:admin:*']],
    ['admin *', alice, 'admin:config:write', true, ['grant:admin:*']],
    ['support exact', carol, 'orders:read', true, ['grant:support:orders:read']],
    ['support wildcard', carol, 'customers:export', true, ['grant:support:customers:*']],
    ['support', carol, 'orders:delete', false, []],
    ['support', carol, 'orders:create', false, []],
    ['customer exact', bob, 'orders:read', true, ['grant:customer:orders:read']],
    ['customer', bob, 'orders:list', false, []],
    ['customer', bob, 'customers:read', false, []],
    ['no roles', person('dave', []), 'orders:read', false, []],
    ['unknown role', person('erin', ['intern']), 'orders:read', false, []],
  ];
  assertTable(engine, rows);
  const odd = 'night "ops"\\shift\n';
  const escaped = compileOk(t, { grants: { [odd]: ['orders:list'] } });
  assertTable(escaped, [['quoted role', person('n', [odd]), 'orders:list', true, [`grant:${odd}:orders:list`]]]);
});

test('a wildcard covers every level below its prefix, and only that prefix', (t) => {
  const engine = compileOk(t, { grants: { ops: ['admin:*'], cfg: ['admin:config:*'] } });
  assertTable(engine, [
    ['admin:*', person('o', ['ops']), 'admin:config:write', true, ['grant:ops:admin:*']],
    ['admin:config:*', person('c', ['cfg']), 'admin:config:write', true, ['grant:cfg:admin:config:*']],
    ['admin:*', person('o', ['ops']), 'orders:read', false, []],
  ]);
});

test('a user with two roles holds the union, and every permit that applies is named', (t) => {
  const engine = compileOk(t);
  const both = person('frank', ['customer', 'support']);
  assertTable(engine, [
    ['customer+support', both, 'orders:create', true, ['grant:customer:orders:create']],
    ['customer+support', both, 'customers:read', true, ['grant:support:customers:*']],
    ['customer+support', both, 'orders:read', true, ['grant:customer:orders:read', 'grant:support:orders:read']],
    ['customer+support', both, 'orders:delete', false, []],
  ]);
});

test('a service with no user gets its own grants only', (t) => {
  const engine = compileOk(t);
  const reporter = service('reporter', ['reporting']);
  assertTable(engine, [
    ['service', reporter, 'orders:list', true, ['grant:reporting:orders:list']],
    ['service', reporter, 'customers:read', true, ['grant:reporting:customers:read']],
    ['service', reporter, 'orders:read', false, []],
    ['service without roles', service('stranger', []), 'orders:list', false, []],
  ]);
});

test('principals are told apart by issuer: the entity id is the fingerprint, the subject an attribute', (t) => {
  const engine = compileOk(t, {
    files: [{ path: 'corp-only.cedar', text: '@id("corp-only")\nforbid(principal is User, action, resource) unless { principal.issuer == "https://idp.example" };' }],
  });
  const corpAlice = person('alice', ['admin']);
  const otherAlice = person('alice', ['admin'], { issuer: 'https://other.example', provider: 'other' });
  assert.notEqual(corpAlice.fingerprint, otherAlice.fingerprint);
  assert.equal(corpAlice.issuer, ISSUER);
  assertTable(engine, [
    ['corp alice', corpAlice, 'orders:read', true, ['grant:admin:*']],
    ['other alice', otherAlice, 'orders:read', false, ['corp-only']],
  ]);
});

test('an intent no route or grant declared is denied as a policy error, never evaluated', (t) => {
  const engine = compileOk(t);
  const d = engine.decide(request(person('alice', ['admin']), 'orders:archive'));
  assert.equal(d.allow, false);
  assert.equal(d.reason, 'authz.policy_error');
  assert.match(d.errors[0] ?? '', /orders:archive/);
});

test('the generated policies are readable Cedar with ids, and the schema declares intents and groups', (t) => {
  const engine = compileOk(t);
  assert.match(engine.generatedPolicies, /@id\("grant:support:customers:\*"\)\npermit\(principal in Role::"support", action in Action::"customers:\*", resource\)/);
  assert.match(engine.generatedPolicies, /@id\("grant:admin:\*"\)\npermit\(principal in Role::"admin", action, resource\)/);
  assert.match(engine.generatedPolicies, /@id\("agent-forbid:destructive"\)\nforbid\(principal is Agent, action in Action::"tag:destructive", resource\);/);
  assert.match(engine.schema, /action "customers:export" in \[Action::"customers:\*", Action::"tag:destructive", Action::"tag:pii"\]/);
  assert.match(engine.schema, /entity Route \{ tags: Set<String> \} tags String;/);
  assert.match(engine.schema, /entity Agent in \[Role\]/);
});

test('after dispose, decisions deny as policy errors', (t) => {
  const engine = compileOk(t);
  engine.dispose();
  const d = engine.decide(request(person('alice', ['admin']), 'orders:read'));
  assert.deepEqual([d.allow, d.reason], [false, 'authz.policy_error']);
});
