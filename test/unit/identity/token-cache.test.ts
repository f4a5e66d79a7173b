import { test } from 'node:test';
import assert from 'node:assert/strict';
import { provider as providerSchema } from '../../../src/config/schema-identity.ts';
import { identityFromClaims } from '../../../src/identity/claims-identity.ts';
import { compileProvider } from '../../../src/identity/provider.ts';
import { TokenCache, tokenDigest } from '../../../src/identity/token-cache.ts';
import type { CachedToken } from '../../../src/identity/token-cache.ts';
import { UNUSED_KEYS } from './unused-keys.ts';

const T0 = 1_700_000_000_000;
const ISS_A = 'https://a.example.com';
const ISS_B = 'https://b.example.com';

const keys = UNUSED_KEYS;
const provider = compileProvider('a', providerSchema.parse({ issuer: ISS_A, audiences: ['api'] }), { keys, introspector: undefined });

function entry(opts: { sub?: string; iss?: string; keyId?: string; expiresAtMs?: number } = {}): CachedToken {
  const claims = { iss: opts.iss ?? ISS_A, sub: opts.sub ?? 'alice', exp: (opts.expiresAtMs ?? T0 + 60_000) / 1000 };
  const identity = identityFromClaims(provider, claims, 'jwt', opts.keyId);
  assert.ok('subject' in identity);
  return {
    provider,
    audiences: ['api'],
    idToken: false,
    claims,
    keyId: opts.keyId,
    method: 'jwt',
    expiresAtMs: opts.expiresAtMs ?? T0 + 60_000,
    identity,
  };
}

const present = (cache: TokenCache, digests: readonly string[], now = T0): string[] => digests.filter((d) => cache.get(d, now) !== undefined);

test('an entry is served until its exp and dead from exp on', () => {
  const cache = new TokenCache(10);
  const e = entry({ expiresAtMs: T0 + 5_000 });
  cache.set('d', e);
  assert.equal(cache.get('d', T0), e);
  assert.equal(cache.get('d', T0 + 4_999), e);
  assert.equal(cache.get('d', T0 + 5_000), undefined);
  assert.equal(cache.size, 0, 'an expired entry is removed when found');
  assert.equal(cache.get('d', T0), undefined, 'and stays gone even for an earlier clock');
});

test('a full cache evicts the oldest entry first', () => {
  const cache = new TokenCache(3);
  for (const d of ['a', 'b', 'c', 'd']) cache.set(d, entry({ sub: d }));
  assert.equal(cache.size, 3);
  assert.deepEqual(present(cache, ['a', 'b', 'c', 'd']), ['b', 'c', 'd']);
  cache.set('e', entry());
  assert.deepEqual(present(cache, ['b', 'c', 'd', 'e']), ['c', 'd', 'e']);
});

test('setting a digest already present replaces it without evicting another', () => {
  const cache = new TokenCache(2);
  cache.set('a', entry({ sub: 'a' }));
  cache.set('b', entry({ sub: 'b' }));
  const replacement = entry({ sub: 'a2' });
  cache.set('a', replacement);
  assert.equal(cache.size, 2);
  assert.equal(cache.get('a', T0), replacement);
  assert.ok(cache.get('b', T0));
});

test('maxEntries 0 stores nothing', () => {
  const cache = new TokenCache(0);
  cache.set('a', entry());
  assert.equal(cache.size, 0);
  assert.equal(cache.get('a', T0), undefined);
});

test('resizing down drops the oldest entries; resizing to 0 empties and disables the cache', () => {
  const cache = new TokenCache(5);
  for (const d of ['a', 'b', 'c', 'd', 'e']) cache.set(d, entry({ sub: d }));
  cache.resize(2);
  assert.equal(cache.size, 2);
  assert.deepEqual(present(cache, ['a', 'b', 'c', 'd', 'e']), ['d', 'e']);
  cache.set('f', entry());
  assert.deepEqual(present(cache, ['d', 'e', 'f']), ['e', 'f']);
  cache.resize(0);
  assert.equal(cache.size, 0);
  cache.set('g', entry());
  assert.equal(cache.size, 0);
  cache.resize(4);
  for (const d of ['h', 'i', 'j']) cache.set(d, entry());
  assert.equal(cache.size, 3);
});

test('dropKeys drops only tokens of the matching issuer signed by the named kids', () => {
  const cache = new TokenCache(10);
  cache.set('a-k1', entry({ keyId: 'k1' }));
  cache.set('a-k2', entry({ keyId: 'k2' }));
  cache.set('a-k3', entry({ keyId: 'k3' }));
  cache.set('a-none', entry({ keyId: undefined }));
  cache.set('b-k1', entry({ iss: ISS_B, keyId: 'k1' }));
  const dropped = cache.dropKeys((iss) => iss === ISS_A, ['k1', 'k2', 'k9']);
  assert.equal(dropped, 2);
  assert.deepEqual(present(cache, ['a-k1', 'a-k2', 'a-k3', 'a-none', 'b-k1']), ['a-k3', 'a-none', 'b-k1']);
  assert.equal(cache.dropKeys((iss) => iss === ISS_A, []), 0);
  assert.equal(cache.dropKeys(() => false, ['k3']), 0);
  assert.equal(cache.size, 3);
});

test('hits and misses are counted, an expired entry as a miss', () => {
  const cache = new TokenCache(10);
  cache.set('a', entry({ expiresAtMs: T0 + 1_000 }));
  cache.get('a', T0);
  cache.get('a', T0 + 1);
  cache.get('zzz', T0);
  cache.get('a', T0 + 1_000);
  assert.deepEqual([cache.hits, cache.misses], [2, 2]);
  cache.clear();
  assert.equal(cache.size, 0);
  cache.get('a', T0);
  assert.deepEqual([cache.hits, cache.misses], [2, 3]);
});

test('tokenDigest is stable, fixed-length, distinct per token, and does not contain the token', () => {
  const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
  const digest = tokenDigest(token);
  assert.equal(tokenDigest(token), digest);
  assert.match(digest, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(digest, token);
  for (const part of token.split('.')) assert.ok(!digest.includes(part));
  assert.notEqual(tokenDigest(`${token}x`), digest);
  assert.notEqual(tokenDigest(token.toLowerCase()), digest);
  assert.equal(tokenDigest('x'.repeat(20_000)).length, 43);
});
