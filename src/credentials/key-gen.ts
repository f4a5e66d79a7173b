// New signing keys: a key pair from node:crypto, the public half as a JWK (jose), and the kid.
// The kid is the RFC 7638 SHA-256 thumbprint of the public JWK: unique per key, derivable by any
// verifier, and it binds the sealed private key (sealed with the kid as AAD) to its public half.
import { createPublicKey, generateKeyPair } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { sealPrivateKey, UnsealError } from './key-seal.ts';
import type { SigningAlgorithm, StoredKey } from './types.ts';

const generate = promisify(generateKeyPair);

export interface GeneratedKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly publicJwk: Record<string, unknown>;
  readonly privateKey: KeyObject;
}

async function keyPair(alg: SigningAlgorithm): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  if (alg === 'ES256') return generate('ec', { namedCurve: 'P-256' });
  if (alg === 'EdDSA') return generate('ed25519');
  return generate('rsa', { modulusLength: 2048 });
}

/** The public JWK of `publicKey` as published: key members plus kid, alg and use: sig. */
export async function publicJwkOf(publicKey: KeyObject, alg: SigningAlgorithm): Promise<Record<string, unknown> & { kid: string }> {
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { ...jwk, kid, alg, use: 'sig' };
}

export async function generateSigningKey(alg: SigningAlgorithm): Promise<GeneratedKey> {
  const { publicKey, privateKey } = await keyPair(alg);
  const publicJwk = await publicJwkOf(publicKey, alg);
  return { kid: publicJwk.kid, alg, publicJwk, privateKey };
}

/** A new key, sealed for storage, with its schedule. */
export async function newStoredKey(alg: SigningAlgorithm, kek: KeyObject, times: { createdAt: number; activatesAt: number }): Promise<{ stored: StoredKey; privateKey: KeyObject }> {
  const key = await generateSigningKey(alg);
  const stored: StoredKey = { kid: key.kid, alg, publicJwk: key.publicJwk, sealedPrivateKey: sealPrivateKey(key.privateKey, key.kid, kek), ...times };
  return { stored, privateKey: key.privateKey };
}

/** Refuses a private key whose public half is not the record's (a record stitched from two keys). */
export async function checkKeyPair(stored: StoredKey, privateKey: KeyObject): Promise<void> {
  const derived = await publicJwkOf(createPublicKey(privateKey), stored.alg);
  if (derived.kid !== stored.kid) throw new UnsealError(stored.kid, `signing key ${stored.kid}: its private key does not match its public key`);
}
