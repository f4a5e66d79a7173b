// The JOSE layer of RFC 8725: alg none, RS/HS key confusion, keys and key locations carried in the
// token, kid tricks, crit, JWE, garbage, and signatures that do not cover these exact bytes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createTestCa } from '../../helpers/certs.ts';
import type { TestCa } from '../../helpers/certs.ts';
import { aliceClaims, atHeader, attacker, b64u, expectAccepted, expectRefused, hmacJwt, idpSigned, signJwt, startHarness } from './token-attacks-kit.ts';
import type { Harness } from './token-attacks-kit.ts';

let h: Harness;
/** A server an attacker controls, for jku and x5u: it must never be asked for anything. */
let lure: Server;
let lureUrl: string;
const lureHits: string[] = [];

before(async () => {
  h = await startHarness();
  lure = createServer((req, res) => {
    lureHits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [attackerJwk()] }));
  });
  await new Promise<void>((resolve) => lure.listen(0, '127.0.0.1', resolve));
  lureUrl = `http://127.0.0.1:${(lure.address() as AddressInfo).port}`;
});
after(async () => {
  lure.closeAllConnections();
  lure.close();
  await h.close();
});

const attackerJwk = () => ({ ...attacker.publicKey.export({ format: 'jwk' }), kid: 'attacker-1', alg: 'RS256', use: 'sig' });
/** Alice's claims, signed by the attacker's key under `head`. */
const forged = (head: Record<string, unknown>) => signJwt(attacker.privateKey, atHeader(h, head), aliceClaims(h));
const publicJwk = () => {
  const { kty, n, e } = h.idp.privateJwk();
  return { kty, n, e } as { kty: string; n: string; e: string };
};

test('alg none with an empty signature → 401 authn.unsupported_algorithm', async () => {
  await expectRefused(h, `${b64u(atHeader(h, { alg: 'none' }))}.${b64u(aliceClaims(h))}.`, 'authn.unsupported_algorithm');
});

for (const alg of ['NONE', 'None', 'nOnE']) {
  test(`alg ${alg} with an empty signature → 401 authn.unsupported_algorithm`, async () => {
    await expectRefused(h, `${b64u(atHeader(h, { alg, kid: undefined }))}.${b64u(aliceClaims(h))}.`, 'authn.unsupported_algorithm');
  });
}

