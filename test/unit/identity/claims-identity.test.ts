import { test } from 'node:test';
import assert from 'node:assert/strict';
import { provider as providerSchema } from '../../../src/config/schema-identity.ts';
import { ANONYMOUS, fingerprint, identityFromClaims } from '../../../src/identity/claims-identity.ts';
import { compileProvider } from '../../../src/identity/provider.ts';
import type { CompiledProvider } from '../../../src/identity/provider.ts';
import { UNUSED_KEYS } from './unused-keys.ts';
import type { Identity } from '../../../src/gateway/types.ts';

const ISS = 'https://idp.example.com';

const keys = UNUSED_KEYS;

function compile(cfg: Record<string, unknown> = {}): CompiledProvider {
  return compileProvider('corp', providerSchema.parse({ issuer: ISS, audiences: ['api'], ...cfg }), { keys, introspector: undefined });
}

function identity(p: CompiledProvider, claims: Record<string, unknown>, keyId: string | undefined = 'k1'): Identity {
  const result = identityFromClaims(p, { iss: ISS, exp: 2_000_000_000, ...claims }, 'jwt', keyId);
  assert.ok('subject' in result, `expected an identity, got ${JSON.stringify(result)}`);
  return result;
}

function failure(p: CompiledProvider, claims: Record<string, unknown>): string {
  const result = identityFromClaims(p, { iss: ISS, ...claims }, 'jwt', undefined);
  assert.ok(!('subject' in result), `expected a failure, got ${JSON.stringify(result)}`);
  return result.code;
}

const kindOf = (id: Identity): [string, string] => [id.kind, id.subject];

test('a person\'s token is a user, with provider, method, key id and expiry recorded', () => {
  const id = identity(compile(), { sub: 'alice', client_id: 'web', groups: [] });
  assert.deepEqual(kindOf(id), ['user', 'alice']);
  assert.equal(id.provider, 'corp');
  assert.equal(id.issuer, ISS);
  assert.equal(id.method, 'jwt');
  assert.equal(id.keyId, 'k1');
  assert.equal(id.expiresAt, 2_000_000_000);
  assert.equal(id.onBehalfOf, undefined);
  assert.ok(Object.isFrozen(id) && Object.isFrozen(id.roles));
});

test('each preset tells a service token from a user token its own way', () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>, string][] = [
    ['generic', { sub: 'billing', client_id: 'billing' }, { sub: 'alice', client_id: 'billing' }, 'billing'],
    ['okta', { sub: '0oa1', cid: '0oa1' }, { sub: 'alice@example.com', cid: '0oa1', uid: '00u1' }, '0oa1'],
    ['cognito', { sub: 'c1', client_id: 'c1', token_use: 'access' }, { sub: 'u-uuid', client_id: 'c1', username: 'alice', token_use: 'access' }, 'c1'],
    ['entra', { sub: 'oid-app', azp: 'app-1', idtyp: 'app' }, { sub: 'oid-alice', azp: 'app-1', idtyp: 'user' }, 'app-1'],
    ['auth0', { sub: 'm2m@clients', azp: 'm2m', gty: 'client-credentials' }, { sub: 'auth0|alice', azp: 'm2m' }, 'm2m'],
    ['keycloak', { sub: 'sa-uuid', azp: 'reports', preferred_username: 'service-account-reports' }, { sub: 'u-uuid', azp: 'reports', preferred_username: 'alice' }, 'reports'],
  ];
  for (const [preset, service, user, client] of cases) {
    const p = compile({ preset });
    assert.deepEqual(kindOf(identity(p, service)), ['service', client], `${preset} service token`);
    assert.deepEqual(kindOf(identity(p, user)), ['user', user.sub], `${preset} user token`);
  }
});

test('a service gets the roles listed for it beside its mapped claim values', () => {
  const p = compile({ services: { billing: { roles: ['payer'] } }, roles: { map: { ops: ['operator'] } } });
  assert.deepEqual(identity(p, { sub: 'billing', client_id: 'billing', groups: ['ops'] }).roles, ['operator', 'payer']);
});

test('a service token that names neither a subject nor a client is refused', () => {
  assert.equal(failure(compile({ preset: 'cognito' }), { token_use: 'access' }), 'authn.bad_claims');
  assert.equal(failure(compile(), { groups: [] }), 'authn.bad_claims');
});

