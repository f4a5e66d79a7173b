// The shared explain logic on configs loaded from text: identities from claims (agents included),
// deny reasons, the roles that hold an intent, shadow mode, no policy, and the admin body's shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInput } from '../../../src/admin/explain.ts';
import { compileWorld } from '../../../src/cli/explain.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { devConfigText } from '../../../src/dev/config.ts';
import { explain, formatExplanation, holders } from '../../../src/policy/explain.ts';
import type { Explanation, ExplainRequest, ExplainWorld } from '../../../src/policy/explain.ts';

const ISS = 'http://127.0.0.1:9902';

function world(text: string): ExplainWorld {
  const loaded = loadConfig({ file: 'test.yaml', text, env: {} });
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors));
  const problems: string[] = [];
  const w = compileWorld(loaded.config, loaded.stage, problems);
  assert.deepEqual(problems, []);
  assert.ok(w);
  return w;
}

function run(w: ExplainWorld, req: ExplainRequest): Explanation {
  const r = explain(w, req);
  assert.ok(r.ok, !r.ok ? r.problem : '');
  return r.explanation;
}

const DEV = world(devConfigText());

test('an agent acting for alice may not delete: its own grants lack the intent, and the person is shown', () => {
  const e = run(DEV, { who: { claims: { iss: ISS, sub: 'alice', act: { sub: 'assistant' }, groups: ['admins'] } }, method: 'DELETE', path: '/orders/o1' });
  assert.equal(e.decision, 'deny');
  assert.equal(e.identity?.kind, 'agent');
  assert.deepEqual(e.identity?.roles, ['agent']);
  assert.deepEqual(e.identity?.actingFor, { subject: 'alice', roles: ['admin'] });
  assert.deepEqual(e.heldBy, ['admin']);
  assert.match(formatExplanation(e), /who: assistant \(agent\) via jwt, roles agent, acting for alice \(roles admin\)/);
});

test('the same agent reads for bob, by the agent grant limited to what bob holds', () => {
  const e = run(DEV, { who: { claims: { iss: ISS, sub: 'bob', act: { sub: 'assistant' }, groups: ['customers'] } }, method: 'GET', path: '/orders/o1' });
  assert.equal(e.decision, 'allow');
  assert.equal(e.policies.length, 1);
  assert.match(e.policies[0] as string, /^agent:agent:orders:read&person:/);
});

test('claims from an issuer no provider has, and a token that is not a JWT, are problems, not decisions', () => {
  const r = explain(DEV, { who: { claims: { iss: 'https://elsewhere', sub: 'x' } }, method: 'GET', path: '/orders' });
  assert.deepEqual(r, { ok: false, problem: 'no provider in identity.providers has the issuer https://elsewhere' });
  const t = explain(DEV, { who: { token: 'not-a-jwt' }, method: 'GET', path: '/orders' });
  assert.equal(t.ok, false);
});

test('a value of the roles claim that maps to nothing is shown as such', () => {
  const e = run(DEV, { who: { claims: { iss: ISS, sub: 'dan', groups: ['interns'] } }, method: 'GET', path: '/orders' });
  assert.equal(e.decision, 'deny');
  assert.deepEqual(e.identity?.mapping, { claim: 'groups', values: [{ value: 'interns', roles: [] }] });
  assert.deepEqual(e.heldBy, ['admin', 'agent', 'customer', 'reporting', 'support']);
});

const SMALL = (policy: string) =>
  [
    'version: 1',
    'identity:',
    '  providers:',
    `    dev: { issuer: "${ISS}", audiences: [gw], roles: { claim: groups, map: { customers: [customer] } } }`,
    'upstreams: { up: { url: "http://127.0.0.1:1" } }',
    'routes:',
    '  remove: { match: { methods: [DELETE], path: "/orders/{id}" }, upstream: up, intent: "orders:delete", policyMode: shadow }',
    '  nameless: { match: { path: /nameless }, upstream: up }',
    policy,
  ].join('\n');

test('shadow mode: the deny is explained and said to go through', () => {
  const e = run(world(SMALL('policy: { grants: { customer: ["orders:read"] } }')), { who: { as: 'bob' }, method: 'DELETE', path: '/orders/1' });
  assert.equal(e.decision, 'deny');
  assert.equal(e.mode, 'shadow');
  assert.deepEqual(e.heldBy, []);
  assert.match(formatExplanation(e), /held by: no role in this stage/);
  assert.ok(e.notes.some((n) => n.startsWith('shadow mode')));
});

test('a route without an intent under a policy is authz.no_intent; without a policy every caller is let through', () => {
  const closed = run(world(SMALL('policy: { grants: { customer: ["orders:read"] } }')), { who: { as: 'bob' }, method: 'GET', path: '/nameless' });
  assert.equal(closed.reason, 'authz.no_intent');
  const open = run(world(SMALL('')), { who: { as: 'bob' }, method: 'DELETE', path: '/orders/1' });
  assert.deepEqual([open.decision, open.reason], ['allow', 'no_policy']);
});

test('holders follow grant wildcards', () => {
  assert.deepEqual(holders({ a: ['orders:*'], b: ['*'], c: ['orders:read'], d: ['invoices:*'] }, 'orders:delete'), ['a', 'b']);
});

test('the admin body: one identity, a method and a path', () => {
  assert.deepEqual(parseInput({ as: 'bob', method: 'GET', path: '/x', stage: 'prod' }), { who: { as: 'bob' }, method: 'GET', path: '/x', stage: 'prod' });
  const problem = (body: unknown): string => {
    const r = parseInput(body);
    assert.equal(typeof r, 'string');
    return r as string;
  };
  assert.match(problem({ as: 'bob', token: 't', method: 'GET', path: '/x' }), /exactly one/);
  assert.match(problem({ claims: [], method: 'GET', path: '/x' }), /JSON object/);
  assert.match(problem({ as: 'bob', method: 'GET /x', path: '/x' }), /HTTP method/);
  assert.match(problem({ as: 'bob', method: 'GET', path: '/x', extra: 1 }), /Unknown field "extra"/);
});
