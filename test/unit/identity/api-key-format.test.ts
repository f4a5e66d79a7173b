// The API key format: generation, strict parsing by position, the leak-scanner pattern, the HMAC
// the store keeps, and the validation shared by the CLI and the admin API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashSecret, issueProblem, KEY_ID_PATTERN, KEY_LENGTH, KEY_PATTERN, KEY_SCAN_PATTERN, newKey, parseDuration, parseKey, secretMatches } from '../../../src/identity/api-keys/keys.ts';

const HMAC = 'unit-test-hmac-secret-0123456789abcdef';

test('a new key is ctx_, a 12-character [a-z2-7] id, _, and 43 base64url characters', () => {
  const ids = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const { key, keyId, secret } = newKey();
    assert.equal(key.length, KEY_LENGTH);
    assert.match(key, KEY_PATTERN);
    assert.match(keyId, KEY_ID_PATTERN);
    assert.equal(Buffer.from(secret, 'base64url').length, 32);
    assert.deepEqual(parseKey(key), { keyId, secret });
    ids.add(keyId);
  }
  assert.equal(ids.size, 200, 'ids are random');
});

test('a secret containing _ still splits by position', () => {
  const key = `ctx_abcdefgh2345_${'_'.repeat(20)}${'-'.repeat(23)}`;
  assert.deepEqual(parseKey(key), { keyId: 'abcdefgh2345', secret: `${'_'.repeat(20)}${'-'.repeat(23)}` });
});

test('every other shape is refused', () => {
  const good = newKey().key;
  for (const value of [
    '',
    'ctx_',
    good.slice(0, -1),
    `${good}A`,
    `CTX_${good.slice(4)}`,
    `ctx-${good.slice(4)}`,
    `ctx_${good.slice(4, 16).toUpperCase()}${good.slice(16)}`,
    `ctx_abcdefgh2301${good.slice(16)}`, // 0 and 1 are not in the alphabet
    `${good.slice(0, 16)}-${good.slice(17)}`,
    `${good.slice(0, -1)}=`,
    `${good.slice(0, -1)}+`,
    ` ${good.slice(1)}`,
    `${good.slice(0, -1)}\n`,
    'ctx_' + 'a'.repeat(10_240),
  ]) {
    assert.equal(parseKey(value), undefined, JSON.stringify(value.slice(0, 80)));
  }
});

test('the scan pattern finds keys inside text but not inside longer tokens', () => {
  const a = newKey().key;
  const b = newKey().key;
  const text = `export KEY=${a}\ncurl -H "x-api-key: ${b}" https://api\nnot: x${a}y`;
  assert.deepEqual(text.match(KEY_SCAN_PATTERN), [a, b]);
});

test('the stored HMAC matches only its own secret under its own HMAC key', () => {
  const { secret } = newKey();
  const stored = hashSecret(HMAC, secret);
  assert.equal(stored.length, 32);
  assert.ok(secretMatches(HMAC, secret, stored));
  assert.ok(!secretMatches(HMAC, newKey().secret, stored));
  assert.ok(!secretMatches(`${HMAC}x`, secret, stored));
  assert.ok(!secretMatches(HMAC, secret, stored.subarray(0, 16)), 'a truncated hash never matches');
});

test('durations: s, m, h, d, w', () => {
  assert.equal(parseDuration('90s'), 90);
  assert.equal(parseDuration('15m'), 900);
  assert.equal(parseDuration('12h'), 43_200);
  assert.equal(parseDuration('30d'), 2_592_000);
  assert.equal(parseDuration('2w'), 1_209_600);
  for (const bad of ['', '30', 'd', '0d', '-1d', '1.5d', '30 d', '30D', '1y']) assert.equal(parseDuration(bad), undefined, bad);
});

test('issue requests: what the CLI and the admin API accept', () => {
  assert.equal(issueProblem({ kind: 'service', subject: 'billing', roles: ['a', 'b'] }), undefined);
  assert.equal(issueProblem({ kind: 'user', subject: 'alice@example.com', roles: [], expiresInSeconds: 60, description: 'laptop' }), undefined);
  const bad: unknown[] = [
    null,
    [],
    'x',
    { kind: 'agent', subject: 'a', roles: [] },
    { kind: 'user', subject: '', roles: [] },
    { kind: 'user', subject: ' alice', roles: [] },
    { kind: 'user', subject: 'al\nice', roles: [] },
    { kind: 'user', subject: 'a'.repeat(201), roles: [] },
    { kind: 'user', subject: 'a', roles: ['has space'] },
    { kind: 'user', subject: 'a', roles: [1] },
    { kind: 'user', subject: 'a', roles: Array.from({ length: 51 }, (_, i) => `r${i}`) },
    { kind: 'user', subject: 'a', roles: [], expiresInSeconds: 0 },
    { kind: 'user', subject: 'a', roles: [], expiresInSeconds: 1.5 },
    { kind: 'user', subject: 'a', roles: [], description: 7 },
    { kind: 'user', subject: 'a', roles: [], keyId: 'mine' },
  ];
  for (const input of bad) assert.equal(typeof issueProblem(input), 'string', JSON.stringify(input));
});
