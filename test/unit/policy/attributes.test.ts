// Resource attributes from an attribute source, as the policy engine sees them: the schema declares
// each picked attribute as an optional Route attribute, the demo's ownership policies validate and
// decide (bob reads his own orders only, an agent acting for bob the same), an absent attribute
// leaves the grants to decide, and the decision cache never hands one owner's answer to another.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { route } from '../../../src/config/schema-route.ts';
import { DEV_POLICY_FILE } from '../../../src/dev/config.ts';
import { withDecisionCache } from '../../../src/policy/decision-cache.ts';
import { compilePolicies } from '../../../src/policy/engine.ts';
import type { EngineInput, PolicyDecision, PolicyEngine } from '../../../src/policy/engine.ts';
import { analyzePolicy } from '../../../src/policy/policy-inputs.ts';
import { agent, GRANTS, INTENTS, person, request, service } from './fixtures.ts';

const ORDERS = { path: DEV_POLICY_FILE, text: readFileSync(DEV_POLICY_FILE, 'utf8') };
const OWNER_ATTR = new Map([['owner', 'string' as const]]);

function input(over: Partial<EngineInput> = {}): EngineInput {
  return { grants: GRANTS, intents: INTENTS, agentForbidTags: ['destructive'], files: [ORDERS], resourceAttributes: OWNER_ATTR, ...over };
}

function compile(t: TestContext, over: Partial<EngineInput> = {}): PolicyEngine {
  const result = compilePolicies(input(over));
  if (!result.ok) return assert.fail(`compile failed:\n${result.problems.join('\n')}`);
  t.after(() => result.engine.dispose());
  return result.engine;
}

const bob = person('bob', ['customer']);
const alice = person('alice', ['admin']);
const carol = person('carol', ['support']);
const forBob = agent('assistant', ['assistant'], bob);
const forCarol = agent('assistant', ['assistant'], carol);

test('the schema declares each picked attribute as an optional Route attribute', (t) => {
  const engine = compile(t, { resourceAttributes: new Map([['owner', 'string'], ['teams', 'set']]) });
  assert.match(engine.schema, /entity Route \{ tags: Set<String>, owner\?: String, teams\?: Set<String> \} tags String;/);
});

test('a policy reading resource.owner fails the load when no route gives owner', () => {
  const result = compilePolicies(input({ resourceAttributes: new Map() }));
  assert.equal(result.ok, false);
  if (!result.ok) assert.ok(result.problems.some((p) => /customers-read-own-orders/.test(p) && /owner/.test(p)), result.problems.join('\n'));
});

test('the demo ownership rules: each reader against each owner, and an order that does not exist', (t) => {
  const engine = compile(t);
  const rows: readonly [string, ReturnType<typeof person>, string | undefined, boolean, string[]?][] = [
    ['bob, his order', bob, 'bob', true, ['grant:customer:orders:read']],
    ['bob, alice\'s order', bob, 'alice', false, ['customers-read-own-orders']],
    ['bob, no such order (the grants decide)', bob, undefined, true, ['grant:customer:orders:read']],
    ['carol (support), alice\'s order', carol, 'alice', true, ['grant:support:orders:read']],
    ['alice (admin), bob\'s order', alice, 'bob', true, ['grant:admin:*']],
    ['a customer who is also support', person('erin', ['customer', 'support']), 'bob', true, ['grant:customer:orders:read', 'grant:support:orders:read']],
    ['the agent for bob, bob\'s order', forBob, 'bob', true],
    ['the agent for bob, alice\'s order', forBob, 'alice', false, ['agents-read-their-persons-orders']],
    ['the agent for carol (support), alice\'s order', forCarol, 'alice', true],
    ['a service with the grant', service('reports', ['support']), 'alice', true, ['grant:support:orders:read']],
  ];
  for (const [label, who, owner, allow, ids] of rows) {
    const d = engine.decide(request(who, 'orders:read', { params: { id: 'ord_1' }, ...(owner ? { resourceAttributes: { owner } } : {}) }));
    assert.deepEqual(d.errors, [], label);
    assert.equal(d.allow, allow, `${label}: ${JSON.stringify(d)}`);
    if (ids) assert.deepEqual([...d.policyIds].sort(), ids, label);
  }
});

