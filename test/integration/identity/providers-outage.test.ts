// The IdP is down, or serves a bad key set: the gateway keeps verifying with the last good keys and
// says so on the admin API; a gateway that never had keys is not ready and answers 503 until it has.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, importJWK } from 'jose';
import { assertProblem, auditFor, eventually, header, send } from '../../helpers/gateway-checks.ts';
import type { Reply } from '../../helpers/gateway-checks.ts';
import { ADMIN_TOKEN, startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { AUDIENCE, bearer, devProviderGateway, providerYaml } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { startUpstream } from '../../helpers/upstream.ts';

type SigningKey = Parameters<SignJWT['sign']>[0];

/** An access token shaped like the dev IdP's, signed outside it (the IdP may be down). */
function signed(key: SigningKey, kid: string, issuer: string, sub = 'alice'): Promise<string> {
  return new SignJWT({ sub, client_id: 'cortex-cli', groups: [], jti: randomUUID() })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid })
    .setIssuer(issuer)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);
}

/** A token signed with the IdP's current key, made without asking the IdP. */
async function signedByIdpKey(idp: TestIdp): Promise<string> {
  const jwk = idp.privateJwk();
  return signed(await importJWK(jwk, 'RS256'), String(jwk.kid), idp.issuer);
}

/** A token signed with a key the IdP never published. */
async function signedByStranger(idp: TestIdp): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256');
  return signed(privateKey, `stranger-${randomUUID()}`, idp.issuer);
}

const get = (gw: TestGateway, token: string): Promise<Reply> => send(`${gw.url}/api/orders`, { headers: bearer(token) });