test('an act claim makes an agent acting for the person in sub, with only the agent\'s own roles', () => {
  const p = compile({ agents: { assistant: { roles: ['reader', 'agent'] } }, roles: { map: { admins: ['admin'] } } });
  const id = identity(p, { sub: 'alice', client_id: 'assistant', act: { sub: 'assistant' }, groups: ['admins'] });
  assert.deepEqual(kindOf(id), ['agent', 'assistant']);
  assert.deepEqual(id.roles, ['agent', 'reader']);
  assert.ok(id.onBehalfOf);
  assert.deepEqual(kindOf(id.onBehalfOf), ['user', 'alice']);
  assert.deepEqual(id.onBehalfOf.roles, ['admin']);
  assert.equal(id.onBehalfOf.fingerprint, identity(p, { sub: 'alice', client_id: 'web', groups: ['admins'] }).fingerprint);
});

test('an act claim names the agent even when the agent is not listed (it then holds no roles of its own)', () => {
  const id = identity(compile(), { sub: 'alice', client_id: 'web', act: { sub: 'copilot' }, groups: ['g'] });
  assert.deepEqual(kindOf(id), ['agent', 'copilot']);
  assert.deepEqual(id.roles, []);
  assert.equal(id.onBehalfOf?.subject, 'alice');
});

test('a token issued to a listed agent client for a user is that agent acting for the user', () => {
  const p = compile({ agents: { assistant: { roles: ['agent'] } } });
  const id = identity(p, { sub: 'alice', client_id: 'assistant', groups: ['g'] });
  assert.deepEqual(kindOf(id), ['agent', 'assistant']);
  assert.deepEqual(id.roles, ['agent']);
  assert.deepEqual(id.onBehalfOf && kindOf(id.onBehalfOf), ['user', 'alice']);
});

test('an agent\'s own client-credentials token acts for no one and keeps its mapped claim values', () => {
  const p = compile({ agents: { assistant: { roles: ['agent'] } }, roles: { map: { batch: ['batch-runner'] } } });
  const id = identity(p, { sub: 'assistant', client_id: 'assistant', groups: ['batch'] });
  assert.deepEqual(kindOf(id), ['agent', 'assistant']);
  assert.equal(id.onBehalfOf, undefined);
  assert.deepEqual(id.roles, ['agent', 'batch-runner']);
  assert.notEqual(id.fingerprint, identity(p, { sub: 'alice', client_id: 'assistant' }).fingerprint);
});

test('roles: mapped values become Cortex roles, sorted and deduplicated; unmapped ones are dropped', () => {
  const p = compile({ roles: { map: { admins: ['admin', 'reader'], staff: ['reader'], nobody: [] } } });
  assert.deepEqual(identity(p, { sub: 'alice', groups: ['staff', 'admins', 'others', 'nobody'] }).roles, ['admin', 'reader']);
  assert.deepEqual(identity(p, { sub: 'alice' }).roles, []);
  assert.deepEqual(identity(p, { sub: 'alice', groups: null }).roles, []);
});

test('roles: keepUnmapped keeps values the map lists no entry for', () => {
  const p = compile({ roles: { map: { admins: ['admin'] }, keepUnmapped: true } });
  assert.deepEqual(identity(p, { sub: 'alice', groups: ['admins', 'ops'] }).roles, ['admin', 'ops']);
});

test('roles: a space-separated string (scope) counts as a list', () => {
  const p = compile({ roles: { claim: 'scope', map: { 'orders:read': ['reader'], 'orders:write': ['writer'] } } });
  assert.deepEqual(identity(p, { sub: 'alice', scope: ' orders:read  orders:write openid ' }).roles, ['reader', 'writer']);
  assert.deepEqual(identity(compile({ preset: 'okta', roles: { claim: 'scp', keepUnmapped: true } }), { sub: 'a', cid: 'c', scp: ['x', 'y'] }).roles, ['x', 'y']);
});

test('roles: a dotted path reaches into objects (keycloak realm_access.roles)', () => {
  const p = compile({ preset: 'keycloak', roles: { keepUnmapped: true } });
  assert.equal(p.roles.claim, 'realm_access.roles');
  assert.deepEqual(identity(p, { sub: 'u', azp: 'web', realm_access: { roles: ['b', 'a'] } }).roles, ['a', 'b']);
  assert.deepEqual(identity(p, { sub: 'u', azp: 'web', realm_access: ['roles'] }).roles, []);
  assert.deepEqual(identity(p, { sub: 'u', azp: 'web' }).roles, []);
});

