// The google preset: opaque access tokens checked with Google's token-info endpoint (a stand-in
// server here), and Google-signed ID tokens accepted only as workload identities (service
// accounts) on routes that opt in with bearer.acceptIdTokens.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, importJWK } from 'jose';
import type { AuditWho } from '../../../src/audit/event.ts';
import { assertProblem, auditFor, header, send } from '../../helpers/gateway-checks.ts';
import { bearer, startIdentityGateway } from '../../helpers/identity.ts';
import type { IdentityGateway } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';

const GOOGLE = 'https://accounts.google.com';
const WEB_CLIENT = '1234-web.apps.googleusercontent.com';
const WORKLOAD_AUDIENCE = 'https://orders.internal.example';
const SA_EMAIL = 'reporting@acme-prod.iam.gserviceaccount.com';

/** Google's token-info answers: 200 with string-typed numbers for a live token, 400 for anything else. */
const TOKEN_INFO: Record<string, Record<string, string>> = {
  'ya29.a0AfB_alice': { sub: '110169484474386276334', email: 'alice@example.com', email_verified: 'true', scope: 'openid https://www.googleapis.com/auth/userinfo.email' },
  // Service-account tokens (metadata server, IAM) look like ya29.c.<…>.<…>: two dots, yet opaque.
  'ya29.c.b0Aa_reporting': { sub: '104455667788990011223', email: SA_EMAIL, email_verified: 'true', scope: 'https://www.googleapis.com/auth/cloud-platform' },
  'ya29.a0AfB_otherapp': { sub: '110169484474386276334', email: 'alice@example.com', scope: 'openid', aud: '9999-other.apps.googleusercontent.com' },
};

function startTokenInfo(): Promise<Server> {
  const server = createServer((req, res) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const info = TOKEN_INFO[token];
    req.resume();
    if (req.url !== '/tokeninfo' || info === undefined) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_token","error_description":"Invalid Value"}');
      return;
    }
    const exp = Math.floor(Date.now() / 1000) + 3000;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ azp: WEB_CLIENT, aud: WEB_CLIENT, exp: String(exp), expires_in: '3000', access_type: 'online', ...info }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('preset: google', () => {
  let idp: TestIdp;
  let tokenInfo: Server;
  let g: IdentityGateway;

  before(async () => {
    idp = await startTestIdp();
    tokenInfo = await startTokenInfo();
    const port = (tokenInfo.address() as AddressInfo).port;
    const provider = [
      '    google:',
      '      preset: google',
      `      issuer: ${GOOGLE}`,
      // Google's keys are not reachable here: the test IdP's key set stands in for them.
      `      discoveryUrl: ${idp.issuer}/.well-known/openid-configuration`,
      `      jwksUri: ${idp.issuer}/jwks`,
      `      audiences: [${WEB_CLIENT}]`,
      `      idTokenAudiences: [${WORKLOAD_AUDIENCE}]`,
      `      introspection: { endpoint: "http://127.0.0.1:${port}/tokeninfo" }`,
      '      roles:',
      '        map:',
      '          https://www.googleapis.com/auth/userinfo.email: [reader]',
      '          https://www.googleapis.com/auth/cloud-platform: [platform]',
      '      keys: { refreshIntervalMs: 60000, unknownKeyRefetchMinIntervalMs: 200, timeoutMs: 2000 }',
    ].join('\n');
    const routes = ['  internal: { match: { prefix: /internal/ }, upstream: up, bearer: { acceptIdTokens: true } }', '  api: { match: { prefix: /api/ }, upstream: up }'].join('\n');
    g = await startIdentityGateway(provider, routes);
  });
  after(async () => {
    await g?.close();
    await idp?.close();
    tokenInfo?.closeAllConnections();
    tokenInfo?.close();
  });

  async function who(path: string, token: string): Promise<AuditWho> {
    const reply = await send(`${g.gw.url}${path}`, { headers: bearer(token) });
    assert.equal(reply.status, 200, reply.body);
    const event = await auditFor(g.gw, header(reply, 'x-request-id') as string, 'ok');
    assert.ok(event.who);
    return event.who;
  }

  async function refused(path: string, token: string, code: string): Promise<void> {
    const reply = await send(`${g.gw.url}${path}`, { headers: bearer(token) });
    await auditFor(g.gw, assertProblem(reply, 401, code), code);
  }

  /** A Google-shaped ID token (what a service account gets from the metadata server), signed with the IdP's key. */
  async function googleIdToken(aud: string, email = SA_EMAIL): Promise<string> {
    const jwk = idp.privateJwk();
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: GOOGLE, aud, azp: '104455667788990011223', sub: '104455667788990011223', email, email_verified: true, iat: now, exp: now + 3600 })
      .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' })
      .sign(await importJWK(jwk, 'RS256'));
  }

  test('google token-info stand-in (Google is not reachable here): a user opaque token is a user, roles from its scopes', async () => {
    const w = await who('/api/orders', 'ya29.a0AfB_alice');
    assert.deepEqual([w.kind, w.subject, w.issuer, w.method, w.roles], ['user', '110169484474386276334', GOOGLE, 'introspection', ['reader']]);
  });

  test('google token-info stand-in (Google is not reachable here): a service account access token is a service', async () => {
    const w = await who('/api/orders', 'ya29.c.b0Aa_reporting');
    assert.deepEqual([w.kind, w.roles], ['service', ['platform']]);
  });

  test('google token-info stand-in (Google is not reachable here): another OAuth client, or a token Google does not know, is refused', async () => {
    await refused('/api/orders', 'ya29.a0AfB_otherapp', 'authn.bad_audience');
    await refused('/api/orders', 'ya29.a0AfB_revoked', 'authn.token_inactive');
  });

  test('a service account ID token is a workload identity on a route with acceptIdTokens', async () => {
    const w = await who('/internal/jobs', await googleIdToken(WORKLOAD_AUDIENCE));
    assert.deepEqual([w.kind, w.subject, w.issuer, w.method], ['service', '104455667788990011223', GOOGLE, 'jwt']);
  });

  test('the same ID token is refused on a route without acceptIdTokens', async () => {
    await refused('/api/orders', await googleIdToken(WORKLOAD_AUDIENCE), 'authn.id_token_rejected');
  });

  test('an ID token for an audience not in idTokenAudiences is refused, even where ID tokens are accepted', async () => {
    await refused('/internal/jobs', await googleIdToken(WEB_CLIENT, 'alice@example.com'), 'authn.id_token_rejected');
  });
});
