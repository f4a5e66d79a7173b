// The entra preset against Entra ID v2-shaped tokens: one tenant, then the multi-tenant issuer
// (https://login.microsoftonline.com/{tenantid}/v2.0) with a list of accepted tenants.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, importJWK } from 'jose';
import type { JWK } from 'jose';
import type { AuditWho } from '../../../src/audit/event.ts';
import { assertProblem, auditFor, header, send } from '../../helpers/gateway-checks.ts';
import type { Reply } from '../../helpers/gateway-checks.ts';
import { bearer, startIdentityGateway } from '../../helpers/identity.ts';
import type { IdentityGateway } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';

const TENANT_A = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const TENANT_B = 'f8cdef31-a31e-4b4a-93e4-5f571e91255a';
const TENANT_C = '9188040d-6c67-4c5b-b112-36a304b66dad';
const TEST_KEYS = 'keys: { refreshIntervalMs: 60000, unknownKeyRefetchMinIntervalMs: 200, timeoutMs: 2000 }';

async function whoOf(g: IdentityGateway, token: string): Promise<AuditWho> {
  const reply: Reply = await send(`${g.gw.url}/api/orders`, { headers: bearer(token) });
  assert.equal(reply.status, 200, reply.body);
  const event = await auditFor(g.gw, header(reply, 'x-request-id') as string, 'ok');
  assert.ok(event.who);
  return event.who;
}

async function refused(g: IdentityGateway, token: string, code: string): Promise<void> {
  const reply = await send(`${g.gw.url}/api/orders`, { headers: bearer(token) });
  await auditFor(g.gw, assertProblem(reply, 401, code), code);
}

function publicJwk(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

describe('preset: entra, one tenant', () => {
  let idp: TestIdp;
  let g: IdentityGateway;

  before(async () => {
    idp = await startTestIdp({ tokenShape: 'entra', issuerPath: `/${TENANT_A}/v2.0` });
    const lines = ['preset: entra', `issuer: ${idp.issuer}`, 'audiences: [cortex-gateway]', 'roles: { map: { admins: [admin], reports.read: [reports-reader] } }', TEST_KEYS];
    g = await startIdentityGateway(['    entra:', ...lines.map((l) => `      ${l}`)].join('\n'));
  });
  after(async () => {
    await g?.close();
    await idp?.close();
  });

  test('a delegated (user) token is a user with its app roles mapped from roles', async () => {
    const who = await whoOf(g, await idp.tokenFor({ sub: 'alice' }));
    assert.deepEqual([who.kind, who.subject, who.roles], ['user', 'alice', ['admin']]);
  });

  test('an app-only token (idtyp app) is a service named by azp, with its app roles', async () => {
    const who = await whoOf(g, await idp.serviceToken());
    assert.deepEqual([who.kind, who.subject, who.roles], ['service', 'reporting', ['reports-reader']]);
  });

  test('an Entra v2 ID token without a nonce, for the same app registration, is refused', async () => {
    // Crafted with the IdP's key: the IdP issues ID tokens only in its generic shape. An app whose
    // SPA and API share one registration gets ID tokens whose aud is the API's audience; only the
    // absence of azp/appid tells them apart.
    const jwk = idp.privateJwk();
    const now = Math.floor(Date.now() / 1000);
    const idToken = await new SignJWT({
      ver: '2.0', iss: idp.issuer, aud: 'cortex-gateway', sub: 'alice', oid: 'oid-alice', tid: TENANT_A,
      preferred_username: 'alice@example.com', name: 'Alice', roles: ['admins'], iat: now, nbf: now, exp: now + 600, uti: 'u1', rh: 'r1', aio: 'a1',
    })
      .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' })
      .sign(await importJWK(jwk, 'RS256'));
    await refused(g, idToken, 'authn.id_token_rejected');
  });

  test('a token for another API is refused', async () => {
    await refused(g, await idp.tokenFor({ sub: 'alice', audience: 'other-api' }), 'authn.bad_audience');
  });
});

describe('preset: entra, multi-tenant issuer with listed tenants', () => {
  let a: TestIdp;
  let b: TestIdp;
  let g: IdentityGateway;
  let template: string;

  before(async () => {
    a = await startTestIdp({ tokenShape: 'entra', issuerPath: `/${TENANT_A}/v2.0` });
    b = await startTestIdp({ tokenShape: 'entra', issuerPath: `/${TENANT_B}/v2.0` });
    // Entra publishes one key set for every tenant; tenant A's IdP serves both IdPs' keys as that set.
    a.serveJwks(JSON.stringify({ keys: [publicJwk(a.privateJwk()), publicJwk(b.privateJwk())] }));
    template = `${a.url}/{tenantid}/v2.0`;
    const lines = [
      'preset: entra',
      `issuer: ${template}`,
      `tenants: [${TENANT_A}, ${TENANT_B}]`,
      `discoveryUrl: ${a.issuer}/.well-known/openid-configuration`,
      `jwksUri: ${a.issuer}/jwks`,
      'audiences: [cortex-gateway]',
      'roles: { map: { admins: [admin], customers: [customer] } }',
      TEST_KEYS,
    ];
    g = await startIdentityGateway(['    entra:', ...lines.map((l) => `      ${l}`)].join('\n'));
  });
  after(async () => {
    await g?.close();
    await a?.close();
    await b?.close();
  });

  const issuerOf = (tenant: string): string => template.replace('{tenantid}', tenant);

  test('a token from a listed tenant is accepted, with that tenant as its issuer', async () => {
    const who = await whoOf(g, await a.tokenFor({ sub: 'alice', claims: { tid: TENANT_A } }));
    assert.deepEqual([who.kind, who.subject, who.issuer, who.roles], ['user', 'alice', issuerOf(TENANT_A), ['admin']]);
  });

  test('a token from the second listed tenant (its own key, in the shared key set) is accepted', async () => {
    // Real tenants all live on one host; B's IdP is on another port, so its tokens name B's issuer
    // on the shared host explicitly.
    const token = await b.tokenFor({ sub: 'bob', claims: { iss: issuerOf(TENANT_B), tid: TENANT_B } });
    const who = await whoOf(g, token);
    assert.deepEqual([who.kind, who.subject, who.issuer, who.roles], ['user', 'bob', issuerOf(TENANT_B), ['customer']]);
  });

  test('a token from a tenant that is not listed is refused (authn.unknown_issuer)', async () => {
    await refused(g, await a.tokenFor({ sub: 'alice', claims: { iss: issuerOf(TENANT_C), tid: TENANT_C } }), 'authn.unknown_issuer');
  });

  test('a tid that disagrees with the issuer is refused (authn.bad_claims)', async () => {
    await refused(g, await a.tokenFor({ sub: 'alice', claims: { tid: TENANT_B } }), 'authn.bad_claims');
  });

  test("a token from tenant B's own issuer URL (another host) is refused", async () => {
    await refused(g, await b.tokenFor({ sub: 'bob', claims: { tid: TENANT_B } }), 'authn.unknown_issuer');
  });
});
