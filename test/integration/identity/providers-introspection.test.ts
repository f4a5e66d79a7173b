// Opaque access tokens through the gateway, checked by the real IdP's RFC 7662 introspection
// endpoint (found through discovery): active, made up, on a provider that does not introspect, and
// with the IdP down.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { assertProblem, auditFor, header, send } from '../../helpers/gateway-checks.ts';
import type { Reply } from '../../helpers/gateway-checks.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { bearer, providerYaml, startIdentityGateway } from '../../helpers/identity.ts';
import type { IdentityGateway } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';

const get = (gw: TestGateway, token: string): Promise<Reply> => send(`${gw.url}/api/orders`, { headers: bearer(token) });

/** Looks like an opaque token (no dots), but no IdP ever issued it. */
const madeUp = (): string => randomBytes(32).toString('base64url');

describe('introspection through the gateway', () => {
  let idp: TestIdp;
  let introspecting: IdentityGateway;
  let plain: IdentityGateway;

  before(async () => {
    idp = await startTestIdp();
    introspecting = await startIdentityGateway(
      providerYaml('dev', idp, [
        `introspection: { clientId: ${idp.introspection.clientId}, clientSecret: ${idp.introspection.clientSecret} }`,
        'roles: { claim: groups, map: { customers: [customer] } }',
      ]),
    );
    plain = await startIdentityGateway(providerYaml('dev', idp));
  });
  after(async () => {
    await introspecting?.close();
    await plain?.close();
    await idp?.close();
  });

  test("an active opaque token: 200, and the audit says it was introspected and whose it is", async () => {
    const token = await idp.tokenFor({ sub: 'bob', opaque: true });
    assert.equal(token.includes('.'), false, 'the IdP issued an opaque token');
    const res = await get(introspecting.gw, token);
    assert.equal(res.status, 200, res.body);
    const event = await auditFor(introspecting.gw, header(res, 'x-request-id') as string, 'ok');
    assert.equal(event.who?.method, 'introspection');
    assert.equal(event.who?.subject, 'bob');
    assert.equal(event.who?.kind, 'user');
    assert.equal(event.who?.provider, 'dev');
    assert.equal(event.who?.issuer, idp.issuer);
    assert.equal(event.who?.keyId, undefined, 'no key signed an opaque token');
    assert.deepEqual(event.who?.roles, ['customer'], 'roles mapped from the introspected groups');
  });

  test('the same person by JWT and by introspection are told apart by method, not merged', async () => {
    const viaJwt = await get(introspecting.gw, await idp.tokenFor({ sub: 'bob' }));
    const viaIntrospection = await get(introspecting.gw, await idp.tokenFor({ sub: 'bob', opaque: true }));
    const jwtWho = (await auditFor(introspecting.gw, header(viaJwt, 'x-request-id') as string, 'ok')).who;
    const opaqueWho = (await auditFor(introspecting.gw, header(viaIntrospection, 'x-request-id') as string, 'ok')).who;
    assert.equal(jwtWho?.method, 'jwt');
    assert.equal(opaqueWho?.method, 'introspection');
    assert.equal(jwtWho?.subject, opaqueWho?.subject);
    assert.notEqual(jwtWho?.fingerprint, opaqueWho?.fingerprint);
  });

  test('a made-up opaque token is inactive: 401 authn.token_inactive, nothing sent upstream', async () => {
    const before = introspecting.upstream.requests.length;
    const res = await get(introspecting.gw, madeUp());
    const id = assertProblem(res, 401, 'authn.token_inactive');
    assert.match(String(header(res, 'www-authenticate')), /error="invalid_token"/);
    await auditFor(introspecting.gw, id, 'authn.token_inactive');
    assert.equal(introspecting.upstream.requests.length, before);
  });

  test('an opaque token on a provider without introspection: 401 authn.malformed', async () => {
    const res = await get(plain.gw, await idp.tokenFor({ sub: 'bob', opaque: true }));
    const id = assertProblem(res, 401, 'authn.malformed');
    await auditFor(plain.gw, id, 'authn.malformed');
  });

  test('IdP down: a never-seen opaque token gets 503 authn.provider_unavailable with Retry-After, and works once it is back', async () => {
    const seen = await idp.tokenFor({ sub: 'bob', opaque: true });
    assert.equal((await get(introspecting.gw, seen)).status, 200);
    const neverSeen = await idp.tokenFor({ sub: 'carol', opaque: true });
    await idp.stop();
    try {
      const res = await get(introspecting.gw, neverSeen);
      const id = assertProblem(res, 503, 'authn.provider_unavailable');
      assert.match(String(header(res, 'retry-after')), /^\d+$/);
      assert.equal(header(res, 'www-authenticate'), undefined, 'not the caller\'s fault: no bearer challenge');
      await auditFor(introspecting.gw, id, 'authn.provider_unavailable');
      assert.equal((await get(introspecting.gw, seen)).status, 200, 'an answer cached within maxCacheSeconds is reused');
      assertProblem(await get(introspecting.gw, madeUp()), 503, 'authn.provider_unavailable');
    } finally {
      await idp.start();
    }
    const back = await get(introspecting.gw, neverSeen);
    assert.equal(back.status, 200, back.body);
    assert.equal((await auditFor(introspecting.gw, header(back, 'x-request-id') as string, 'ok')).who?.subject, 'carol');
  });
});
