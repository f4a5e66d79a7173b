import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyResult } from 'jose';
import type { TokenShape } from '../../../src/dev/idp/index.ts';
import { startTestIdp, type TestIdp } from '../../helpers/idp.ts';

async function verify(idp: TestIdp, token: string): Promise<JWTVerifyResult> {
  return jwtVerify(token, createRemoteJWKSet(new URL(`${idp.issuer}/jwks`)), { issuer: idp.issuer });
}

async function tokens(shape: TokenShape) {
  const idp = await startTestIdp({ tokenShape: shape });
  try {
    return {
      user: await verify(idp, await idp.tokenFor({ sub: 'alice' })),
      service: await verify(idp, await idp.serviceToken()),
    };
  } finally {
    await idp.close();
  }
}

test('okta: no typ, cid, uid, scp array, groups', async () => {
  const { user, service } = await tokens('okta');
  assert.equal(user.protectedHeader.typ, undefined);
  assert.equal(user.payload.cid, 'cortex-cli');
  assert.equal(user.payload.uid, '00ualice');
  assert.ok(Array.isArray(user.payload.scp));
  assert.deepEqual(user.payload.groups, ['admins']);
  assert.equal(service.payload.sub, 'reporting');
  assert.equal(service.payload.uid, undefined);
});

test('cognito: no aud, client_id, token_use, cognito:groups, username', async () => {
  const { user, service } = await tokens('cognito');
  assert.equal('aud' in user.payload, false);
  assert.equal(user.payload.client_id, 'cortex-cli');
  assert.equal(user.payload.token_use, 'access');
  assert.deepEqual(user.payload['cognito:groups'], ['admins']);
  assert.equal(user.payload.username, 'alice');
  assert.equal(typeof user.payload.scope, 'string');
  assert.equal('aud' in service.payload, false);
  assert.equal(service.payload.username, undefined);
});

test('entra: typ JWT, roles, tid, oid, azp, ver 2.0, idtyp app on app-only tokens', async () => {
  const { user, service } = await tokens('entra');
  assert.equal(user.protectedHeader.typ, 'JWT');
  assert.deepEqual(user.payload.roles, ['admins']);
  assert.equal(user.payload.ver, '2.0');
  assert.equal(user.payload.azp, 'cortex-cli');
  assert.equal(typeof user.payload.tid, 'string');
  assert.equal(typeof user.payload.oid, 'string');
  assert.equal(user.payload.idtyp, undefined);
  assert.equal(service.payload.idtyp, 'app');
  assert.deepEqual(service.payload.roles, ['reports.read']);
  assert.equal(service.payload.sub, service.payload.oid);
});

test('auth0: permissions, and gty client-credentials with sub <client>@clients', async () => {
  const { user, service } = await tokens('auth0');
  assert.deepEqual(user.payload.permissions, ['admins']);
  assert.equal(user.payload.azp, 'cortex-cli');
  assert.equal(service.payload.sub, 'reporting@clients');
  assert.equal(service.payload.gty, 'client-credentials');
});

test('keycloak: realm_access.roles, azp, typ Bearer, preferred_username', async () => {
  const { user, service } = await tokens('keycloak');
  assert.equal(user.protectedHeader.typ, 'JWT');
  assert.deepEqual(user.payload.realm_access, { roles: ['admins'] });
  assert.equal(user.payload.azp, 'cortex-cli');
  assert.equal(user.payload.typ, 'Bearer');
  assert.equal(user.payload.preferred_username, 'alice');
  assert.equal(service.payload.preferred_username, 'service-account-reporting');
});
