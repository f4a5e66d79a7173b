import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { createVerifier, type VerifyResult } from '@cortex-gateway/verify';
import { makeKey, mint, startJwksServer, unsigned, type JwksServer, type TestKey } from './jwks-fixture.ts';

let es: TestKey;
let ed: TestKey;
let rs: TestKey;
let jwks: JwksServer;
before(async () => {
  [es, ed, rs] = await Promise.all([makeKey('ES256'), makeKey('EdDSA'), makeKey('RS256')]);
  jwks = await startJwksServer([es, ed, rs]);
});
after(() => jwks.close());

const verifier = (extra: Partial<Parameters<typeof createVerifier>[0]> = {}) =>
  createVerifier({ issuer: jwks.issuer, audience: 'orders', ...extra });

function refused(result: VerifyResult, code: string): void {
  assert.equal(result.ok, false, 'expected a refusal');
  if (!result.ok) {
    assert.equal(result.code, code, result.message);
    assert.ok(result.message.length > 0);
  }
}

describe('createVerifier: valid assertions', () => {
  test('ES256, EdDSA and RS256 assertions verify and name the caller', async () => {
    const v = verifier();
    for (const key of [es, ed, rs]) {
      const result = await v.verify(await mint(key, { issuer: jwks.issuer, claims: { roles: ['customer', 'beta'] } }));
      assert.ok(result.ok, key.alg);
      assert.equal(result.caller.subject, 'alice');
      assert.equal(result.caller.kind, 'user');
      assert.equal(result.caller.provider, 'dev');
      assert.deepEqual(result.caller.roles, ['customer', 'beta']);
      assert.equal(result.caller.actor, undefined);
      assert.equal(result.caller.claims.aud, 'orders');
    }
  });

  test('an agent acting for a person: subject and roles are the person, actor is the agent', async () => {
    const token = await mint(es, { issuer: jwks.issuer, claims: { kind: 'agent', act: { sub: 'agent:helper', roles: ['agent'] } } });
    const result = await verifier().fromHeaders({ 'cortex-assertion': token });
    assert.ok(result.ok);
    assert.equal(result.caller.subject, 'alice');
    assert.equal(result.caller.kind, 'agent');
    assert.deepEqual(result.caller.actor, { subject: 'agent:helper', roles: ['agent'] });
  });

  test('an iat a little ahead of our clock is within the tolerance', async () => {
    assert.ok((await verifier().verify(await mint(es, { issuer: jwks.issuer, iatOffset: 3 }))).ok);
  });

  test('the header can be renamed, and fetch-style Headers are read too', async () => {
    const token = await mint(es, { issuer: jwks.issuer });
    assert.ok((await verifier({ header: 'x-identity' }).fromHeaders(new Headers({ 'X-Identity': token }))).ok);
    refused(await verifier({ header: 'x-identity' }).fromHeaders({ 'cortex-assertion': token }), 'assertion.missing');
  });
});

