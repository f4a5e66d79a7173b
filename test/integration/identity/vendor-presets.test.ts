// Each vendor preset against tokens in that vendor's real shape (the test IdP's tokenShape), with
// only what a user would configure: issuer, audiences and a role mapping. Per vendor: a user token,
// a client-credentials token, the vendor's ID token, and a token meant for another API.
// The IdP issues ID tokens in its own (generic) shape only, so each vendor's ID token is crafted
// here with the IdP's own signing key: it verifies, and only its shape can get it refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, importJWK } from 'jose';
import type { AuditWho } from '../../../src/audit/event.ts';
import type { TokenShape } from '../../../src/dev/idp/index.ts';
import { assertProblem, auditFor, header, send } from '../../helpers/gateway-checks.ts';
import type { Reply } from '../../helpers/gateway-checks.ts';
import { bearer, startIdentityGateway } from '../../helpers/identity.ts';
import type { IdentityGateway } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';

const TEST_KEYS = 'keys: { refreshIntervalMs: 60000, unknownKeyRefetchMinIntervalMs: 200, timeoutMs: 2000 }';
const ROLE_MAP = 'roles: { map: { admins: [admin], reports.read: [reports-reader] } }';

/** A token signed with the IdP's current key, so that signature and issuer verify. */
async function craft(idp: TestIdp, head: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const jwk = idp.privateJwk();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: idp.issuer, iat: now, exp: now + 600, ...payload })
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, ...head })
    .sign(await importJWK(jwk, 'RS256'));
}

interface Vendor {
  shape: TokenShape;
  /** Provider YAML lines besides preset, issuer and test key intervals. */
  config: string[];
  userRoles: string[];
  serviceRoles: string[];
  /** What the vendor's own ID token for alice looks like, signed by the IdP. */
  idToken(idp: TestIdp): Promise<string>;
  /** A real token this gateway must refuse because it was issued for another API (or app client). */
  otherAudience(idp: TestIdp): Promise<string>;
}

const forOtherApi = (idp: TestIdp): Promise<string> => idp.tokenFor({ sub: 'alice', audience: 'other-api' });

const VENDORS: Vendor[] = [
  {
    shape: 'okta',
    config: ['audiences: [cortex-gateway]', ROLE_MAP],
    userRoles: ['admin'],
    serviceRoles: [],
    // Okta ID tokens: jti "ID.…", no cid, aud = the app's client id (here the API's audience too).
    idToken: (idp) =>
      craft(idp, {}, { ver: 1, jti: 'ID.abc', sub: '00ualice', aud: 'cortex-gateway', amr: ['pwd'], idp: '00oidp', auth_time: 1, email: 'alice@example.com' }),
    otherAudience: forOtherApi,
  },
  {
    shape: 'cognito',
    // Cognito access tokens have no aud: the audiences are app client ids, checked against client_id.
    config: ['audiences: [cortex-cli, reporting]', ROLE_MAP],
    userRoles: ['admin'],
    serviceRoles: [],
    idToken: (idp) =>
      craft(idp, {}, { sub: 'alice', aud: 'cortex-cli', token_use: 'id', 'cognito:username': 'alice', 'cognito:groups': ['admins'], email: 'alice@example.com', auth_time: 1 }),
    // A client-credentials token of an app client that is not listed.
    otherAudience: (idp) => idp.serviceToken({ clientId: 'assistant' }),
  },
  {
    shape: 'auth0',
    config: ['audiences: [cortex-gateway]', ROLE_MAP],
    userRoles: ['admin'],
    serviceRoles: ['reports-reader'],
    // Auth0 ID tokens: profile claims, aud = client id, a nonce only when the login sent one (none here).
    idToken: (idp) => craft(idp, { typ: 'JWT' }, { sub: 'auth0|alice', aud: 'cortex-gateway', sid: 's1', name: 'Alice', nickname: 'alice', email: 'alice@example.com' }),
    otherAudience: forOtherApi,
  },
  {
    shape: 'keycloak',
    config: ['audiences: [cortex-gateway]', ROLE_MAP],
    userRoles: ['admin'],
    serviceRoles: ['reports-reader'],
    // Keycloak ID tokens say typ "ID" in the payload; azp is the client that logged in.
    idToken: (idp) => craft(idp, { typ: 'JWT' }, { typ: 'ID', sub: 'alice', aud: 'cortex-gateway', azp: 'cortex-web', sid: 's1', preferred_username: 'alice', realm_access: { roles: ['admins'] } }),
    otherAudience: forOtherApi,
  },
  {
    shape: 'generic',
    config: ['audiences: [cortex-gateway]', ROLE_MAP],
    userRoles: ['admin'],
    serviceRoles: [],
    // A generic ID token is known by the claims only ID tokens carry (nonce, at_hash).
    idToken: (idp) => craft(idp, {}, { sub: 'alice', aud: 'cortex-gateway', nonce: 'n-0S6_WzA2Mj', at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q', groups: ['admins'] }),
    otherAudience: forOtherApi,
  },
];

async function whoOf(g: IdentityGateway, reply: Reply): Promise<AuditWho> {
  assert.equal(reply.status, 200, reply.body);
  const event = await auditFor(g.gw, header(reply, 'x-request-id') as string, 'ok');
  assert.ok(event.who, 'an authenticated request has an audit who');
  return event.who;
}

async function refused(g: IdentityGateway, token: string, code: string): Promise<void> {
  const reply = await send(`${g.gw.url}/api/orders`, { headers: bearer(token) });
  await auditFor(g.gw, assertProblem(reply, 401, code), code);
}

for (const v of VENDORS) {
  describe(`preset: ${v.shape}`, () => {
    let idp: TestIdp;
    let g: IdentityGateway;

    before(async () => {
      idp = await startTestIdp({ tokenShape: v.shape });
      const lines = [`preset: ${v.shape}`, `issuer: ${idp.issuer}`, ...v.config, TEST_KEYS];
      g = await startIdentityGateway([`    ${v.shape}:`, ...lines.map((l) => `      ${l}`)].join('\n'));
    });
    after(async () => {
      await g?.close();
      await idp?.close();
    });

    test(`a ${v.shape} user token is a user, with roles mapped from the vendor's claim`, async () => {
      const who = await whoOf(g, await send(`${g.gw.url}/api/orders`, { headers: bearer(await idp.tokenFor({ sub: 'alice' })) }));
      assert.equal(who.kind, 'user');
      assert.equal(who.provider, v.shape);
      assert.equal(who.issuer, idp.issuer);
      assert.deepEqual(who.roles, v.userRoles);
      assert.ok(who.subject.includes('alice'), `subject ${who.subject}`);
    });

    test(`a ${v.shape} client-credentials token is a service`, async () => {
      const who = await whoOf(g, await send(`${g.gw.url}/api/orders`, { headers: bearer(await idp.serviceToken()) }));
      assert.equal(who.kind, 'service');
      assert.equal(who.subject, 'reporting');
      assert.deepEqual(who.roles, v.serviceRoles);
    });

    test(`a ${v.shape}-shaped ID token is refused as an access token (authn.id_token_rejected)`, async () => {
      await refused(g, await v.idToken(idp), 'authn.id_token_rejected');
    });

    test(`a ${v.shape} token issued for another API is refused (authn.bad_audience)`, async () => {
      await refused(g, await v.otherAudience(idp), 'authn.bad_audience');
      assert.equal(g.upstream.requests.length, 2, 'only the user and the service token reached the upstream');
    });
  });
}
