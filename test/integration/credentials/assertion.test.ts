// The identity assertion as an upstream sees it: a real node:http upstream verifies every
// `cortex-assertion` with the kit (@cortex-gateway/verify) against the gateway's own
// /.cortex/jwks.json. Users, services, agents acting for a person, anonymous callers; the audience;
// reuse within half the lifetime (with the gateway's injected clock); re-signing after a rotation;
// the caller's own credentials stopping at the gateway.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createVerifier } from '../../../packages/verify/src/index.ts';
import type { Verifier, VerifyResult } from '../../../packages/verify/src/index.ts';
import { header, send } from '../../helpers/gateway-checks.ts';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { bearer, providerYaml, waitIdentityReady } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';

interface Seen {
  result: VerifyResult;
  headers: Record<string, string | string[] | undefined>;
  token: string | undefined;
}

let idp: TestIdp;
let upstream: TestUpstream;
let gw: TestGateway;
/** The gateway's clock runs this far ahead of the real one. */
let offset = 0;
const verifiers = new Map<string, Verifier>();

function verifierFor(audience: string): Verifier {
  let v = verifiers.get(audience);
  // The gateway's clock is moved ahead in the reuse test: allow for it (the lifetime is checked by jti reuse).
  if (v === undefined) verifiers.set(audience, (v = createVerifier({ issuer: gw.url, audience, clockToleranceSeconds: 300, fetch: { cooldownMs: 0 } })));
  return v;
}

before(async () => {
  idp = await startTestIdp();
  upstream = await startUpstream((req, res) => {
    // The audience an upstream expects: orders says it in caller.audience; the others use their name.
    const audience = String(req.headers['x-expect-audience'] ?? 'plain');
    void verifierFor(audience)
      .fromHeaders(req.headers)
      .then((result) => {
        const token = req.headers['cortex-assertion'];
        const seen: Seen = { result, headers: req.headers, token: typeof token === 'string' ? token : undefined };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(seen));
      });
  });
  const providers = providerYaml('dev', idp, [
    'roles: { claim: groups, map: { admins: [admin], customers: [customer], support: [support] } }',
    'services: { reporting: { roles: [reporting] } }',
    'agents: { assistant: { roles: [agent] } }',
  ]);
  gw = await startTestGateway(
    [
      'identity:',
      '  providers:',
      providers,
      '  sessions:',
      `    { provider: dev, clientId: cortex-web, redirectUri: "http://127.0.0.1:1/.cortex/callback", secrets: ["${'s'.repeat(40)}"], cookie: { secure: false } }`,
      'upstreams:',
      `  orders: { url: "${upstream.url}", caller: { audience: orders-api, plainHeaders: true } }`,
      `  plain: { url: "${upstream.url}" }`,
      `  passthrough: { url: "${upstream.url}", caller: { assertion: false, forwardAuthorization: true } }`,
      'routes:',
      '  orders: { match: { prefix: /orders/ }, upstream: orders, requestHeaders: { set: { x-expect-audience: orders-api } } }',
      '  public: { match: { prefix: /public/ }, upstream: plain, auth: none }',
      '  api: { match: { prefix: /api/ }, upstream: plain }',
      '  pass: { match: { prefix: /pass/ }, upstream: passthrough }',
    ].join('\n'),
    { now: () => Date.now() + offset },
  );
  await waitIdentityReady(gw);
});

after(async () => {
  await gw?.close();
  await upstream?.close();
  await idp?.close();
});

async function call(path: string, headers: Record<string, string> = {}): Promise<Seen> {
  const reply = await send(`${gw.url}${path}`, { headers });
  assert.equal(reply.status, 200, reply.body);
  return JSON.parse(reply.body) as Seen;
}

function verified(seen: Seen) {
  assert.ok(seen.result.ok, `the kit refused the assertion: ${JSON.stringify(seen.result)}`);
  return seen.result.caller;
}

describe('the JWKS', () => {
  test('is public on the gateway at /.cortex/jwks.json and on the admin listener at /jwks.json', async () => {
    const res = await send(`${gw.url}/.cortex/jwks.json`);
    assert.equal(res.status, 200);
    assert.equal(header(res, 'content-type'), 'application/jwk-set+json');
    assert.equal(header(res, 'cache-control'), 'public, max-age=300');
    const jwks = JSON.parse(res.body) as { keys: { kid: string; alg: string; use: string; d?: string }[] };
    const signer = gw.runtime.gateway.credentials.ring?.signer();
    assert.ok(jwks.keys.some((k) => k.kid === signer?.kid && k.alg === 'ES256' && k.use === 'sig'));
    assert.ok(jwks.keys.every((k) => k.d === undefined), 'no private member');
    const admin = await send(`${gw.adminUrl}/jwks.json`);
    assert.equal(admin.status, 200);
    assert.equal(header(admin, 'cache-control'), 'public, max-age=300');
    assert.deepEqual(JSON.parse(admin.body), jwks);
  });
});