describe('createVerifier: refusals', () => {
  test('missing, empty and non-JWS assertions', async () => {
    const v = verifier();
    refused(await v.fromHeaders({}), 'assertion.missing');
    refused(await v.fromHeaders({ 'cortex-assertion': '' }), 'assertion.missing');
    refused(await v.verify('not-a-jwt'), 'assertion.malformed');
    refused(await v.verify('a.b.c.d.e'), 'assertion.malformed');
    refused(await v.verify('e30.e30.e30'), 'assertion.invalid'); // {} header: no alg
  });

  test('expired, also past the clock tolerance', async () => {
    refused(await verifier().verify(await mint(es, { issuer: jwks.issuer, iatOffset: -120 })), 'assertion.expired');
    refused(await verifier().verify(await mint(es, { issuer: jwks.issuer, iatOffset: -70 })), 'assertion.expired');
  });

  test('not yet valid: iat in the future beyond the tolerance', async () => {
    refused(await verifier().verify(await mint(es, { issuer: jwks.issuer, iatOffset: 120 })), 'assertion.not_yet_valid');
  });

  test('a lifetime longer than the maximum', async () => {
    refused(await verifier().verify(await mint(es, { issuer: jwks.issuer, lifetime: 301 })), 'assertion.lifetime_too_long');
    assert.ok((await verifier({ maxLifetimeSeconds: 600 }).verify(await mint(es, { issuer: jwks.issuer, lifetime: 301 }))).ok);
  });

  test('wrong audience, several audiences, wrong issuer', async () => {
    refused(await verifier().verify(await mint(es, { issuer: jwks.issuer, audience: 'billing' })), 'assertion.wrong_audience');
    const both = await mint(es, { issuer: jwks.issuer, claims: { aud: ['orders', 'billing'] } });
    refused(await verifier().verify(both), 'assertion.wrong_audience');
    refused(await verifier().verify(await mint(es, { issuer: 'http://evil.example' })), 'assertion.wrong_issuer');
  });

  test('alg none, and HS256 keyed with the public key (key confusion)', async () => {
    const claims = { iss: jwks.issuer, aud: 'orders', sub: 'mallory', kind: 'user', provider: 'dev', roles: ['admin'], iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60, jti: 'j1' };
    refused(await verifier().verify(unsigned(claims, es.kid)), 'assertion.invalid');
    for (const key of [es, rs]) {
      const secret = new TextEncoder().encode(JSON.stringify(key.publicJwk));
      const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: key.kid }).sign(secret);
      refused(await verifier().verify(hs), 'assertion.invalid');
    }
  });

  test('a token of another type signed by the same key (a delegated access token, typ at+jwt) is not an assertion', async () => {
    refused(await verifier().verify(await mint(es, { issuer: jwks.issuer, header: { typ: 'at+jwt' } })), 'assertion.invalid');
    refused(await verifier().verify(await mint(es, { issuer: jwks.issuer, header: { typ: 'JWT' } })), 'assertion.invalid');
  });

  test('an algorithm outside the configured list', async () => {
    refused(await verifier({ algorithms: ['ES256'] }).verify(await mint(rs, { issuer: jwks.issuer })), 'assertion.invalid');
  });

  test('a forged payload under a real signature, and a signature by another key with a published kid', async () => {
    const [h, , s] = (await mint(es, { issuer: jwks.issuer })).split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'bob', roles: ['admin'] })).toString('base64url');
    refused(await verifier().verify(`${h}.${forged}.${s}`), 'assertion.invalid');
    const stranger = await makeKey('ES256', es.kid);
    refused(await verifier().verify(await mint(stranger, { issuer: jwks.issuer })), 'assertion.invalid');
  });

  test('a header that embeds or points to its own key, or adds critical extensions', async () => {
    const v = verifier();
    const forbidden: Record<string, unknown>[] = [
      { jwk: es.publicJwk },
      { jku: `${jwks.issuer}/.cortex/jwks.json` },
      { x5u: 'https://evil.example/cert.pem' },
      { x5c: ['MIIB'] },
    ];
    for (const header of forbidden) {
      refused(await v.verify(await mint(es, { issuer: jwks.issuer, header })), 'assertion.malformed');
    }
    // jose will not sign an unknown critical extension, so this header is written by hand.
    const [, payload, signature] = (await mint(es, { issuer: jwks.issuer })).split('.');
    const crit = Buffer.from(JSON.stringify({ alg: 'ES256', kid: es.kid, crit: ['cortex'], cortex: 1 })).toString('base64url');
    refused(await v.verify(`${crit}.${payload}.${signature}`), 'assertion.malformed');
    refused(await v.verify(await mint(es, { issuer: jwks.issuer, header: { kid: undefined } })), 'assertion.malformed');
  });

  test('claims of the wrong shape', async () => {
    const v = verifier();
    const bad: Record<string, unknown>[] = [{ jti: undefined }, { sub: '' }, { kind: 'root' }, { roles: 'admin' },
      { roles: [1] }, { provider: 7 }, { act: { sub: 'x' } }, { act: 'agent' }];
    for (const claims of bad) {
      refused(await v.verify(await mint(es, { issuer: jwks.issuer, claims })), 'assertion.malformed');
    }
  });

  test('the same header twice is refused, whichever way the headers arrive', async () => {
    const token = await mint(es, { issuer: jwks.issuer });
    const v = verifier();
    refused(await v.fromHeaders({ 'cortex-assertion': [token, token] }), 'assertion.duplicate');
    refused(await v.fromHeaders({ 'cortex-assertion': `${token}, ${token}` }), 'assertion.duplicate');
    refused(await v.fromHeaders({ 'cortex-assertion': token, 'Cortex-Assertion': token }), 'assertion.duplicate');
    const web = new Headers();
    web.append('cortex-assertion', token);
    web.append('cortex-assertion', token);
    refused(await v.fromHeaders(web), 'assertion.duplicate');
  });

  test('an unreachable JWKS is jwks_unavailable (503), not the caller\'s fault', async () => {
    const v = createVerifier({ issuer: jwks.issuer, audience: 'orders', jwksUri: 'http://127.0.0.1:1/jwks.json' });
    refused(await v.verify(await mint(es, { issuer: jwks.issuer })), 'assertion.jwks_unavailable');
  });
});

