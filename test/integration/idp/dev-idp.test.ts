import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startTestIdp, type TestIdp } from '../../helpers/idp.ts';

async function verify(idp: TestIdp, token: string, audience: string | undefined = 'cortex-gateway') {
  const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`), { cacheMaxAge: 0, cooldownDuration: 0 });
  return jwtVerify(token, jwks, { issuer: idp.issuer, ...(audience === undefined ? {} : { audience }) });
}

describe('dev idp (generic shape)', () => {
  let idp: TestIdp;
  before(async () => {
    idp = await startTestIdp();
  });
  after(() => idp.close());

  test('a user token is an RFC 9068 JWT for the gateway with groups', async () => {
    const { payload, protectedHeader } = await verify(idp, await idp.tokenFor({ sub: 'alice' }));
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.aud, 'cortex-gateway');
    assert.deepEqual(payload.groups, ['admins']);
    assert.equal(payload.exp! - payload.iat!, 3600);
  });

  test('an agent token is issued to the agent, for the person, with act', async () => {
    const { payload } = await verify(idp, await idp.tokenFor({ sub: 'bob', actor: 'assistant' }));
    assert.equal(payload.sub, 'bob');
    assert.equal(payload.client_id, 'assistant');
    assert.deepEqual(payload.act, { sub: 'assistant' });
    assert.deepEqual(payload.groups, ['customers']);
  });

  test('a service token comes from client_credentials: sub is the client id, no groups', async () => {
    const { payload } = await verify(idp, await idp.serviceToken());
    assert.equal(payload.sub, 'reporting');
    assert.equal(payload.client_id, 'reporting');
    assert.equal(payload.groups, undefined);
    const other = await verify(idp, await idp.serviceToken({ audience: 'billing' }), 'billing');
    assert.equal(other.payload.aud, 'billing');
  });

  test('audience, ttl and extra claims are honoured', async () => {
    const { payload } = await verify(idp, await idp.tokenFor({ sub: 'carol', audience: 'other-api', ttlSeconds: 120, claims: { tenant: 't1' } }), 'other-api');
    assert.equal(payload.exp! - payload.iat!, 120);
    assert.equal(payload.tenant, 't1');
  });

  test('an unknown person or agent is refused', async () => {
    await assert.rejects(idp.tokenFor({ sub: 'mallory' }), /unknown subject/);
    await assert.rejects(idp.tokenFor({ sub: 'bob', actor: 'reporting' }), /unknown agent/);
  });

  test('an ID token is for the web client and has no at+jwt typ', async () => {
    const idToken = await idp.idToken('alice');
    const { payload, protectedHeader } = await verify(idp, idToken, 'cortex-web');
    assert.equal(protectedHeader.typ, undefined);
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.email, 'alice@example.com');
  });

  test('an opaque token is active at the real introspection endpoint', async () => {
    const token = await idp.tokenFor({ sub: 'alice', opaque: true });
    assert.equal(token.split('.').length, 1);
    const { clientId, clientSecret } = idp.introspection;
    const res = await fetch(`${idp.issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from(`${clientId}:${clientSecret}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200);
    assert.equal(body.active, true);
    assert.equal(body.sub, 'alice');
    assert.equal(body.aud, 'cortex-gateway');
    assert.deepEqual(body.groups, ['admins']);
    const bad = await fetch(`${idp.issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from(`${clientId}:${clientSecret}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: 'not-a-token' }),
    });
    assert.deepEqual(await bad.json(), { active: false });
  });

  test('key rotation publishes the new kid first and keeps the old one on request', async () => {
    const oldKid = idp.privateJwk().kid;
    const old = await idp.tokenFor({ sub: 'alice' });
    const kid = await idp.rotateKeys({ keepOld: true });
    const jwks = (await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: { kid: string; d?: string }[] };
    assert.deepEqual(jwks.keys.map((k) => k.kid), [kid, oldKid]);
    assert.ok(jwks.keys.every((k) => k.d === undefined));
    assert.equal(decodeProtectedHeader(await idp.tokenFor({ sub: 'alice' })).kid, kid);
    await verify(idp, old);
    await idp.rotateKeys();
    await assert.rejects(verify(idp, old));
  });

  test('the JWKS can be overridden and its requests are counted', async () => {
    const before = idp.jwksRequests();
    idp.serveJwks('{"keys":[]}');
    assert.deepEqual(await (await fetch(`${idp.issuer}/jwks`)).json(), { keys: [] });
    idp.serveJwks(undefined);
    assert.equal(((await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: unknown[] }).keys.length, 1);
    assert.equal(idp.jwksRequests(), before + 2);
  });

  test('stop and start serve again on the same port', async () => {
    await idp.stop();
    await assert.rejects(fetch(`${idp.issuer}/jwks`));
    await idp.start();
    const res = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    assert.equal(((await res.json()) as { issuer: string }).issuer, idp.issuer);
  });
});

describe('dev idp options', () => {
  test('ES256 and an issuer path', async () => {
    const idp = await startTestIdp({ algorithm: 'ES256', issuerPath: '/realms/dev' });
    try {
      assert.match(idp.issuer, /\/realms\/dev$/);
      const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string; issuer: string };
      assert.equal(discovery.issuer, idp.issuer);
      assert.equal(discovery.jwks_uri, `${idp.issuer}/jwks`);
      const { protectedHeader } = await verify(idp, await idp.tokenFor({ sub: 'alice' }));
      assert.equal(protectedHeader.alg, 'ES256');
      assert.equal((await verify(idp, await idp.idToken('bob'), 'cortex-web')).protectedHeader.alg, 'ES256');
    } finally {
      await idp.close();
    }
  });
});
