// The per-intent policy sets: a decision evaluates only the policies whose action scope can match its
// intent, and answers exactly as the whole set would. Forbids on wildcard and tag groups, on every
// action and on lists still apply; an intent no policy covers denies; errors still deny; dispose
// releases every preparsed set.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { preparseSchema, statefulIsAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { compilePolicies, toCedar } from '../../../src/policy/engine.ts';
import type { DecisionRequest, EngineOptions, PolicyEngine, PolicyInput } from '../../../src/policy/engine.ts';
import { generatePolicies, parseFiles } from '../../../src/policy/policies.ts';
import { analyzePolicy } from '../../../src/policy/policy-inputs.ts';
import { PolicySplit } from '../../../src/policy/policy-split.ts';
import { buildCatalog, schemaText } from '../../../src/policy/schema.ts';
import { agent, GRANTS, INTENTS, person, request, service } from './fixtures.ts';

const FORBIDS = `
@id("no-deletes-on-orders")
forbid(principal in Role::"reporting", action in Action::"orders:*", resource);
@id("pii-needs-mfa")
forbid(principal, action in Action::"tag:pii", resource) unless { context.mfa };
@id("frozen-everywhere")
forbid(principal in Role::"frozen", action, resource);
@id("listed")
forbid(principal in Role::"support", action in [Action::"customers:export", Action::"orders:list"], resource);
`;

function base(input: Partial<PolicyInput> = {}): PolicyInput {
  return { grants: GRANTS, intents: INTENTS, agentForbidTags: ['destructive'], files: [], ...input };
}

function engineOf(t: TestContext, input: PolicyInput, options: EngineOptions = {}): PolicyEngine {
  const c = compilePolicies(input, options);
  if (!c.ok) return assert.fail(c.problems.join('\n'));
  t.after(() => c.engine.dispose());
  return c.engine;
}

test('forbids on wildcard groups, tag groups, every action and lists apply where they may, as in the whole set', (t) => {
  const input = base({ files: [{ path: 'forbids.cedar', text: FORBIDS }] });
  const split = engineOf(t, input, { fastPath: false });
  const whole = engineOf(t, input, { split: false, fastPath: false });
  const who = [
    person('alice', ['admin']),
    person('alice', ['admin'], { claims: { amr: ['otp'] } }),
    person('rita', ['admin', 'reporting']),
    person('fred', ['admin', 'frozen']),
    person('carol', ['support']),
    service('reports', ['reporting']),
    agent('assistant', ['assistant'], person('bob', ['customer'])),
  ];
  let forbidden = 0;
  for (const w of who) {
    for (const intent of INTENTS.keys()) {
      const req = request(w, intent);
      const a = split.decide(req);
      assert.deepEqual(a, whole.decide(req), `${w.subject} ${intent}`);
      if (a.policyIds.some((id) => !id.includes(':'))) forbidden++;
    }
  }
  assert.ok(forbidden > 10, `the hand-written forbids decided ${forbidden} requests`);
  assert.deepEqual(split.decide(request(person('rita', ['admin', 'reporting']), 'orders:delete')).policyIds, ['no-deletes-on-orders']);
  assert.deepEqual(split.decide(request(person('alice', ['admin']), 'customers:export')).policyIds, ['pii-needs-mfa']);
  assert.deepEqual(split.decide(request(person('fred', ['admin', 'frozen']), 'health:read')).policyIds, ['frozen-everywhere']);
  assert.deepEqual(split.decide(request(person('carol', ['support']), 'orders:list')).policyIds, ['listed']);
  assert.equal(split.decide(request(person('carol', ['support']), 'orders:read')).allow, true);
});

