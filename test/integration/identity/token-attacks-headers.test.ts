// The Authorization header itself, as bytes on the wire: absent, empty, another scheme, no token,
// characters outside RFC 6750 b64token, obs-fold and NUL, twice, and too large; and a flood of
// made-up kids, which must not become a flood of JWKS requests at the IdP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { header, rawExchange, send } from '../../helpers/gateway-checks.ts';
import { rawRequest } from '../../helpers/raw-http.ts';
import { aliceClaims, assertRefused, atHeader, attacker, expectAccepted, expectRefused, expectRefusedHeader, signJwt, startHarness } from './token-attacks-kit.ts';
import type { Harness, Refusal } from './token-attacks-kit.ts';

let h: Harness;
let token: string;

before(async () => {
  h = await startHarness();
  token = await h.idp.tokenFor({ sub: 'alice' });
});
after(() => h.close());

const head = (...lines: string[]): string => ['GET /api/orders HTTP/1.1', 'Host: localhost', ...lines, 'Connection: close', '', ''].join('\r\n');

/** Sends raw bytes and checks the refusal; the connection is closed afterwards. */
async function rawRefused(bytes: string, r: Refusal): Promise<void> {
  const before = h.gateway.upstream.requests.length;
  const { res, conn } = await rawExchange(h.gateway.gw.port, bytes);
  conn.destroy();
  await assertRefused(h, res, r, before);
}

test('no Authorization header → 401 authn.missing with the bare challenge', async () => {
  await expectRefusedHeader(h, undefined, { code: 'authn.missing', error: null });
});

test('an empty Authorization header → 401 authn.missing with the bare challenge', async () => {
  await rawRefused(head('Authorization:'), { code: 'authn.missing', error: null });
});

test('Authorization: Basic → 401 authn.malformed, invalid_request', async () => {
  const credentials = Buffer.from('alice:correct-horse-battery').toString('base64');
  await expectRefusedHeader(h, `Basic ${credentials}`, { code: 'authn.malformed', error: 'invalid_request', secrets: [credentials] });
});

test('a real token under another scheme name (Token, DPoP) → 401 authn.malformed, invalid_request', async () => {
  await expectRefusedHeader(h, `Token ${token}`, { code: 'authn.malformed', error: 'invalid_request', secrets: [token] });
  await expectRefusedHeader(h, `DPoP ${token}`, { code: 'authn.malformed', error: 'invalid_request', secrets: [token] });
});

test('Bearer with no token → 401 authn.malformed, invalid_request', async () => {
  await expectRefusedHeader(h, 'Bearer', { code: 'authn.malformed', error: 'invalid_request' });
});

test('Bearer followed only by spaces (raw) → 401 authn.malformed, invalid_request', async () => {
  await rawRefused(head('Authorization: Bearer     '), { code: 'authn.malformed', error: 'invalid_request' });
});

test('a real token in quotes → 401 authn.malformed, invalid_request (never unquoted)', async () => {
  await expectRefused(h, `"${token}"`, 'authn.malformed', { error: 'invalid_request' });
});

test('a real token followed by a comma and an auth-param → 401 authn.malformed, invalid_request', async () => {
  await expectRefused(h, `${token}, realm="cortex"`, 'authn.malformed', { error: 'invalid_request' });
});

test('a real token with a space inside → 401 authn.malformed, invalid_request', async () => {
  await expectRefused(h, `${token.slice(0, 40)} ${token.slice(40)}`, 'authn.malformed', { error: 'invalid_request' });
});

test('an Authorization header continued by obs-fold (raw) → 400 request.malformed, never 500', async () => {
  await rawRefused(head(`Authorization: Bearer ${token.slice(0, 50)}`, ` ${token.slice(50)}`), { code: 'request.malformed', status: 400, secrets: [token] });
});

test('a NUL byte inside the token (raw) → 400 request.malformed, never 500', async () => {
  await rawRefused(head(`Authorization: Bearer ${token.slice(0, 50)}\0${token.slice(50)}`), { code: 'request.malformed', status: 400, secrets: [token] });
});

test('two Authorization headers (raw) → 400 request.duplicate_header', async () => {
  const other = await h.idp.tokenFor({ sub: 'bob' });
  await rawRefused(head(`Authorization: Bearer ${other}`, `authorization: Bearer ${token}`), {
    code: 'request.duplicate_header',
    status: 400,
    secrets: [token, other],
  });
});

test('a real token over maxTokenBytes (a huge claim) → 401 authn.token_too_large', async () => {
  const big = await h.idp.tokenFor({ sub: 'alice', claims: { note: 'x'.repeat(9_000) } });
  assert.ok(big.length > 8_192, `token length ${big.length}`);
  await expectRefused(h, big, 'authn.token_too_large');
});

test('a 100 KB Authorization header → 431 request.header_too_large, never 500', async () => {
  const before = h.gateway.upstream.requests.length;
  const huge = `${token}${'A'.repeat(100 * 1024)}`;
  const res = await rawRequest(h.gateway.gw.port, head(`Authorization: Bearer ${huge}`));
  await assertRefused(h, res, { code: 'request.header_too_large', status: 431, secrets: [token] }, before);
});

test('300 concurrent tokens with fresh random kids → all 401 authn.unknown_key, at most one JWKS refetch', async (t) => {
  const slow = await startHarness((yaml) => yaml.replace('unknownKeyRefetchMinIntervalMs: 200', 'unknownKeyRefetchMinIntervalMs: 60000'));
  t.after(() => slow.close());
  assert.match(readFileSync(slow.gateway.gw.configFile, 'utf8'), /unknownKeyRefetchMinIntervalMs: 60000/);
  const jwksBefore = slow.idp.jwksRequests();
  const upstreamBefore = slow.gateway.upstream.requests.length;
  const tokens = Array.from({ length: 300 }, () => signJwt(attacker.privateKey, atHeader(slow, { kid: randomUUID() }), aliceClaims(slow)));
  const replies = await Promise.all(tokens.map((tk) => send(slow.url, { headers: { authorization: `Bearer ${tk}` } })));
  assert.ok(slow.idp.jwksRequests() - jwksBefore <= 1, `JWKS requests during the flood: ${slow.idp.jwksRequests() - jwksBefore}`);
  for (const [i, reply] of replies.entries()) {
    await assertRefused(slow, reply, { code: 'authn.unknown_key', secrets: [tokens[i] as string] }, upstreamBefore);
  }
  assert.equal(new Set(replies.map((r) => header(r, 'x-request-id'))).size, 300, 'one request id per request');
  assert.ok(slow.idp.jwksRequests() - jwksBefore <= 1, 'no refetch after the flood either');
  await expectAccepted(slow);
});

test('positive control: a real token for alice is forwarded exactly once', async () => {
  await expectAccepted(h);
});
