// New signing keys for each algorithm: the public JWK is what jose verifies with, the kid is its
// RFC 7638 thumbprint, and nothing private is published.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { calculateJwkThumbprint, importJWK, jwtVerify, SignJWT } from 'jose';
import { checkKeyPair, generateSigningKey, newStoredKey } from '../../../src/credentials/key-gen.ts';
import { kekFromText, unsealPrivateKey } from '../../../src/credentials/key-seal.ts';
import type { SigningAlgorithm } from '../../../src/credentials/types.ts';

const EXPECTED: Record<SigningAlgorithm, Record<string, unknown>> = {
  ES256: { kty: 'EC', crv: 'P-256' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
  RS256: { kty: 'RSA', e: 'AQAB' },
};

for (const alg of ['ES256', 'EdDSA', 'RS256'] as const) {
  test(`${alg}: a key pair whose JWK verifies what the private key signs`, async () => {
    const key = await generateSigningKey(alg);
    for (const [member, value] of Object.entries(EXPECTED[alg])) assert.equal(key.publicJwk[member], value, member);
    assert.equal(key.publicJwk.alg, alg);
    assert.equal(key.publicJwk.use, 'sig');
    assert.equal(key.publicJwk.kid, key.kid);
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(key.publicJwk[member], undefined, `no private member ${member}`);
    const { kid: _kid, alg: _alg, use: _use, ...members } = key.publicJwk;
    assert.equal(key.kid, await calculateJwkThumbprint(members, 'sha256'));
    if (alg === 'RS256') assert.equal(Buffer.from(key.publicJwk.n as string, 'base64url').length * 8, 2048);
    const jwt = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg, kid: key.kid }).sign(key.privateKey);
    const { payload, protectedHeader } = await jwtVerify(jwt, await importJWK(key.publicJwk, alg));
    assert.equal(payload.sub, 'alice');
    assert.equal(protectedHeader.kid, key.kid);
  });
}

test('a stored key is sealed for its kid and carries its schedule', async () => {
  const kek = await kekFromText(randomBytes(32).toString('hex'));
  const { stored, privateKey } = await newStoredKey('ES256', kek, { createdAt: 1000, activatesAt: 2000 });
  assert.equal(stored.createdAt, 1000);
  assert.equal(stored.activatesAt, 2000);
  assert.equal(stored.retiresAt, undefined);
  const opened = unsealPrivateKey(stored.sealedPrivateKey, stored.kid, kek);
  assert.deepEqual(opened.export({ format: 'der', type: 'pkcs8' }), privateKey.export({ format: 'der', type: 'pkcs8' }));
  await checkKeyPair(stored, opened);
});

test('a record whose private key is not its public key is refused', async () => {
  const kek = await kekFromText(randomBytes(32).toString('hex'));
  const a = await newStoredKey('ES256', kek, { createdAt: 0, activatesAt: 0 });
  const b = await generateSigningKey('ES256');
  await assert.rejects(checkKeyPair(a.stored, b.privateKey), new RegExp(`signing key ${a.stored.kid}: its private key does not match`));
});
