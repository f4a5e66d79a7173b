// The decision cache answers exactly as Cedar would: every request of a grid (identities × intents
// × the inputs a policy reads) is decided through the cache, which fills as it goes, and by an
// uncached engine; a key that omitted an input would hand one request another's answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { analysePolicies, readsForIntent, withDecisionCache } from '../../../src/policy/decision-cache.ts';
import type { CachedPolicyEngine } from '../../../src/policy/decision-cache.ts';
import type { DecisionRequest, PolicyDecision, PolicyInput } from '../../../src/policy/engine.ts';
import type { Identity } from '../../../src/gateway/types.ts';
import { ANONYMOUS } from '../../../src/identity/claims-identity.ts';
import { agent, compileOk, GRANTS, INTENTS, person, request, service } from './fixtures.ts';

const bob = person('bob', ['customer']);
const WHO: readonly Identity[] = [
  person('alice', ['admin']),
  person('alice', ['admin'], { claims: { amr: ['pwd', 'otp'] } }),
  person('carol', ['support']),
  bob,
  person('bob', ['customer'], { claims: { amr: 'hwk' } }),
  person('bob', ['customer'], { issuer: 'https://other.example' }),
  person('dave', []),
  person('frank', ['customer']),
  person('erin', ['customer', 'reporting']),
  service('reports', ['reporting']),
  agent('assistant', ['assistant'], bob),
  agent('assistant', ['assistant'], person('frank', ['customer'])),
  agent('assistant', ['assistant'], person('carol', ['support'])),
  agent('assistant', ['assistant']),
  agent('assistant', ['assistant'], person('dave', [])),
  ANONYMOUS,
];

const VARIANTS: readonly Partial<DecisionRequest>[] = [
  {},
  { stage: 'prod' },
  { params: { id: '42' } },
  { params: { id: '7', owner: 'bob' } },
  { clientIp: '192.0.2.1', nowMs: Date.UTC(2025, 0, 6, 22, 0) },
];

// Cedar reports the deciding policies in no fixed order.
const sorted = (d: PolicyDecision): PolicyDecision => ({ ...d, policyIds: [...d.policyIds].sort() });

function input(files: PolicyInput['files'] = []): PolicyInput {
  return { grants: GRANTS, intents: INTENTS, agentForbidTags: ['destructive'], files };
}

/** Decides the grid twice through the cache and once uncached, comparing every answer. */
function crossCheck(t: TestContext, files: PolicyInput['files'] = []): CachedPolicyEngine {
  const plain = compileOk(t, { files });
  const cached = withDecisionCache(compileOk(t, { files }), { policies: input(files) });
  let decisions = 0;
  for (let round = 0; round < 2; round++) {
    for (const variant of VARIANTS) {
      for (const who of WHO) {
        for (const intent of INTENTS.keys()) {
          const req = request(who, intent, variant);
          const label = `${who.kind} ${who.subject} ${intent} ${JSON.stringify(variant)}`;
          const expected = plain.decide(req);
          assert.deepEqual(expected.errors, [], `${label}: the grid has no erroring requests`);
          assert.deepEqual(sorted(cached.decide(req)), sorted(expected), label);
          decisions++;
        }
      }
    }
  }
  const { hits, misses } = cached.stats();
  assert.equal(hits + misses, decisions);
  assert.ok(hits >= decisions / 2, `the second round is all hits at least (${hits} of ${decisions})`);
  return cached;
}

function reads(files: PolicyInput['files'], intent: string) {
  const { analysed, catalog } = analysePolicies(input(files));
  return readsForIntent(analysed, catalog, intent);
}

test('generated grants alone: the key is kind, roles, intent and the acted-for roles', (t) => {
  const cached = crossCheck(t);
  const r = reads([], 'orders:read');
  assert.equal(r.all, false);
  assert.equal(r.principalRoles, true);
  assert.equal(r.principalId, false);
  assert.deepEqual([...r.context].sort(), ['actingFor', 'actingForRoles']);
  assert.deepEqual([...r.principalAttrs], []);
  // Stage, parameters, address and time do not split entries: the variants share them.
  assert.ok(cached.stats().size <= WHO.length * INTENTS.size, `size ${cached.stats().size}`);
});

test('a policy reading context.mfa puts mfa in the key of the intents it applies to', (t) => {
  const text = '@id("mfa")\nforbid(principal, action in Action::"tag:destructive", resource)\nwhen { context.stage == "prod" && !context.mfa };';
  const files = [{ path: 'mfa.cedar', text }];
  crossCheck(t, files);
  assert.deepEqual([...reads(files, 'orders:delete').context].sort(), ['actingFor', 'actingForRoles', 'mfa', 'stage']);
  assert.equal(reads(files, 'orders:read').context.has('mfa'), false, 'orders:read is not destructive');
});