test("HS256 keyed with the IdP's public key as PEM text → 401 authn.unsupported_algorithm", async () => {
  const pem = createPublicKey({ key: publicJwk(), format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
  await expectRefused(h, hmacJwt(pem, atHeader(h, { alg: 'HS256' }), aliceClaims(h)), 'authn.unsupported_algorithm');
});

test("HS256 keyed with the bytes of the IdP JWK's n → 401 authn.unsupported_algorithm", async () => {
  const n = Buffer.from(publicJwk().n, 'base64url');
  await expectRefused(h, hmacJwt(n, atHeader(h, { alg: 'HS256' }), aliceClaims(h)), 'authn.unsupported_algorithm');
});

test("a jwk header carrying the attacker's own key, validly signed with it → 401 authn.bad_token_header", async () => {
  await expectRefused(h, forged({ kid: 'attacker-1', jwk: attackerJwk() }), 'authn.bad_token_header');
});

test('a jku header pointing at an attacker server → 401 authn.bad_token_header, and the server is never asked', async () => {
  await expectRefused(h, forged({ kid: 'attacker-1', jku: `${lureUrl}/jwks` }), 'authn.bad_token_header');
  assert.deepEqual(lureHits, []);
});

test('an x5u header pointing at an attacker server → 401 authn.bad_token_header, and the server is never asked', async () => {
  await expectRefused(h, forged({ kid: 'attacker-1', x5u: `${lureUrl}/cert.pem` }), 'authn.bad_token_header');
  assert.deepEqual(lureHits, []);
});

test('an x5c header with a self-signed certificate, signed with its key (ES256) → 401 authn.bad_token_header', async (t) => {
  const ca: TestCa = createTestCa();
  t.after(() => ca.close());
  const der = Buffer.from(readFileSync(join(ca.dir, 'ca.pem'), 'utf8').replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const key = createPrivateKey(readFileSync(join(ca.dir, 'ca.key')));
  const token = signJwt(key, atHeader(h, { alg: 'ES256', kid: undefined, x5c: [der.toString('base64')] }), aliceClaims(h));
  await expectRefused(h, token, 'authn.bad_token_header');
});

test('kid ../../dev/null → 401 authn.unknown_key', async () => {
  await expectRefused(h, forged({ kid: '../../dev/null' }), 'authn.unknown_key', { secrets: ['../../dev/null'] });
});

test("kid ' OR '1'='1 (SQL-ish) → 401 authn.unknown_key", async () => {
  const kid = "x' OR '1'='1' -- ; DROP TABLE keys";
  await expectRefused(h, forged({ kid }), 'authn.unknown_key', { secrets: [kid] });
});

test('a 10 KB kid → 401 authn.token_too_large (refused before parsing)', async () => {
  await expectRefused(h, forged({ kid: 'k'.repeat(10_240) }), 'authn.token_too_large');
});

test('a 1,000-character kid → 401 authn.bad_token_header', async () => {
  await expectRefused(h, forged({ kid: `kid-${'0123456789'.repeat(100)}` }), 'authn.bad_token_header');
});

test("the kid of the IdP's real key, signed by the attacker → 401 authn.bad_signature", async () => {
  await expectRefused(h, forged({}), 'authn.bad_signature');
});

test('kid as a number → 401 authn.bad_token_header', async () => {
  await expectRefused(h, forged({ kid: 1 }), 'authn.bad_token_header');
});

test('kid as an object → 401 authn.bad_token_header', async () => {
  await expectRefused(h, forged({ kid: { $ne: null } }), 'authn.bad_token_header');
});

test('no kid, signed by the attacker → 401 authn.bad_signature', async () => {
  await expectRefused(h, forged({ kid: undefined }), 'authn.bad_signature');
});

test("crit: ['exp'], validly signed by the IdP's key → 401 authn.bad_token_header", async () => {
  await expectRefused(h, idpSigned(h, {}, { crit: ['exp'], exp: 1 }), 'authn.bad_token_header');
});

test("crit: ['b64'] with b64: false, validly signed by the IdP's key → 401 authn.bad_token_header", async () => {
  await expectRefused(h, idpSigned(h, {}, { crit: ['b64'], b64: false }), 'authn.bad_token_header');
});

test('a JWE-shaped token (five segments) → 401 authn.malformed', async () => {
  const jwe = [b64u({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: h.idp.privateJwk().kid }), 'c2VjcmV0LWtleS1ieXRlcw', 'aXYtYnl0ZXMtaGVyZQ', b64u(aliceClaims(h)), 'dGFnLWJ5dGVzLWhlcmU'];
  await expectRefused(h, jwe.join('.'), 'authn.malformed');
});

test('random garbage with two dots → 401 authn.malformed', async () => {
  await expectRefused(h, 'Zm9vYmFyYmF6cXV4.not-json-at-all.c2lnbmF0dXJlLWJ5dGVz', 'authn.malformed');
});

test('a real token with one signature byte flipped → 401 authn.bad_signature', async () => {
  const token = await h.idp.tokenFor({ sub: 'alice' });
  const at = token.lastIndexOf('.') + 20;
  const flipped = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
  await expectRefused(h, flipped, 'authn.bad_signature', { secrets: [token] });
});

test('a real token with its payload re-encoded (same claims, other bytes) → 401 authn.bad_signature', async () => {
  const token = await h.idp.tokenFor({ sub: 'alice' });
  const [head, payload, sig] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  const reencoded = b64u(JSON.stringify(claims, null, 1));
  assert.notEqual(reencoded, payload);
  await expectRefused(h, `${head}.${reencoded}.${sig}`, 'authn.bad_signature', { secrets: [token] });
});

test('positive control: a real token for alice is forwarded exactly once', async () => {
  await expectAccepted(h);
});