describe('who the upstream is told is calling', () => {
  test('a user: sub, kind, provider, roles; aud is the upstream\'s caller.audience; the token stops at the gateway', async () => {
    const seen = await call('/orders/1', bearer(await idp.tokenFor({ sub: 'bob' })));
    const caller = verified(seen);
    assert.equal(caller.subject, 'bob');
    assert.equal(caller.kind, 'user');
    assert.equal(caller.provider, 'dev');
    assert.deepEqual(caller.roles, ['customer']);
    assert.equal(caller.actor, undefined);
    assert.equal(caller.claims.aud, 'orders-api');
    assert.equal(caller.claims.iss, gw.url);
    assert.equal(caller.claims.exp - caller.claims.iat, 60);
    const head = decodeProtectedHeader(seen.token as string);
    assert.equal(head.typ, 'cortex-assertion+jwt');
    assert.equal(head.kid, gw.runtime.gateway.credentials.ring?.signer().kid);
    assert.equal(seen.headers.authorization, undefined, 'Authorization is not forwarded by default');
    // plainHeaders on this upstream
    assert.equal(seen.headers['cortex-user'], 'bob');
    assert.equal(seen.headers['cortex-kind'], 'user');
    assert.equal(seen.headers['cortex-roles'], 'customer');
    assert.equal(seen.headers['cortex-provider'], 'dev');
    assert.equal(seen.headers['cortex-acting-for'], undefined);
  });

  test('a service: kind service with its configured roles; aud is the upstream name when no audience is set', async () => {
    const caller = verified(await call('/api/report', bearer(await idp.serviceToken())));
    assert.equal(caller.kind, 'service');
    assert.equal(caller.subject, 'reporting');
    assert.deepEqual(caller.roles, ['reporting']);
    assert.equal(caller.claims.aud, 'plain');
  });

  test('an agent acting for a person: sub and roles are the person\'s, act names the agent', async () => {
    const seen = await call('/orders/2', bearer(await idp.tokenFor({ sub: 'bob', actor: 'assistant' })));
    const caller = verified(seen);
    assert.equal(caller.kind, 'agent');
    assert.equal(caller.subject, 'bob');
    assert.deepEqual(caller.roles, ['customer']);
    assert.deepEqual(caller.actor, { subject: 'assistant', roles: ['agent'] });
    assert.equal(seen.headers['cortex-user'], 'assistant');
    assert.equal(seen.headers['cortex-acting-for'], 'bob');
    assert.equal(seen.headers['cortex-roles'], 'agent');
  });

  test('an anonymous caller on a public route gets a signed anonymous assertion', async () => {
    const caller = verified(await call('/public/page'));
    assert.equal(caller.kind, 'anonymous');
    assert.equal(caller.subject, 'anonymous');
    assert.deepEqual(caller.roles, []);
  });

  test('an upstream with assertion: false and forwardAuthorization: true gets the token and no assertion', async () => {
    const token = await idp.tokenFor({ sub: 'bob' });
    const seen = await call('/pass/x', bearer(token));
    assert.equal(seen.token, undefined);
    assert.equal(seen.headers.authorization, `Bearer ${token}`);
  });

  test("the API key header and Cortex's own cookies stop at the gateway; other cookies pass", async () => {
    const seen = await call('/public/cookies', { cookie: 'cortex_session=abc; theme=dark; cortex_login=zzz; lang=en', authorization: 'Bearer not-used-here' });
    assert.equal(seen.headers.cookie, 'theme=dark; lang=en');
    assert.equal(seen.headers.authorization, undefined);
  });
});

describe('reuse', () => {
  test('the same identity reuses one assertion while more than half its lifetime remains, then a new one is signed', async () => {
    const token = await idp.tokenFor({ sub: 'alice' });
    const jti = async (path: string, t = token) => decodeJwt((await call(path, bearer(t))).token as string).jti;
    const first = await jti('/api/a');
    assert.equal(await jti('/api/b'), first, 'same identity and audience: reused');
    assert.notEqual(decodeJwt((await call('/orders/a', bearer(token))).token as string).jti, first, 'another audience: another assertion');
    assert.notEqual(await jti('/api/c', await idp.tokenFor({ sub: 'carol' })), first, 'another identity: another assertion');
    const other = await idp.tokenFor({ sub: 'alice' });
    assert.equal(await jti('/api/d', other), first, 'another token of the same person: the same assertion');
    offset += 29_000;
    assert.equal(await jti('/api/e'), first, 'still more than half the lifetime left');
    offset += 2_000;
    const second = await jti('/api/f');
    assert.notEqual(second, first, 'past half the lifetime: re-signed');
    const caller = verified(await call('/api/g', bearer(token)));
    assert.equal(caller.claims.jti, second);
  });

  test('a rotation re-signs at once with the new key', async () => {
    const token = await idp.tokenFor({ sub: 'carol' });
    const before = decodeJwt((await call('/api/r1', bearer(token))).token as string).jti;
    const ring = gw.runtime.gateway.credentials.ring;
    assert.ok(ring);
    await ring.rotateNow();
    const seen = await call('/api/r2', bearer(token));
    verified(seen);
    assert.notEqual(decodeJwt(seen.token as string).jti, before);
    assert.equal(decodeProtectedHeader(seen.token as string).kid, ring.signer().kid);
  });
});