test('each intent gets only the policies whose action scope can match it, and equal sets are shared', () => {
  const input = base({ files: [{ path: 'forbids.cedar', text: FORBIDS }] });
  const { catalog } = buildCatalog(input);
  const all = [...generatePolicies(input, catalog), ...parseFiles(input.files).policies];
  const split = new PolicySplit('test-split-members', all, all.map((p) => analyzePolicy(p.text)), catalog);
  try {
    const ids = (intent: string): string[] => split.applicable(intent).map((i) => all[i]!.id);
    const health = ids('health:read');
    assert.ok(health.includes('frozen-everywhere') && health.includes('grant:admin:*'));
    assert.ok(!health.includes('no-deletes-on-orders') && !health.includes('pii-needs-mfa') && !health.some((id) => id.startsWith('grant:support:')));
    assert.ok(ids('customers:read').includes('pii-needs-mfa'));
    assert.ok(ids('orders:delete').includes('no-deletes-on-orders'));
    assert.ok(ids('orders:delete').includes('agent-forbid:destructive'));
    assert.ok(!ids('orders:read').includes('agent-forbid:destructive'));
    assert.ok(ids('orders:list').includes('listed') && !ids('orders:read').includes('listed'));
    const a = split.setFor('orders:read');
    const b = split.setFor('orders:read');
    assert.deepEqual(a, b);
    assert.equal(split.preparsedCount, 1);
  } finally {
    split.dispose();
  }
});

test('an intent no policy can apply to denies, with no deciding policies', (t) => {
  const engine = engineOf(t, base({ grants: { customer: ['orders:read'] }, agentForbidTags: [] }));
  const d = engine.decide(request(person('alice', ['customer', 'admin']), 'health:read'));
  assert.deepEqual(d, { allow: false, policyIds: [], reason: 'authz.denied', errors: [] });
  assert.equal(engine.decide(request(person('bob', ['customer']), 'orders:read')).allow, true);
});

test('an evaluation error still denies with authz.policy_error through the per-intent sets', (t) => {
  const text = '@id("forbid-that-errors")\nforbid(principal, action in Action::"tag:destructive", resource)\nwhen { context.time * 10000000000 > 0 };';
  const engine = engineOf(t, base({ files: [{ path: 'overflow.cedar', text }] }));
  const d = engine.decide(request(person('alice', ['admin']), 'orders:delete'));
  assert.equal(d.reason, 'authz.policy_error');
  assert.equal(d.allow, false);
  assert.deepEqual(d.policyIds, ['forbid-that-errors']);
  assert.match(d.errors[0] ?? '', /overflow/);
  assert.equal(engine.decide(request(person('alice', ['admin']), 'orders:read')).allow, true);
});

test('dispose releases every preparsed set: a released id decides with no policies', () => {
  const input = base();
  const { catalog } = buildCatalog(input);
  const all = generatePolicies(input, catalog);
  const split = new PolicySplit('test-split-dispose', all, all.map((p) => analyzePolicy(p.text)), catalog);
  const schemaId = 'test-split-dispose-schema';
  assert.equal(preparseSchema(schemaId, schemaText(catalog)).type, 'success');
  const c = compilePolicies(input);
  if (!c.ok) return assert.fail(c.problems.join('\n'));
  const decide = (setId: string, req: DecisionRequest): string => {
    const answer = statefulIsAuthorized({
      ...toCedar(req, INTENTS.get(req.intent) ?? []),
      preparsedPolicySetId: setId,
      preparsedSchemaName: schemaId,
      validateRequest: false,
    });
    return answer.type === 'success' ? answer.response.decision : 'failure';
  };
  try {
    const used = ['orders:read', 'orders:delete', 'health:read'].map((intent) => {
      const s = split.setFor(intent);
      assert.ok(s.ok);
      return { intent, setId: s.setId };
    });
    const alice = person('alice', ['admin']);
    for (const u of used) assert.equal(decide(u.setId, request(alice, u.intent)), 'allow');
    const released = split.dispose();
    assert.deepEqual(new Set(released), new Set(used.map((u) => u.setId)));
    for (const u of used) assert.equal(decide(u.setId, request(alice, u.intent)), 'deny');
    assert.equal(split.preparsedCount, 0);
  } finally {
    c.engine.dispose();
  }
  // The engine refuses to decide once disposed.
  const d = c.engine.decide(request(person('alice', ['admin']), 'orders:read'));
  assert.equal(d.reason, 'authz.policy_error');
  preparseSchema(schemaId, '');
});
