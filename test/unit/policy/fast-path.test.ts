// Differential test of the fast path: random identities and requests decided by the engine with the
// per-intent sets and the fast path, and by Cedar alone over the whole set (as before the split); the
// decisions (allow, reason, policy ids, errors) must be identical. The policies mix shapes the fast
// path handles with ones it leaves to Cedar (like, arithmetic), and the requests include inputs Cedar
// refuses (an undeclared or mistyped resource attribute) and policies that error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicies } from '../../../src/policy/engine.ts';
import type { DecisionRequest, EngineInput, PolicyEngine } from '../../../src/policy/engine.ts';
import type { Identity } from '../../../src/gateway/types.ts';
import { FastPaths } from '../../../src/policy/fast-paths.ts';
import { generatePolicies, parseFiles } from '../../../src/policy/policies.ts';
import { analyzePolicy } from '../../../src/policy/policy-inputs.ts';
import { PolicySplit } from '../../../src/policy/policy-split.ts';
import { buildCatalog } from '../../../src/policy/schema.ts';
import { ANONYMOUS } from '../../../src/identity/claims-identity.ts';
import { agent, GRANTS, INTENTS, person, service } from './fixtures.ts';

const POLICIES = `
@id("own-orders")
forbid (principal is User, action == Action::"orders:read", resource)
when { principal in Role::"customer" && !(principal in Role::"support") && resource has owner && resource.owner != principal.subject };
@id("agent-own-orders")
forbid (principal is Agent, action == Action::"orders:read", resource)
when { context has actingFor && !(context.actingFor in Role::"support") && resource has owner && resource.owner != context.actingFor.subject };
@id("prod-mfa")
forbid (principal, action in Action::"tag:destructive", resource) when { context.stage == "prod" && !context.mfa };
@id("own-deletes")
forbid (principal in Role::"customer", action == Action::"orders:delete", resource)
unless { resource.hasTag("user") && resource.getTag("user") == principal.subject };
@id("public-health")
permit (principal is Anonymous, action == Action::"health:read", resource);
@id("services-on-health-route")
permit (principal, action, resource == Route::"health") when { context.kind == "service" };
@id("pii-over-mtls")
forbid (principal is Service, action, resource) when { resource.tags.contains("pii") && context.method != "mtls" };
@id("reporting-from-office")
permit (principal in Role::"reporting", action == Action::"orders:list", resource)
when { context.clientIp == "192.0.2.1" || context.actingForRoles.containsAll(["support"]) };
@id("labels")
forbid (principal, action in Action::"customers:*", resource)
when { resource has labels && resource.labels.containsAny(["frozen", "legal-hold"]) && !(principal in [Role::"admin", Role::"support"]) };
@id("lonely-agents")
forbid (principal is Agent, action in Action::"customers:*", resource) unless { context has actingFor };
@id("same-issuer")
permit (principal is User, action == Action::"orders:create", resource)
when { principal.issuer == "https://idp.example" && principal.provider != "legacy" && !(resource.tags == ["pii"]) };
@id("bots")
forbid (principal is User, action == Action::"orders:create", resource) when { principal.subject like "bot*" };
@id("overflow")
forbid (principal in Role::"reporting", action == Action::"customers:read", resource) when { context.time * 10000000000 > 0 };
`;

const INPUT: EngineInput = {
  grants: GRANTS,
  intents: INTENTS,
  agentForbidTags: ['destructive'],
  files: [{ path: 'mixed.cedar', text: POLICIES }],
  resourceAttributes: new Map([['owner', 'string'], ['labels', 'set']]),
};

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const ROLES = ['admin', 'support', 'customer', 'reporting', 'assistant', 'nobody'];
const SUBJECTS = ['alice', 'bob', 'bot-7', 'carol'];

