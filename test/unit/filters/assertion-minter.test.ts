// The assertion minter with a real in-memory key ring and an injected clock: the claims for each
// kind of caller, reuse until half the lifetime, re-signing on a rotation or another identity,
// one signature for concurrent misses, and the bound on the cache.
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { openKeyRing } from '../../../src/credentials/key-ring.ts';
import type { TickingKeyRing } from '../../../src/credentials/key-ring.ts';
import { openMemoryKeyStore } from '../../../src/credentials/stores/memory-store.ts';
import { ASSERTION_TYP, createAssertionMinter } from '../../../src/filters/assertion/assertion-minter.ts';
import type { AssertionMinter, MintedAssertion } from '../../../src/filters/assertion/assertion-minter.ts';
import type { Identity } from '../../../src/gateway/types.ts';

const SETTINGS = { issuer: 'http://127.0.0.1:8080', lifetimeSeconds: 60 };
let clock = Date.UTC(2026, 0, 1);
let ring: TickingKeyRing;

function identity(subject: string, extra: Partial<Identity> = {}): Identity {
  return { subject, issuer: 'https://idp', provider: 'dev', kind: 'user', method: 'jwt', roles: ['customer'], claims: {}, fingerprint: `fp-${subject}`, ...extra };
}

async function minted(m: AssertionMinter, who: Identity, aud = 'orders'): Promise<MintedAssertion> {
  return m.mint(who, aud, SETTINGS);
}

before(async () => {
  const cfg = { algorithm: 'ES256', store: { type: 'memory' }, rotateEveryMs: 86_400_000, publishAheadMs: 3_600_000, retainPublicMs: 400 * 86_400_000 } as const;
  ring = await openKeyRing(cfg, { store: openMemoryKeyStore(), kek: createSecretKey(randomBytes(32)), now: () => clock, maxTokenLifetimeMs: 60_000 });
});
after(() => ring.close());

describe('assertion minter', () => {
  test('claims for a user, and for an agent acting for a person (sub = the person, act = the agent)', async () => {
    const m = createAssertionMinter({ ring: () => ring, now: () => clock });
    const user = await minted(m, identity('bob'));
    const { payload, protectedHeader } = await jwtVerify(user.token, createLocalJWKSet(ring.jwks()), { issuer: SETTINGS.issuer, audience: 'orders', currentDate: new Date(clock) });
    assert.equal(protectedHeader.typ, ASSERTION_TYP);
    assert.equal(protectedHeader.kid, ring.signer().kid);
    assert.deepEqual({ sub: payload.sub, kind: payload.kind, roles: payload.roles, provider: payload.provider, life: (payload.exp ?? 0) - (payload.iat ?? 0) }, { sub: 'bob', kind: 'user', roles: ['customer'], provider: 'dev', life: 60 });
    const agent = identity('assistant', { kind: 'agent', roles: ['agent'], onBehalfOf: identity('bob'), fingerprint: 'fp-assistant-bob' });
    const claims = (await minted(m, agent)).claims;
    assert.equal(claims.sub, 'bob');
    assert.deepEqual(claims.roles, ['customer']);
    assert.deepEqual(claims.act, { sub: 'assistant', roles: ['agent'] });
  });

  test('reused (synchronously) while more than half the lifetime remains; re-signed after', async () => {
    const m = createAssertionMinter({ ring: () => ring, now: () => clock });
    const first = await minted(m, identity('alice'));
    const again = m.mint(identity('alice'), 'orders', SETTINGS);
    assert.ok(!(again instanceof Promise), 'a hit is synchronous');
    assert.equal(again.claims.jti, first.claims.jti);
    assert.notEqual((await minted(m, identity('alice'), 'billing')).claims.jti, first.claims.jti, 'another audience');
    assert.notEqual((await minted(m, identity('alice', { roles: ['admin'] }))).claims.jti, first.claims.jti, 'other roles');
    clock += 29_000;
    assert.equal((await minted(m, identity('alice'))).claims.jti, first.claims.jti);
    clock += 2_000;
    assert.notEqual((await minted(m, identity('alice'))).claims.jti, first.claims.jti, 'past half the lifetime');
  });

  test('a rotation re-signs with the new key', async () => {
    const m = createAssertionMinter({ ring: () => ring, now: () => clock });
    const before = await minted(m, identity('carol'));
    await ring.rotateNow();
    const after = await minted(m, identity('carol'));
    assert.notEqual(after.claims.jti, before.claims.jti);
    assert.equal(decodeProtectedHeader(after.token).kid, ring.signer().kid);
    assert.notEqual(after.kid, before.kid);
  });

  test('concurrent misses share one signature; the cache is bounded', async () => {
    const m = createAssertionMinter({ ring: () => ring, now: () => clock, maxEntries: 3 });
    const [a, b] = await Promise.all([minted(m, identity('dave')), minted(m, identity('dave'))]);
    assert.equal(a.claims.jti, b.claims.jti);
    for (const who of ['e', 'f', 'g', 'h']) await minted(m, identity(who));
    assert.equal(m.size, 3);
  });

  test('no ring: the mint is refused', async () => {
    const m = createAssertionMinter({ ring: () => undefined });
    await assert.rejects(() => Promise.resolve(m.mint(identity('x'), 'orders', SETTINGS)));
  });
});
