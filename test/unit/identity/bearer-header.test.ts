import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateHeaderValue } from 'node:http';
import { bearerToken, checkTokenSyntax } from '../../../src/identity/bearer.ts';
import { authnFailure } from '../../../src/identity/types.ts';
import type { AuthnFailure } from '../../../src/identity/types.ts';
import { wwwAuthenticate } from '../../../src/filters/authn/authn-filter.ts';

const MAX = 64;
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

/** What a request's header comes to on a cache miss: the token's place, then its syntax. */
function tokenOf(header: string | undefined, max: number): string | AuthnFailure {
  const token = bearerToken(header, max);
  return typeof token === 'string' ? (checkTokenSyntax(token) ?? token) : token;
}

function refused(header: string | undefined, max = MAX): AuthnFailure {
  const result = tokenOf(header, max);
  assert.ok(typeof result !== 'string', `expected ${JSON.stringify(header)} to be refused, got a token`);
  return result;
}

const outcome = (f: AuthnFailure): [string, string | undefined] => [f.code, f.error];

test('no header, or an empty one, is authn.missing without an error code', () => {
  assert.deepEqual(outcome(refused(undefined)), ['authn.missing', undefined]);
  assert.deepEqual(outcome(refused('')), ['authn.missing', undefined]);
});

test('a scheme other than Bearer is a malformed request', () => {
  for (const header of ['Basic YWxpY2U6cHc=', 'Token abc', 'DPoP abc', 'Bearerx abc', 'Bearer-abc', ' Bearer abc', 'Bearer\tabc', `Bearer:${JWT}`]) {
    assert.deepEqual(outcome(refused(header)), ['authn.malformed', 'invalid_request'], header);
  }
});

test("'Bearer' without a token is a malformed request, not a missing credential", () => {
  for (const header of ['Bearer', 'bearer', 'Bearer ', 'Bearer    ']) {
    assert.deepEqual(outcome(refused(header)), ['authn.malformed', 'invalid_request'], JSON.stringify(header));
  }
});

test('the scheme is matched without case and extra spaces around the token are ignored', () => {
  for (const header of [`Bearer ${JWT}`, `bearer ${JWT}`, `BEARER ${JWT}`, `bEaReR ${JWT}`, `Bearer    ${JWT}`, `Bearer ${JWT}  `]) {
    assert.equal(tokenOf(header, 1024), JWT, JSON.stringify(header));
  }
});

test('the token is an RFC 6750 b64token: the whole charset, then only trailing =', () => {
  const charset = 'AZaz09-._~+/';
  assert.equal(tokenOf(`Bearer ${charset}`, MAX), charset);
  for (const token of ['abc=', 'abc==', 'abc===', 'a']) assert.equal(tokenOf(`Bearer ${token}`, MAX), token);
  for (const token of ['=', '==abc', 'ab=c', 'a=.b', 'a b', 'a,b', 'a"b', 'a\\b', 'a;b', 'a%2Fb', 'a\u0000b', 'a\u007fb']) {
    assert.deepEqual(outcome(refused(`Bearer ${token}`)), ['authn.malformed', 'invalid_request'], JSON.stringify(token));
  }
});

test('non-ASCII characters in the token are refused', () => {
  for (const token of ['tok\u00e9n', 'tok\u00a0en', '\u0442\u043e\u043a\u0435\u043d', 'tok\u{1F511}en', 'ＡＢＣ']) {
    assert.deepEqual(outcome(refused(`Bearer ${token}`)), ['authn.malformed', 'invalid_request'], JSON.stringify(token));
  }
});

test('a token over the size limit is authn.token_too_large (an invalid token, not a bad request)', () => {
  assert.equal(tokenOf(`Bearer ${'a'.repeat(MAX)}`, MAX), 'a'.repeat(MAX));
  const big = refused(`Bearer ${'a'.repeat(MAX + 1)}`);
  assert.deepEqual(outcome(big), ['authn.token_too_large', undefined]);
  assert.match(big.description, new RegExp(`${MAX} bytes`));
  assert.equal(refused(`Bearer ${'€'.repeat(MAX + 1)}`).code, 'authn.token_too_large');
});

test('failure descriptions never echo the token', () => {
  const secret = 'c2VjcmV0LXRva2Vu';
  for (const header of [`Basic ${secret}`, `Bearer ${secret}?`, `Bearer ${secret.repeat(10)}`]) {
    assert.ok(!refused(header).description.includes(secret), header);
  }
});

/** Parses `Bearer k="v", k="v"` as RFC 7235 auth-params with RFC 9110 quoted-strings. */
function parseChallenge(header: string): Record<string, string> {
  const m = /^Bearer (.*)$/.exec(header);
  assert.ok(m, header);
  const params: Record<string, string> = {};
  const param = /\s*([A-Za-z_]+)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let rest = m[1] as string;
  while (rest !== '') {
    param.lastIndex = 0;
    const p = param.exec(rest);
    assert.ok(p, `unparseable auth-param at ${JSON.stringify(rest)}`);
    const name = p[1] as string;
    assert.ok(!Object.hasOwn(params, name), `duplicate parameter ${name}`);
    params[name] = (p[2] as string).replace(/\\(.)/g, '$1');
    rest = rest.slice(param.lastIndex);
  }
  return params;
}

test('a request without credentials gets a challenge with no error parameter', () => {
  const header = wwwAuthenticate(refused(undefined));
  assert.deepEqual(parseChallenge(header), { realm: 'cortex' });
});

test('a malformed Authorization header gets error="invalid_request"', () => {
  const params = parseChallenge(wwwAuthenticate(refused('Basic abc')));
  assert.equal(params.error, 'invalid_request');
  assert.equal(params.error_description, 'The Authorization header must use the Bearer scheme.');
});

test('every other failure gets error="invalid_token"', () => {
  for (const failure of [refused(`Bearer ${'a'.repeat(MAX + 1)}`), authnFailure('authn.token_expired', 'The token has expired.'), authnFailure('authn.bad_audience', 'x')]) {
    assert.equal(parseChallenge(wwwAuthenticate(failure)).error, 'invalid_token', failure.code);
  }
});

test('quotes and backslashes in a description cannot break out of the quoted string', () => {
  const hostile = [
    'say "hi", error="none"',
    'ends with a backslash \\',
    '\\", realm="evil',
    'mixed \\"\\\\"" quotes',
  ];
  for (const description of hostile) {
    const header = wwwAuthenticate(authnFailure('authn.bad_claims', description));
    assert.doesNotThrow(() => validateHeaderValue('www-authenticate', header));
    const params = parseChallenge(header);
    assert.deepEqual(Object.keys(params), ['realm', 'error', 'error_description'], header);
    assert.equal(params.realm, 'cortex');
    assert.equal(params.error, 'invalid_token');
    assert.equal(params.error_description?.length, description.length, header);
  }
});