function randomRequest(rnd: () => number): DecisionRequest {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const roles = (): string[] => ROLES.filter(() => rnd() < 0.3);
  const opts = {
    issuer: rnd() < 0.8 ? 'https://idp.example' : 'https://other.example',
    provider: rnd() < 0.8 ? 'corp' : 'legacy',
    method: pick(['jwt', 'mtls', 'session'] as const),
    claims: rnd() < 0.5 ? { amr: pick(['pwd', ['pwd', 'otp'], 'hwk']) } : {},
  };
  const somebody = (): Identity => person(pick(SUBJECTS), roles(), opts);
  const kind = rnd();
  const identity =
    kind < 0.45 ? somebody()
    : kind < 0.6 ? service(pick(['reports', 'billing']), roles(), opts)
    : kind < 0.8 ? agent('assistant', roles(), somebody(), opts)
    : kind < 0.9 ? agent('assistant', roles(), undefined, opts)
    : ANONYMOUS;
  const intent = pick([...INTENTS.keys()]);
  const attrs: Record<string, string | string[]> = {};
  if (rnd() < 0.6) attrs.owner = pick(SUBJECTS);
  if (rnd() < 0.3) attrs.labels = pick([[], ['frozen'], ['x', 'legal-hold']]);
  const odd = rnd();
  if (odd < 0.03) attrs.colour = 'red'; // undeclared: Cedar refuses the request
  else if (odd < 0.06) attrs.owner = ['bob']; // mistyped: Cedar refuses the request
  return {
    identity,
    intent,
    routeId: rnd() < 0.2 ? 'health' : (intent.split(':')[0] ?? intent),
    tags: rnd() < 0.2 ? ['pii'] : [],
    params: rnd() < 0.5 ? { user: pick(SUBJECTS), id: '42' } : rnd() < 0.5 ? { id: '7', user: undefined } : {},
    ...(Object.keys(attrs).length > 0 || rnd() < 0.5 ? { resourceAttributes: attrs } : {}),
    stage: pick(['dev', 'prod']),
    clientIp: pick(['10.0.0.7', '192.0.2.1']),
    nowMs: Date.UTC(2025, 0, 6, 10, 0) + Math.floor(rnd() * 1e9),
  };
}

function compiled(options: Parameters<typeof compilePolicies>[1]): PolicyEngine {
  const c = compilePolicies(INPUT, options);
  if (!c.ok) return assert.fail(c.problems.join('\n'));
  return c.engine;
}

test('the fast path decides exactly as Cedar over the whole set, on 4,000 random requests', () => {
  const fast = compiled({});
  const cedar = compiled({ split: false, fastPath: false });
  const { catalog } = buildCatalog(INPUT);
  const all = [...generatePolicies(INPUT, catalog), ...parseFiles(INPUT.files).policies];
  const split = new PolicySplit('test-fast-path-share', all, all.map((p) => analyzePolicy(p.text)), catalog);
  const fastOnly = new FastPaths(all, split, INPUT.resourceAttributes);
  try {
    const rnd = random(20251126);
    const seen = { fast: 0, cedar: 0, allow: 0, forbid: 0, error: 0 };
    for (let i = 0; i < 4000; i++) {
      const req = randomRequest(rnd);
      const expected = cedar.decide(req);
      assert.deepEqual(fast.decide(req), expected, `request ${i}: ${JSON.stringify({ ...req, identity: { ...req.identity, claims: undefined } })}`);
      const direct = fastOnly.decide(req, INTENTS.get(req.intent) ?? []);
      if (direct === undefined) seen.cedar++;
      else {
        seen.fast++;
        assert.deepEqual(direct, expected, `request ${i}: the fast path alone`);
      }
      if (expected.allow) seen.allow++;
      if (expected.reason === 'authz.policy_error') seen.error++;
      if (expected.policyIds.some((id) => !id.includes(':') && !expected.allow)) seen.forbid++;
    }
    // Not vacuous: both paths, and allows, hand-written forbids and errors, all occur.
    assert.ok(seen.fast > 2000, `fast path answered ${seen.fast}`);
    assert.ok(seen.cedar > 200, `Cedar answered ${seen.cedar}`);
    assert.ok(seen.allow > 400 && seen.forbid > 200 && seen.error > 50, JSON.stringify(seen));
  } finally {
    split.dispose();
    fast.dispose();
    cedar.dispose();
  }
});

test('intents with a policy outside the handled subset are left to Cedar; the others are compiled', () => {
  const { catalog } = buildCatalog(INPUT);
  const all = [...generatePolicies(INPUT, catalog), ...parseFiles(INPUT.files).policies];
  const split = new PolicySplit('test-fast-path-subset', all, all.map((p) => analyzePolicy(p.text)), catalog);
  try {
    const fast = new FastPaths(all, split, INPUT.resourceAttributes);
    assert.equal(fast.forIntent('orders:create'), undefined); // like
    assert.equal(fast.forIntent('customers:read'), undefined); // arithmetic
    const read = fast.forIntent('orders:read');
    assert.ok(read !== undefined);
    assert.ok(read.some((p) => p.id === 'own-orders' && p.forbid));
    assert.ok(read.some((p) => p.id === 'grant:customer:orders:read' && !p.forbid));
  } finally {
    split.dispose();
  }
});