test('a Set<String> attribute reaches the policies as a set', (t) => {
  const text = '@id("team-only")\nforbid(principal is User, action == Action::"orders:read", resource)\nwhen { resource has teams && !resource.teams.contains(principal.subject) };';
  const engine = compile(t, { files: [{ path: 'teams.cedar', text }], resourceAttributes: new Map([['teams', 'set']]) });
  const req = (teams: string[]) => request(bob, 'orders:read', { resourceAttributes: { teams } });
  assert.equal(engine.decide(req(['alice', 'bob'])).allow, true);
  assert.equal(engine.decide(req(['alice'])).allow, false);
});

test('the analysis records resource attribute reads, and keeps such an intent out of the cache key', () => {
  const { reads } = analyzePolicy(ORDERS.text.split('\n\n// An agent')[0] as string);
  assert.deepEqual([...reads.resourceAttrs], ['owner']);
  assert.equal(reads.all, false, 'cacheable: the decision cache keys on the attribute values read');
});

// Cedar reports the deciding policies in no fixed order.
const sorted = (d: PolicyDecision): PolicyDecision => ({ ...d, policyIds: [...d.policyIds].sort() });

test('decision cache grid: owners × readers × intents, cached and uncached answers agree', (t) => {
  const plain = compile(t);
  const cached = withDecisionCache(compile(t), { policies: input() });
  const who = [bob, alice, carol, person('frank', ['customer']), forBob, forCarol, agent('assistant', ['assistant']), service('reports', ['reporting'])];
  const owners = ['bob', 'alice', 'frank', undefined];
  let decisions = 0;
  for (let round = 0; round < 2; round++) {
    for (const owner of owners) {
      for (const w of who) {
        for (const intent of INTENTS.keys()) {
          const req = request(w, intent, { params: { id: 'ord_1' }, ...(owner ? { resourceAttributes: { owner } } : {}) });
          assert.deepEqual(sorted(cached.decide(req)), sorted(plain.decide(req)), `${w.subject} ${intent} owner=${owner}`);
          decisions++;
        }
      }
    }
  }
  const { hits, misses } = cached.stats();
  assert.equal(hits + misses, decisions);
  // The second round repeats the first exactly: every decision, orders:read with each owner
  // included, comes from the cache, keyed on the owner it read.
  assert.ok(hits >= decisions / 2, `the second round was answered from the cache (${hits} hits, ${misses} misses)`);
});

test('route config: the URL template may name only the match\'s path parameters', () => {
  const base = { match: { path: '/orders/{id}' }, upstream: 'up', intent: 'orders:read' };
  const ok = route.safeParse({ ...base, resource: { attributes: { url: 'http://127.0.0.1:9903/orders/{id}', pick: { owner: 'owner' } } } });
  assert.equal(ok.success, true);
  if (ok.success) assert.deepEqual([ok.data.resource?.attributes.timeoutMs, ok.data.resource?.attributes.cacheSeconds], [2000, 5]);
  const bad = route.safeParse({ ...base, resource: { attributes: { url: 'http://127.0.0.1:9903/orders/{order}', pick: { owner: 'owner' } } } });
  assert.equal(bad.success, false);
  if (!bad.success) assert.match(bad.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'), /resource\.attributes\.url: \{order\} is not a path parameter/);
  for (const attributes of [
    { url: 'ftp://x/{id}', pick: { owner: 'owner' } },
    { url: 'http://x/{id}', pick: {} },
    { url: 'http://x/{id}', pick: { tags: 'tags' } },
    { url: 'http://x/{id}', pick: { 'not-cedar': 'owner' } },
    { url: 'http://x/{id}', pick: { teams: { field: 'teams', type: 'map' } } },
  ]) assert.equal(route.safeParse({ ...base, resource: { attributes } }).success, false, JSON.stringify(attributes));
});

test('a policy reading an attribute no route gives fails the load, naming it', () => {
  const text = '@id("typo")\nforbid(principal is User, action == Action::"orders:read", resource)\nwhen { resource has owner && resource has ownr && resource.ownr != principal.subject };';
  const result = compilePolicies(input({ files: [{ path: 'typo.cedar', text }] }));
  assert.equal(result.ok, false);
  if (!result.ok) assert.deepEqual(result.problems, ["typo.cedar:1: policy typo reads resource.ownr, which no route's attribute source (resource.attributes.pick) gives"]);
});
