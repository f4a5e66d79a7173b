// Identities, a demo orders policy input and a decision-table runner for the policy engine tests.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Identity } from '../../../src/gateway/types.ts';
import { fingerprint } from '../../../src/identity/claims-identity.ts';
import { compilePolicies } from '../../../src/policy/engine.ts';
import type { DecisionRequest, PolicyDecision, PolicyEngine, PolicyInput } from '../../../src/policy/engine.ts';

export const ISSUER = 'https://idp.example';

interface Opts {
  issuer?: string;
  provider?: string;
  method?: Identity['method'];
  claims?: Record<string, unknown>;
}

function identity(kind: Identity['kind'], subject: string, roles: string[], opts: Opts, onBehalfOf?: Identity): Identity {
  const issuer = opts.issuer ?? ISSUER;
  const method = opts.method ?? 'jwt';
  return {
    subject,
    issuer,
    provider: opts.provider ?? 'corp',
    kind,
    onBehalfOf,
    method,
    roles,
    claims: opts.claims ?? {},
    fingerprint: fingerprint(issuer, subject, onBehalfOf?.subject ?? '', method),
  };
}

export const person = (subject: string, roles: string[], opts: Opts = {}): Identity => identity('user', subject, roles, opts);
export const service = (clientId: string, roles: string[], opts: Opts = {}): Identity => identity('service', clientId, roles, opts);
export const agent = (clientId: string, roles: string[], forPerson?: Identity, opts: Opts = {}): Identity =>
  identity('agent', clientId, roles, opts, forPerson);

/** The demo orders API: intents with their tags. */
export const INTENTS: ReadonlyMap<string, readonly string[]> = new Map([
  ['orders:read', []],
  ['orders:list', []],
  ['orders:create', []],
  ['orders:delete', ['destructive']],
  ['customers:read', ['pii']],
  ['customers:export', ['pii', 'destructive']],
  ['admin:config:write', ['admin']],
  ['health:read', []],
]);

export const GRANTS: Readonly<Record<string, readonly string[]>> = {
  admin: ['*'],
  support: ['orders:read', 'orders:list', 'customers:*'],
  customer: ['orders:read', 'orders:create'],
  reporting: ['orders:list', 'customers:read'],
  assistant: ['orders:*', 'customers:read'],
};

export function compileOk(t: TestContext, input: Partial<PolicyInput> = {}): PolicyEngine {
  const result = compilePolicies({ grants: GRANTS, intents: INTENTS, agentForbidTags: ['destructive'], files: [], ...input });
  if (!result.ok) assert.fail(`compile failed:\n${result.problems.join('\n')}`);
  t.after(() => result.engine.dispose());
  return result.engine;
}

export function compileProblems(input: Partial<PolicyInput>): string[] {
  const result = compilePolicies({ grants: GRANTS, intents: INTENTS, agentForbidTags: ['destructive'], files: [], ...input });
  if (result.ok) {
    result.engine.dispose();
    return assert.fail('expected the compile to fail');
  }
  return result.problems;
}

export function request(who: Identity, intent: string, extra: Partial<DecisionRequest> = {}): DecisionRequest {
  return {
    identity: who,
    intent,
    routeId: intent.split(':')[0] ?? intent,
    tags: INTENTS.get(intent) ?? [],
    params: {},
    stage: 'dev',
    clientIp: '10.0.0.7',
    nowMs: Date.UTC(2025, 0, 6, 10, 0),
    ...extra,
  };
}

/** A row: who, intent, expected allow, and (when given) the expected deciding policy ids. */
export type Row = readonly [label: string, who: Identity, intent: string, allow: boolean, ids?: readonly string[]];

export function assertTable(engine: PolicyEngine, rows: readonly Row[], extra: Partial<DecisionRequest> = {}): void {
  for (const [label, who, intent, allow, ids] of rows) {
    const d: PolicyDecision = engine.decide(request(who, intent, extra));
    assert.deepEqual(d.errors, [], `${label} ${intent}: no evaluation errors`);
    assert.equal(d.allow, allow, `${label} ${intent}: expected ${allow ? 'allow' : 'deny'}, got ${JSON.stringify(d)}`);
    assert.equal(d.reason, allow ? 'ok' : 'authz.denied', `${label} ${intent}: reason`);
    if (ids) assert.deepEqual([...d.policyIds].sort(), [...ids].sort(), `${label} ${intent}: deciding policies`);
  }
}