describe('createVerifier: key rotation', () => {
  test('a key rotated in after the first fetch is found by one refetch', async () => {
    const [a, b] = [await makeKey('ES256'), await makeKey('ES256')];
    const server = await startJwksServer([a]);
    try {
      const v = createVerifier({ issuer: server.issuer, audience: 'orders', fetch: { cooldownMs: 0 } });
      assert.ok((await v.verify(await mint(a, { issuer: server.issuer }))).ok);
      assert.equal(server.fetches(), 1);
      server.publish([a, b]);
      assert.ok((await v.verify(await mint(b, { issuer: server.issuer }))).ok);
      assert.equal(server.fetches(), 2);
      assert.ok((await v.verify(await mint(a, { issuer: server.issuer }))).ok);
      assert.equal(server.fetches(), 2, 'known keys are served from the cache');
    } finally {
      await server.close();
    }
  });

  test('within the cooldown an unknown kid does not refetch', async () => {
    const [a, b] = [await makeKey('ES256'), await makeKey('ES256')];
    const server = await startJwksServer([a]);
    try {
      const v = createVerifier({ issuer: server.issuer, audience: 'orders', fetch: { cooldownMs: 60_000 } });
      assert.ok((await v.verify(await mint(a, { issuer: server.issuer }))).ok);
      server.publish([a, b]);
      refused(await v.verify(await mint(b, { issuer: server.issuer })), 'assertion.unknown_key');
      assert.equal(server.fetches(), 1);
    } finally {
      await server.close();
    }
  });

  test('a token signed by a retired key that has left the JWKS is unknown_key', async () => {
    const [retired, active] = [await makeKey('ES256'), await makeKey('ES256')];
    const server = await startJwksServer([retired, active]);
    try {
      const v = createVerifier({ issuer: server.issuer, audience: 'orders', fetch: { cooldownMs: 0, cacheMaxAgeMs: 0 } });
      assert.ok((await v.verify(await mint(retired, { issuer: server.issuer }))).ok);
      server.publish([active]);
      refused(await v.verify(await mint(retired, { issuer: server.issuer })), 'assertion.unknown_key');
      assert.ok((await v.verify(await mint(active, { issuer: server.issuer }))).ok);
      const fresh = createVerifier({ issuer: server.issuer, audience: 'orders' });
      refused(await fresh.verify(await mint(retired, { issuer: server.issuer })), 'assertion.unknown_key');
    } finally {
      await server.close();
    }
  });
});
