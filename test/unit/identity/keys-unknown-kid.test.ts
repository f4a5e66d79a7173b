import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyRefresh } from '../../../src/identity/types.ts';
import { JWKS_PATH, keySource, readySource, rsaKey, startIdp, waitFor } from './keys-fake-idp.ts';

const INTERVAL = 30_000;

function flood(source: { refreshForUnknownKid(kid: string): Promise<KeyRefresh> }, n: number, kid: (i: number) => string): Promise<KeyRefresh[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => source.refreshForUnknownKid(kid(i))));
}

void test('an unknown-kid flood causes one key set request, then none until the interval has passed', async (t) => {
  const [k1, k2] = await Promise.all([rsaKey('k1'), rsaKey('k2')]);
  const idp = await startIdp([k1]);
  t.after(() => idp.stop());
  let clock = 1_000_000;
  const source = await readySource(idp, { unknownKeyRefetchMinIntervalMs: INTERVAL, now: () => clock });
  t.after(() => source.close());
  idp.setKeys([k1, k2]);
  idp.resetHits();

  const first = await flood(source, 200, (i) => (i % 2 === 0 ? 'k2' : `made-up-${i}`));
  assert.equal(idp.hitsOf(JWKS_PATH), 1);
  assert.deepEqual(new Set(first.filter((_, i) => i % 2 === 0)), new Set(['refreshed']));
  assert.deepEqual(new Set(first.filter((_, i) => i % 2 === 1)), new Set(['unchanged']));

  clock += INTERVAL - 1;
  const second = await flood(source, 200, (i) => `again-${i}`);
  assert.deepEqual(new Set(second), new Set(['rate_limited']));
  assert.equal(idp.hitsOf(JWKS_PATH), 1);

  clock += 1;
  assert.equal(await source.refreshForUnknownKid('later'), 'unchanged');
  assert.equal(idp.hitsOf(JWKS_PATH), 2);
  assert.equal(await source.refreshForUnknownKid('later'), 'rate_limited');
  assert.equal(idp.hitsOf(JWKS_PATH), 2);
});

void test('a kid the set already holds answers refreshed without a request', async (t) => {
  const idp = await startIdp([await rsaKey('k1')]);
  t.after(() => idp.stop());
  const source = await readySource(idp, { unknownKeyRefetchMinIntervalMs: INTERVAL });
  t.after(() => source.close());
  idp.resetHits();
  assert.equal(await source.refreshForUnknownKid('k1'), 'refreshed');
  assert.equal(idp.hitsOf(JWKS_PATH), 0);
});

void test('calls made while a refetch is in flight join it instead of being rate limited', async (t) => {
  const [k1, k2] = await Promise.all([rsaKey('k1'), rsaKey('k2')]);
  const idp = await startIdp([k1]);
  t.after(() => idp.stop());
  const source = await readySource(idp, { unknownKeyRefetchMinIntervalMs: INTERVAL });
  t.after(() => source.close());
  idp.resetHits();
  idp.routes.set(JWKS_PATH, { hang: true });

  const first = source.refreshForUnknownKid('k2');
  await waitFor(() => idp.hitsOf(JWKS_PATH) === 1, 'the refetch to reach the IdP');
  const joined = flood(source, 50, () => 'k2');
  idp.setKeys([k1, k2]);
  idp.server?.closeAllConnections();
  assert.equal(await first, 'failed');
  assert.deepEqual(new Set(await joined), new Set(['failed']));
  assert.equal(idp.hitsOf(JWKS_PATH), 1);
  assert.equal(await source.refreshForUnknownKid('k2'), 'rate_limited');
});

void test('the first unknown kid before any key set triggers discovery and the key set', async (t) => {
  const idp = await startIdp([await rsaKey('k1')]);
  t.after(() => idp.stop());
  const source = keySource(idp, { unknownKeyRefetchMinIntervalMs: INTERVAL });
  t.after(() => source.close());
  assert.equal(await source.refreshForUnknownKid('k1'), 'refreshed');
  assert.equal(source.ready(), true);
  assert.ok(source.metadata());
});

void test('close() settles an in-flight refetch as failed and stops the timers', async (t) => {
  const idp = await startIdp([await rsaKey('k1')]);
  t.after(() => idp.stop());
  const source = await readySource(idp, { refreshIntervalMs: 20 });
  idp.routes.set(JWKS_PATH, { hang: true });
  idp.resetHits();
  const pending = source.refreshForUnknownKid('k9');
  await waitFor(() => idp.hitsOf(JWKS_PATH) === 1, 'the refetch to reach the IdP');

  source.close();
  assert.equal(await pending, 'failed');
  assert.equal(await source.refreshForUnknownKid('k9'), 'failed');
  assert.equal(source.ready(), true, 'the last good set stays readable after close');
  const hits = idp.hitsOf(JWKS_PATH) + idp.hitsOf('/.well-known/openid-configuration');
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(idp.hitsOf(JWKS_PATH) + idp.hitsOf('/.well-known/openid-configuration'), hits, 'no request after close');
});

void test('close() during the first fetch leaves nothing unhandled', async (t) => {
  const idp = await startIdp([await rsaKey('k1')]);
  t.after(() => idp.stop());
  idp.routes.set('/.well-known/openid-configuration', { hang: true });
  const source = keySource(idp);
  source.start();
  await waitFor(() => idp.hitsOf('/.well-known/openid-configuration') === 1, 'discovery to reach the IdP');
  source.close();
  source.start();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(source.ready(), false);
  assert.equal(source.status().failures, 0, 'a cancelled fetch is not an IdP failure');
});