test('roles: a claim whose name itself contains dots or colons is read whole', () => {
  const cognito = compile({ preset: 'cognito', roles: { keepUnmapped: true } });
  assert.deepEqual(identity(cognito, { sub: 'u', client_id: 'c', username: 'u', 'cognito:groups': ['g1'] }).roles, ['g1']);
  const ns = compile({ roles: { claim: 'https://example.com/roles', map: { boss: ['admin'] } } });
  assert.deepEqual(identity(ns, { sub: 'u', 'https://example.com/roles': ['boss'] }).roles, ['admin']);
  assert.deepEqual(identity(ns, { sub: 'u', 'https://example': { 'com/roles': ['boss'] } }).roles, ['admin']);
});

test('roles: inherited properties are never read as claims', () => {
  for (const claim of ['toString', 'constructor.name', '__proto__']) {
    assert.deepEqual(identity(compile({ roles: { claim, keepUnmapped: true } }), { sub: 'alice' }).roles, [], claim);
  }
});

test('roles: a claim of the wrong type is authn.bad_claims, never coerced', () => {
  const p = compile({ roles: { keepUnmapped: true } });
  for (const groups of [42, true, { admin: true }, ['ok', 1], [['nested']], [null]]) {
    assert.equal(failure(p, { sub: 'alice', groups }), 'authn.bad_claims', JSON.stringify(groups));
  }
  assert.equal(failure(compile({ preset: 'keycloak' }), { sub: 'u', azp: 'web', realm_access: { roles: 5 } }), 'authn.bad_claims');
});

test('a user token without a subject is refused', () => {
  assert.equal(failure(compile({ preset: 'cognito' }), { client_id: 'c', username: 'alice', token_use: 'access' }), 'authn.bad_claims');
});

test('the fingerprint ignores the signing key and tells apart issuer, subject, delegation and method', () => {
  const p = compile({ agents: { assistant: { roles: [] } } });
  const base = identity(p, { sub: 'alice' }, 'k1');
  assert.equal(identity(p, { sub: 'alice' }, 'k2').fingerprint, base.fingerprint);
  assert.equal(identity(p, { sub: 'alice' }, undefined).fingerprint, base.fingerprint);
  assert.equal(base.fingerprint, fingerprint(ISS, 'alice', '', 'jwt'));
  const others = [
    fingerprint('https://other.example.com', 'alice', '', 'jwt'),
    identity(p, { sub: 'bob' }).fingerprint,
    identity(p, { sub: 'alice', client_id: 'assistant' }).fingerprint,
    identity(p, { sub: 'bob', client_id: 'assistant' }).fingerprint,
    fingerprint(ISS, 'alice', '', 'introspection'),
  ];
  assert.equal(new Set([base.fingerprint, ...others]).size, others.length + 1);
  const introspected = identityFromClaims(p, { iss: ISS, sub: 'alice' }, 'introspection', undefined);
  assert.ok('subject' in introspected);
  assert.equal(introspected.fingerprint, others[4]);
});

test('the fingerprint cannot be forged by a subject containing the separator', () => {
  // Fingerprints key identity-aware caches: a caller whose sub spells an agent and a person must not
  // share one with that agent acting for a person. sub may be any non-empty string.
  const p = compile();
  const single = identity(p, { sub: 'assistant\nalice' });
  const delegated = identity(p, { sub: 'alice\n', act: { sub: 'assistant' } });
  assert.deepEqual([single.kind, delegated.kind], ['user', 'agent']);
  assert.notEqual(single.fingerprint, delegated.fingerprint);
});

test('ANONYMOUS is frozen through and through', () => {
  assert.equal(ANONYMOUS.kind, 'anonymous');
  assert.ok(Object.isFrozen(ANONYMOUS) && Object.isFrozen(ANONYMOUS.roles) && Object.isFrozen(ANONYMOUS.claims));
  assert.throws(() => {
    (ANONYMOUS.roles as string[]).push('admin');
  }, TypeError);
  assert.throws(() => {
    (ANONYMOUS as { subject: string }).subject = 'admin';
  }, TypeError);
  assert.equal(ANONYMOUS.fingerprint, fingerprint('cortex', 'anonymous', '', 'none'));
});
