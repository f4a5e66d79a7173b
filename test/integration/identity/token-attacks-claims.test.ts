// Claims that are wrong in tokens whose signature is good: times, issuer, audience, token type,
// ID tokens, and claims of the wrong type (refused, never coerced). Crafted tokens are signed with
// the IdP's own private key, so only the claim under test is wrong.
import { after, before, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import assert from 'node:assert/strict';
import { expectAccepted, expectRefused, idpSigned, startHarness } from './token-attacks-kit.ts';
import type { Harness } from './token-attacks-kit.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const now = () => Math.floor(Date.now() / 1000);

test('exp missing → 401 authn.bad_claims', async () => {
  await expectRefused(h, idpSigned(h, { exp: undefined }), 'authn.bad_claims');
});

test('exp in the past beyond the 30 s skew → 401 authn.token_expired', async () => {
  await expectRefused(h, idpSigned(h, { iat: now() - 600, exp: now() - 120 }), 'authn.token_expired');
});

test('exp as the string "9999999999" → 401 authn.bad_claims (not coerced)', async () => {
  await expectRefused(h, idpSigned(h, { exp: '9999999999' }), 'authn.bad_claims');
});

test('nbf in the future beyond the skew → 401 authn.token_not_yet_valid', async () => {
  await expectRefused(h, idpSigned(h, { nbf: now() + 300 }), 'authn.token_not_yet_valid');
});

test('iat in the future beyond the skew → 401 authn.token_not_yet_valid', async () => {
  await expectRefused(h, idpSigned(h, { iat: now() + 300, exp: now() + 900 }), 'authn.token_not_yet_valid');
});

test('exp - iat longer than maxTokenLifetimeSeconds (86400) → 401 authn.token_lifetime', async () => {
  await expectRefused(h, idpSigned(h, { iat: now(), exp: now() + 86_400 + 3_600 }), 'authn.token_lifetime');
});

test('no iat and exp more than a day from now → 401 authn.token_lifetime', async () => {
  await expectRefused(h, idpSigned(h, { iat: undefined, exp: now() + 10 * 86_400 }), 'authn.token_lifetime');
});

test("iss another URL, signed by the IdP's key → 401 authn.unknown_issuer", async () => {
  await expectRefused(h, idpSigned(h, { iss: 'https://evil.example' }), 'authn.unknown_issuer');
});

test('iss with a trailing slash added → 401 authn.unknown_issuer (exact match only)', async () => {
  await expectRefused(h, idpSigned(h, { iss: `${h.idp.issuer}/` }), 'authn.unknown_issuer');
});

test('iss missing → 401 authn.bad_claims', async () => {
  await expectRefused(h, idpSigned(h, { iss: undefined }), 'authn.bad_claims');
});

test('iss as an array holding the real issuer → 401 authn.bad_claims', async () => {
  await expectRefused(h, idpSigned(h, { iss: [h.idp.issuer] }), 'authn.bad_claims');
});

test('a real token from the IdP for another audience → 401 authn.bad_audience', async () => {
  const token = await h.idp.tokenFor({ sub: 'alice', audience: 'other-api' });
  assert.notEqual(decodeJwt(token).aud, 'cortex-gateway');
  await expectRefused(h, token, 'authn.bad_audience');
});

test('aud missing → 401 authn.bad_audience', async () => {
  await expectRefused(h, idpSigned(h, { aud: undefined }), 'authn.bad_audience');
});

test('aud as a number → 401 authn.bad_claims', async () => {
  await expectRefused(h, idpSigned(h, { aud: 42 }), 'authn.bad_claims');
});

test("a real ID token from the IdP (no typ, aud cortex-web) → 401 authn.id_token_rejected", async () => {
  const token = await h.idp.idToken('alice');
  assert.equal(decodeProtectedHeader(token).typ, undefined);
  await expectRefused(h, token, 'authn.id_token_rejected');
});

test('an ID token for our own audience, with a nonce → 401 authn.id_token_rejected', async () => {
  await expectRefused(h, idpSigned(h, { client_id: undefined, nonce: 'n-0S6_WzA2Mj', auth_time: now() }, { typ: undefined }), 'authn.id_token_rejected');
});

test('an access token for our audience with typ JWT instead of at+jwt → 401 authn.wrong_token_type', async () => {
  await expectRefused(h, idpSigned(h, {}, { typ: 'JWT' }), 'authn.wrong_token_type');
});

test('sub as an array → 401 authn.bad_claims', async () => {
  await expectRefused(h, idpSigned(h, { sub: ['alice', 'admin'] }), 'authn.bad_claims');
});

test('sub as an empty string → 401 authn.bad_claims', async () => {
  await expectRefused(h, idpSigned(h, { sub: '' }), 'authn.bad_claims');
});

test('act as a string → 401 authn.bad_claims', async () => {
  await expectRefused(h, idpSigned(h, { act: 'assistant' }), 'authn.bad_claims');
});

test('the roles claim (groups) as a string of JSON → 401 authn.bad_claims', async () => {
  await expectRefused(h, idpSigned(h, { groups: '["admins"]' }), 'authn.bad_claims');
});

test('the roles claim (groups) as a string with spaces → 401 authn.bad_claims (never split)', async () => {
  await expectRefused(h, idpSigned(h, { groups: 'not admins' }), 'authn.bad_claims');
});

test('the roles claim (groups) as an object → 401 authn.bad_claims', async () => {
  await expectRefused(h, idpSigned(h, { groups: { admins: true } }), 'authn.bad_claims');
});

test("positive control: a token crafted with the IdP's key and nothing wrong is forwarded", async () => {
  await expectAccepted(h, idpSigned(h));
});

test('positive control: a real token for alice is forwarded exactly once', async () => {
  await expectAccepted(h);
});
