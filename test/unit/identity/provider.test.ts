import { test } from 'node:test';
import assert from 'node:assert/strict';
import { provider as providerSchema } from '../../../src/config/schema-identity.ts';
import { compileProvider, issuerMatcher, normalizeTyp, tenantAgrees } from '../../../src/identity/provider.ts';
import type { CompiledProvider } from '../../../src/identity/provider.ts';
import { UNUSED_KEYS } from './unused-keys.ts';

const ENTRA = 'https://login.microsoftonline.com/{tenantid}/v2.0';
const T1 = '11111111-1111-1111-1111-111111111111';
const T2 = '22222222-2222-2222-2222-222222222222';

const keys = UNUSED_KEYS;

function compile(cfg: Record<string, unknown>): CompiledProvider {
  return compileProvider('p', providerSchema.parse({ audiences: ['api'], ...cfg }), { keys, introspector: undefined });
}

const entra = (): CompiledProvider => compile({ preset: 'entra', issuer: ENTRA, tenants: [T1] });

test('an exact issuer matches only itself', () => {
  const p = compile({ issuer: 'https://idp.example.com/realms/main' });
  assert.equal(p.issuerMatches('https://idp.example.com/realms/main'), true);
  for (const iss of [
    'https://idp.example.com/realms/main/',
    'https://idp.example.com/realms/mai',
    'https://idp.example.com/realms/main/extra',
    'https://IDP.example.com/realms/main',
    'http://idp.example.com/realms/main',
    'https://idp.example.com/realms/other',
    '',
  ]) {
    assert.equal(p.issuerMatches(iss), false, iss);
  }
});

test('a {tenantid} issuer accepts the listed tenants only', () => {
  const p = compile({ preset: 'entra', issuer: ENTRA, tenants: [T1, T2] });
  assert.equal(p.issuerMatches(`https://login.microsoftonline.com/${T1}/v2.0`), true);
  assert.equal(p.issuerMatches(`https://login.microsoftonline.com/${T2}/v2.0`), true);
  assert.equal(p.issuerMatches('https://login.microsoftonline.com/33333333-3333-3333-3333-333333333333/v2.0'), false);
  assert.equal(p.issuerMatches('https://login.microsoftonline.com/common/v2.0'), false);
  assert.equal(p.issuerMatches(ENTRA), false, 'the template itself is not a tenant');
});

test('a {tenantid} issuer refuses extra path, an empty tenant and tenant look-alikes', () => {
  const p = entra();
  for (const iss of [
    `https://login.microsoftonline.com/${T1}/v2.0/extra`,
    `https://login.microsoftonline.com/${T1}/v2.0/`,
    `https://login.microsoftonline.com/${T1}/extra/v2.0`,
    `https://login.microsoftonline.com/extra/${T1}/v2.0`,
    `https://login.microsoftonline.com/${T1}`,
    `https://login.microsoftonline.com/${T1.toUpperCase()}x/v2.0`,
    'https://login.microsoftonline.com//v2.0',
    'https://login.microsoftonline.com/v2.0',
    `https://evil.example.com/${T1}/v2.0`,
    `https://login.microsoftonline.com.evil.example.com/${T1}/v2.0`,
  ]) {
    assert.equal(p.issuerMatches(iss), false, iss);
  }
});

test('issuerMatcher with a template and no tenants accepts nothing', () => {
  const matches = issuerMatcher(ENTRA, undefined);
  assert.equal(matches(`https://login.microsoftonline.com/${T1}/v2.0`), false);
  assert.equal(matches('https://login.microsoftonline.com//v2.0'), false);
  assert.equal(issuerMatcher('https://x.example.com/{tenantid}', ['t'])('https://x.example.com/t'), true);
  assert.equal(issuerMatcher('https://x.example.com/{tenantid}', ['t'])('https://x.example.com/'), false);
});

test('tenantAgrees: the tid claim, when present, must name the issuer\'s tenant', () => {
  const p = entra();
  const iss = `https://login.microsoftonline.com/${T1}/v2.0`;
  assert.equal(tenantAgrees(p, { iss, tid: T1 }), true);
  assert.equal(tenantAgrees(p, { iss }), true);
  assert.equal(tenantAgrees(p, { iss, tid: T2 }), false);
  assert.equal(tenantAgrees(p, { iss, tid: '' }), false);
  assert.equal(tenantAgrees(p, { iss, tid: [T1] }), false);
});

test('tenantAgrees: a provider with an exact issuer has no tenant to disagree with', () => {
  const p = compile({ issuer: 'https://idp.example.com' });
  assert.equal(tenantAgrees(p, { iss: 'https://idp.example.com', tid: 'anything' }), true);
});

test('normalizeTyp: application/at+jwt and at+jwt are the same type, compared without case', () => {
  assert.equal(normalizeTyp('application/at+jwt'), 'at+jwt');
  assert.equal(normalizeTyp('at+jwt'), 'at+jwt');
  assert.equal(normalizeTyp('AT+JWT'), 'at+jwt');
  assert.equal(normalizeTyp('Application/AT+JWT'), 'at+jwt');
  assert.equal(normalizeTyp('JWT'), 'jwt');
  assert.equal(normalizeTyp(''), '');
  assert.notEqual(normalizeTyp('application/jwt'), normalizeTyp('at+jwt'));
  assert.notEqual(normalizeTyp('x-application/at+jwt'), 'at+jwt');
});

test('compileProvider resolves the preset and normalizes the configured token type', () => {
  const kc = compile({ preset: 'keycloak', issuer: 'https://kc.example.com/realms/r' });
  assert.equal(kc.roles.claim, 'realm_access.roles');
  assert.deepEqual(kc.roles.path, ['realm_access', 'roles']);
  assert.deepEqual(kc.algorithms, ['RS256']);
  const generic = compile({ issuer: 'https://idp.example.com', tokenType: 'Application/AT+JWT', algorithms: ['ES256'] });
  assert.equal(generic.tokenType, 'at+jwt');
  assert.deepEqual(generic.algorithms, ['ES256']);
  assert.ok(!generic.algorithms.some((a) => a === 'none' || a.startsWith('HS')));
  assert.ok(Object.isFrozen(generic) && Object.isFrozen(generic.algorithms));
});