async function readyz(gw: TestGateway): Promise<{ status: number; body: { ready: boolean; components: Record<string, boolean> } }> {
  const res = await fetch(`${gw.adminUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as { ready: boolean; components: Record<string, boolean> } };
}

interface ProviderStatus {
  ready: boolean;
  keys: number;
  kids: string[];
  fetches: number;
  failures: number;
  lastError?: string;
}

async function providerStatus(gw: TestGateway, name: string): Promise<ProviderStatus> {
  const res = await fetch(`${gw.adminUrl}/api/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { identityProviders: Record<string, ProviderStatus> };
  const status = body.identityProviders[name];
  assert.ok(status, `status of provider ${name}: ${JSON.stringify(body)}`);
  return status;
}

describe('the IdP goes down and comes back', () => {
  const dev = devProviderGateway();

  test('seen and new tokens signed by a known key keep working while the IdP is down; /readyz stays ready', async () => {
    const seen = await dev.idp.tokenFor({ sub: 'alice' });
    assert.equal((await get(dev.g.gw, seen)).status, 200);
    const unseen = await dev.idp.tokenFor({ sub: 'bob' });
    await dev.idp.stop();

    assert.equal((await get(dev.g.gw, seen)).status, 200, 'a cached token');
    assert.equal((await get(dev.g.gw, unseen)).status, 200, 'a token minted before the outage, never presented');
    assert.equal((await get(dev.g.gw, await signedByIdpKey(dev.idp))).status, 200, 'a token signed during the outage with the known key');

    // An unknown kid makes the gateway try the IdP: that fails, and the last good keys stay.
    const stranger = await get(dev.g.gw, await signedByStranger(dev.idp));
    await auditFor(dev.g.gw, assertProblem(stranger, 401, 'authn.unknown_key'), 'authn.unknown_key');
    assert.equal((await get(dev.g.gw, await signedByIdpKey(dev.idp))).status, 200, 'known key still accepted after the failed refetch');
    const status = await providerStatus(dev.g.gw, 'dev');
    assert.ok(status.failures > 0 && status.keys > 0 && status.ready, JSON.stringify(status));

    const ready = await readyz(dev.g.gw);
    assert.equal(ready.status, 200);
    assert.equal(ready.body.components.identity, true);

    await dev.idp.start();
    assert.equal((await get(dev.g.gw, await dev.idp.tokenFor({ sub: 'carol' }))).status, 200, 'a token minted after the IdP came back');
    assert.equal((await get(dev.g.gw, seen)).status, 200);
    assert.equal((await readyz(dev.g.gw)).status, 200);
  });
});

describe('a gateway started while its IdP is down', () => {
  test('is not ready and answers 503 with Retry-After, until the IdP comes back', async () => {
    const idp = await startTestIdp();
    const upstream = await startUpstream();
    let gw: TestGateway | undefined;
    try {
      const token = await idp.tokenFor({ sub: 'alice' });
      await idp.stop();
      gw = await startTestGateway(['identity:', '  providers:', providerYaml('dev', idp), `upstreams:\n  up: { url: "${upstream.url}" }`, 'routes:', '  api: { match: { prefix: /api/ }, upstream: up }'].join('\n'));

      const notReady = await readyz(gw);
      assert.equal(notReady.status, 503);
      assert.equal(notReady.body.ready, false);
      assert.equal(notReady.body.components.identity, false);
      const refused = await get(gw, token);
      const id = assertProblem(refused, 503, 'authn.provider_unavailable');
      assert.match(String(header(refused, 'retry-after')), /^\d+$/);
      await auditFor(gw, id, 'authn.provider_unavailable');
      assert.equal(upstream.requests.length, 0, 'nothing reached the upstream');

      await idp.start();
      const started = gw;
      await eventually(async () => ((await readyz(started)).status === 200 ? true : undefined), '/readyz ready once the IdP is back', 10_000);
      assert.equal((await readyz(gw)).body.components.identity, true);
      assert.equal((await get(gw, token)).status, 200);
    } finally {
      await gw?.close();
      await upstream.close();
      await idp.close();
    }
  });
});

describe('a bad key set after a good one', () => {
  const dev = devProviderGateway();

  for (const [what, body] of [
    ['an empty key set', '{"keys":[]}'],
    ['a malformed key set', 'not json'],
  ] as const) {
    test(`${what}: the refresh fails, the good keys stay, and the admin status shows the failure`, async () => {
      const before = await providerStatus(dev.g.gw, 'dev');
      const fetched = dev.idp.jwksRequests();
      dev.idp.serveJwks(body);
      try {
        // An unknown kid triggers a refetch (rate limited to one per 200 ms here, so retried).
        await eventually(async () => {
          assertProblem(await get(dev.g.gw, await signedByStranger(dev.idp)), 401, 'authn.unknown_key');
          return (await providerStatus(dev.g.gw, 'dev')).failures > before.failures ? true : undefined;
        }, 'a failed key set refresh');
        assert.ok(dev.idp.jwksRequests() > fetched, 'the gateway did ask for the key set');
        assert.equal((await get(dev.g.gw, await dev.idp.tokenFor({ sub: 'alice' }))).status, 200, 'a fresh token verifies with the kept keys');
        const after = await providerStatus(dev.g.gw, 'dev');
        assert.ok(after.failures > 0, JSON.stringify(after));
        assert.ok(after.keys > 0, JSON.stringify(after));
        assert.equal(after.keys, before.keys);
        assert.equal(after.ready, true);
        assert.match(String(after.lastError), /^Key set fetch failed: /);
      } finally {
        dev.idp.serveJwks(undefined);
      }
    });
  }

  test('once the IdP serves a good key set again, a newly rotated key is picked up', async () => {
    const kid = await dev.idp.rotateKeys({ keepOld: true });
    const token = await dev.idp.tokenFor({ sub: 'alice' });
    await eventually(async () => ((await get(dev.g.gw, token)).status === 200 ? true : undefined), 'the new key accepted');
    const status = await providerStatus(dev.g.gw, 'dev');
    assert.ok(status.kids.includes(kid) && status.keys >= 2, JSON.stringify(status));
    assert.equal(status.lastError, undefined, 'a good fetch clears the last error');
  });
});