test('a policy reading a path parameter puts that parameter, and only it, in the key', (t) => {
  const text = '@id("order-42")\nforbid(principal, action == Action::"orders:read", resource)\nwhen { resource.hasTag("id") && resource.getTag("id") == "42" };';
  const files = [{ path: 'params.cedar', text }];
  crossCheck(t, files);
  const r = reads(files, 'orders:read');
  assert.deepEqual([...r.params], ['id']);
  assert.equal(r.allParams, false);
  assert.deepEqual([...reads(files, 'orders:list').params], []);
});

test('a policy reading context.time leaves its intents uncached, and only those', (t) => {
  const text = '@id("office-hours")\nforbid(principal, action == Action::"orders:delete", resource)\nwhen { context.time > 1736190000 };';
  const files = [{ path: 'hours.cedar', text }];
  const plain = compileOk(t, { files });
  const cached = withDecisionCache(compileOk(t, { files }), { policies: input(files) });
  const admin = person('alice', ['admin']);
  for (const nowMs of [Date.UTC(2025, 0, 6, 10, 0), Date.UTC(2025, 0, 6, 22, 0), Date.UTC(2025, 0, 6, 10, 0)]) {
    for (const intent of ['orders:delete', 'orders:read']) {
      const req = request(admin, intent, { nowMs });
      assert.deepEqual(sorted(cached.decide(req)), sorted(plain.decide(req)), `${intent} at ${nowMs}`);
    }
  }
  assert.deepEqual(cached.stats(), { hits: 2, misses: 4, size: 1 }, 'orders:read cached once, orders:delete never');
  assert.equal(reads(files, 'orders:read').context.has('time'), false);
  crossCheck(t, files);
});

test('a policy reading principal.subject puts the subject in the key', (t) => {
  const text = '@id("bob-deletes")\npermit(principal, action == Action::"orders:delete", resource)\nwhen { principal is User && principal.subject == "bob" };';
  const files = [{ path: 'subject.cedar', text }];
  crossCheck(t, files);
  assert.deepEqual([...reads(files, 'orders:delete').principalAttrs], ['subject']);
  assert.deepEqual([...reads(files, 'orders:read').principalAttrs], []);
});

test('ownership against the acted-for person and an unknown shape', (t) => {
  const owner = '@id("own")\npermit(principal is Agent, action == Action::"orders:list", resource)\n' +
    'when { context has actingFor && resource.hasTag("owner") && resource.getTag("owner") == context.actingFor.subject };';
  const literal = '@id("literal")\nforbid(principal, action == Action::"orders:create", resource)\nwhen { User::"x" in Role::"admin" };';
  const files = [{ path: 'own.cedar', text: owner }, { path: 'literal.cedar', text: literal }];
  crossCheck(t, files);
  assert.equal(reads(files, 'orders:list').actingForEntity, true);
  assert.equal(reads(files, 'orders:create').all, true, 'an entity literal dereferenced: no key is safe');
  assert.equal(reads(files, 'orders:read').all, false);
});

test('an errored decision is never cached', (t) => {
  // No policy that passes strict validation errors without reading the time (which is never
  // cached), so the error here is the engine's own: it was disposed under the cache.
  const inner = compileOk(t);
  const cached = withDecisionCache(inner, { policies: input() });
  inner.dispose();
  for (let i = 0; i < 2; i++) {
    const d = cached.decide(request(bob, 'orders:read'));
    assert.deepEqual([d.allow, d.reason], [false, 'authz.policy_error']);
  }
  assert.deepEqual(cached.stats(), { hits: 0, misses: 2, size: 0 });
});

test('an intent the policies do not know is decided by the engine, uncached', (t) => {
  const cached = withDecisionCache(compileOk(t), { policies: input() });
  for (let i = 0; i < 2; i++) assert.equal(cached.decide(request(bob, 'billing:read')).reason, 'authz.policy_error');
  assert.deepEqual(cached.stats(), { hits: 0, misses: 2, size: 0 });
});

test('the cache holds at most maxEntries, dropping the oldest', (t) => {
  const cached = withDecisionCache(compileOk(t), { policies: input(), maxEntries: 2 });
  for (const who of [person('a', ['admin']), person('b', ['support']), person('c', ['customer'])]) cached.decide(request(who, 'orders:read'));
  assert.equal(cached.stats().size, 2);
  cached.decide(request(person('a2', ['admin']), 'orders:read'));
  assert.deepEqual(cached.stats(), { hits: 0, misses: 4, size: 2 }, 'the admin entry was the oldest and is gone');
  cached.decide(request(person('c2', ['customer']), 'orders:read'));
  assert.equal(cached.stats().hits, 1);
});
