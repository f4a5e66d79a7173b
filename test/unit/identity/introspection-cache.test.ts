import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import {
  INACTIVE_TTL_SECONDS,
  activeClaimsProblem,
  cacheUntil,
  checkEndpoint,
  createAnswerCache,
  createCachedIntrospector,
} from '../../../src/identity/introspection/answer-cache.ts';
import type { IntrospectionResult } from '../../../src/identity/types.ts';

const T0 = 1_700_000_000_000;
const active = (exp?: number): IntrospectionResult => ({ kind: 'active', claims: exp === undefined ? { sub: 'u' } : { sub: 'u', exp } });
const inactive: IntrospectionResult = { kind: 'inactive' };

test('an active answer is cached until the earlier of exp and maxCacheSeconds', () => {
  assert.equal(cacheUntil(active(T0 / 1000 + 10), 60, T0), T0 + 10_000);
  assert.equal(cacheUntil(active(T0 / 1000 + 600), 60, T0), T0 + 60_000);
  assert.equal(cacheUntil(active(), 60, T0), T0 + 60_000);
  assert.equal(cacheUntil(active(T0 / 1000 - 1), 60, T0), undefined);
});

test('an inactive answer is cached for at most 30 s, an unavailable one never, nothing at maxCacheSeconds 0', () => {
  assert.equal(cacheUntil(inactive, 600, T0), T0 + INACTIVE_TTL_SECONDS * 1000);
  assert.equal(cacheUntil(inactive, 10, T0), T0 + 10_000);
  assert.equal(cacheUntil({ kind: 'unavailable' }, 600, T0), undefined);
  assert.equal(cacheUntil(active(T0 / 1000 + 100), 0, T0), undefined);
  assert.equal(cacheUntil(inactive, 0, T0), undefined);
});

test('entries expire by the injected clock', () => {
  let now = T0;
  const cache = createAnswerCache({ maxCacheSeconds: 60, maxEntries: 10, now: () => now });
  cache.set('a', active(T0 / 1000 + 20));
  cache.set('i', inactive);
  now = T0 + 19_999;
  assert.equal(cache.get('a')?.kind, 'active');
  assert.equal(cache.get('i')?.kind, 'inactive');
  now = T0 + 20_000;
  assert.equal(cache.get('a'), undefined);
  now = T0 + 30_000;
  assert.equal(cache.get('i'), undefined);
  assert.equal(cache.size, 0);
});

test('the least recently used entry is evicted first', () => {
  const cache = createAnswerCache({ maxCacheSeconds: 60, maxEntries: 2, now: () => T0 });
  cache.set('a', active());
  cache.set('b', active());
  assert.ok(cache.get('a'));
  cache.set('c', active());
  assert.equal(cache.size, 2);
  assert.equal(cache.get('b'), undefined);
  assert.ok(cache.get('a'));
  assert.ok(cache.get('c'));
});

test('maxEntries 0 caches nothing', () => {
  const cache = createAnswerCache({ maxCacheSeconds: 60, maxEntries: 0, now: () => T0 });
  cache.set('a', active());
  assert.equal(cache.size, 0);
});

test('active claims of the wrong type, another issuer or outside their times are refused', () => {
  const iss = 'https://idp.example';
  const now = T0;
  const exp = T0 / 1000 + 60;
  assert.equal(activeClaimsProblem({ iss, sub: 'u', exp }, iss, now), undefined);
  assert.equal(activeClaimsProblem({ sub: 'u' }, iss, now), undefined);
  assert.match(activeClaimsProblem({ sub: 42, exp }, iss, now) ?? '', /sub/);
  assert.match(activeClaimsProblem({ exp: String(exp) }, iss, now) ?? '', /exp/);
  assert.match(activeClaimsProblem({ aud: [1] }, iss, now) ?? '', /aud/);
  assert.match(activeClaimsProblem({ iss: 'https://other.example', exp }, iss, now) ?? '', /issuer/);
  assert.match(activeClaimsProblem({ exp: T0 / 1000 }, iss, now) ?? '', /expired/);
  assert.match(activeClaimsProblem({ nbf: T0 / 1000 + 5 }, iss, now) ?? '', /not yet/);
});

test('plain http is allowed only to this machine', () => {
  assert.equal(checkEndpoint('http://127.0.0.1:9/x', 't').insecure, true);
  assert.equal(checkEndpoint('http://localhost/x', 't').insecure, true);
  assert.equal(checkEndpoint('http://[::1]:8080/x', 't').insecure, true);
  assert.equal(checkEndpoint('https://idp.example/x', 't').insecure, false);
  assert.throws(() => checkEndpoint('http://idp.example/introspect', 't'), /must use https/);
  assert.throws(() => checkEndpoint('http://127.0.0.2/introspect', 't'), /must use https/);
  assert.throws(() => checkEndpoint('ftp://127.0.0.1/x', 't'), /must use https/);
  assert.throws(() => checkEndpoint('not a url', 't'), /not a URL/);
});

test('concurrent introspections of one digest share one request; unavailable is not cached', async () => {
  let calls = 0;
  let answer: IntrospectionResult = { kind: 'unavailable' };
  const introspector = createCachedIntrospector({
    maxCacheSeconds: 60,
    maxEntries: 10,
    maxInFlight: 64,
    now: () => T0,
    log: pino({ level: 'silent' }),
    ask: async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return answer;
    },
  });
  const results = await Promise.all(Array.from({ length: 20 }, () => introspector.introspect('tok', 'd1')));
  assert.equal(calls, 1);
  assert.ok(results.every((r) => r.kind === 'unavailable'));
  answer = active();
  assert.equal((await introspector.introspect('tok', 'd1')).kind, 'active');
  assert.equal(calls, 2);
  assert.equal((await introspector.introspect('tok', 'd1')).kind, 'active');
  assert.equal(calls, 2);
  introspector.close();
  assert.equal((await introspector.introspect('tok', 'd1')).kind, 'unavailable');
});

test('a throwing request becomes unavailable', async () => {
  const introspector = createCachedIntrospector({
    maxCacheSeconds: 60,
    maxEntries: 10,
    maxInFlight: 64,
    now: () => T0,
    log: pino({ level: 'silent' }),
    ask: () => {
      throw new Error('boom');
    },
  });
  assert.deepEqual(await introspector.introspect('tok', 'd'), { kind: 'unavailable' });
  assert.deepEqual(await introspector.introspect('tok', 'd'), { kind: 'unavailable' });
});

test('a flood of distinct tokens is capped at maxInFlight requests; the rest are unavailable at once', async () => {
  let calls = 0;
  const release: (() => void)[] = [];
  const introspector = createCachedIntrospector({
    maxCacheSeconds: 60,
    maxEntries: 1000,
    maxInFlight: 4,
    now: () => T0,
    log: pino({ level: 'silent' }),
    ask: () => {
      calls++;
      return new Promise<IntrospectionResult>((resolve) => release.push(() => resolve({ kind: 'inactive' })));
    },
  });
  const flood = Array.from({ length: 50 }, (_, i) => introspector.introspect(`tok-${i}`, `d-${i}`));
  assert.equal(calls, 4, 'only maxInFlight requests reach the provider');
  for (const r of release) r();
  const results = await Promise.all(flood);
  assert.equal(results.filter((r) => r.kind === 'inactive').length, 4);
  assert.equal(results.filter((r) => r.kind === 'unavailable').length, 46);
  assert.equal((await introspector.introspect('tok-0', 'd-0')).kind, 'inactive', 'answered ones are cached');
  assert.equal(calls, 4);
});
