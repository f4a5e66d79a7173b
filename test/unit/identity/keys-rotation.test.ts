import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jwtVerify } from 'jose';
import type { Reply } from './keys-fake-idp.ts';
import { JWKS_PATH, json, readySource, rsaKey, signToken, startIdp, waitFor } from './keys-fake-idp.ts';

void test('rotation: a refetch makes a new key available; dropping the old one reports it and stops accepting it', async (t) => {
  const [k1, k2] = await Promise.all([rsaKey('k1'), rsaKey('k2')]);
  const idp = await startIdp([k1]);
  t.after(() => idp.stop());
  const source = await readySource(idp);
  t.after(() => source.close());
  const removals: (readonly string[])[] = [];
  const otherListener: (readonly string[])[] = [];
  source.onKeysRemoved((kids) => removals.push(kids));
  source.onKeysRemoved((kids) => otherListener.push(kids));
  const oldToken = await signToken(k1, idp.issuer);
  const firstGetKey = source.getKey();

  idp.setKeys([k1, k2]);
  assert.equal(await source.refreshForUnknownKid('k2'), 'refreshed');
  assert.deepEqual(source.status().kids, ['k1', 'k2']);
  assert.notEqual(source.getKey(), firstGetKey);
  await jwtVerify(await signToken(k2, idp.issuer), source.getKey()!);
  assert.deepEqual(removals, []);

  idp.setKeys([k2]);
  assert.equal(await source.refreshForUnknownKid('k3'), 'unchanged');
  assert.deepEqual(removals, [['k1']]);
  assert.deepEqual(otherListener, [['k1']]);
  assert.equal(source.hasKid('k1'), false);
  await assert.rejects(jwtVerify(oldToken, source.getKey()!), { code: 'ERR_JWKS_NO_MATCHING_KEY' });

  assert.equal(await source.refreshForUnknownKid('k4'), 'unchanged');
  assert.deepEqual(removals, [['k1']], 'a kid is reported once, not on every later fetch');
});

void test('the periodic refresh picks up a rotation without any unknown kid', async (t) => {
  const [k1, k2] = await Promise.all([rsaKey('k1'), rsaKey('k2')]);
  const idp = await startIdp([k1]);
  t.after(() => idp.stop());
  const source = await readySource(idp, { refreshIntervalMs: 20, unknownKeyRefetchMinIntervalMs: 60_000 });
  t.after(() => source.close());
  const removed: string[] = [];
  source.onKeysRemoved((kids) => removed.push(...kids));

  idp.setKeys([k2]);
  await waitFor(() => source.hasKid('k2'), 'the periodic refresh to bring k2');
  assert.equal(source.hasKid('k1'), false);
  assert.deepEqual(removed, ['k1']);
});

void test('a listener that throws neither stops the others nor the refresh', async (t) => {
  const [k1, k2] = await Promise.all([rsaKey('k1'), rsaKey('k2')]);
  const idp = await startIdp([k1]);
  t.after(() => idp.stop());
  const source = await readySource(idp);
  t.after(() => source.close());
  const removed: string[] = [];
  source.onKeysRemoved(() => {
    throw new Error('listener bug');
  });
  source.onKeysRemoved((kids) => removed.push(...kids));
  idp.setKeys([k2]);
  assert.equal(await source.refreshForUnknownKid('k2'), 'refreshed');
  assert.deepEqual(removed, ['k1']);
});

const BAD_RESPONSES: [string, Reply, string][] = [
  ['HTTP 500', { status: 500, body: 'oops' }, 'Key set fetch failed: The provider answered with an error status.'],
  ['an empty key set', json({ keys: [] }), 'Key set fetch failed: The key set holds no usable signing keys.'],
  ['malformed JSON', { body: '{"keys": [' }, 'Key set fetch failed: The response was not JSON.'],
  ['keys that is not an array', json({ keys: 'x' }), 'Key set fetch failed: The key set has no keys array.'],
  ['only symmetric keys', json({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'hmac', alg: 'HS256' }] }), 'Key set fetch failed: The key set holds no usable signing keys.'],
];

for (const [name, reply, lastError] of BAD_RESPONSES) {
  void test(`${name} keeps the last good key set`, async (t) => {
    const k1 = await rsaKey('k1');
    const idp = await startIdp([k1]);
    t.after(() => idp.stop());
    const source = await readySource(idp);
    t.after(() => source.close());
    const removed: string[] = [];
    source.onKeysRemoved((kids) => removed.push(...kids));
    const getKey = source.getKey();
    const lastFetchAt = source.status().lastFetchAt;

    idp.routes.set(JWKS_PATH, reply);
    assert.equal(await source.refreshForUnknownKid('k9'), 'failed');
    assert.equal(source.ready(), true);
    assert.equal(source.hasKid('k1'), true);
    assert.equal(source.getKey(), getKey);
    assert.deepEqual(removed, []);
    assert.deepEqual(source.status(), { keys: 1, kids: ['k1'], lastFetchAt, lastError, fetches: 2, failures: 1 });
    await jwtVerify(await signToken(k1, idp.issuer), source.getKey()!);
  });
}

void test('a key set holding only a private key is refused and keeps the last good set', async (t) => {
  const [k1, leaked] = await Promise.all([rsaKey('k1'), rsaKey('leaked')]);
  const idp = await startIdp([k1]);
  t.after(() => idp.stop());
  const source = await readySource(idp);
  t.after(() => source.close());

  idp.routes.set(JWKS_PATH, json({ keys: [leaked.privateJwk] }));
  assert.equal(await source.refreshForUnknownKid('leaked'), 'failed');
  assert.deepEqual(source.status().kids, ['k1']);

  idp.routes.set(JWKS_PATH, json({ keys: [k1.jwk, leaked.privateJwk] }));
  assert.equal(await source.refreshForUnknownKid('leaked'), 'unchanged');
  assert.deepEqual(source.status().kids, ['k1']);
});

void test('a timeout keeps the last good key set', async (t) => {
  const idp = await startIdp([await rsaKey('k1')]);
  t.after(() => idp.stop());
  const source = await readySource(idp, { timeoutMs: 100 });
  t.after(() => source.close());

  idp.routes.set(JWKS_PATH, { hang: true });
  assert.equal(await source.refreshForUnknownKid('k9'), 'failed');
  assert.equal(source.status().lastError, 'Key set fetch failed: The request timed out.');
  assert.deepEqual(source.status().kids, ['k1']);
  assert.equal(source.ready(), true);
});

void test('an IdP that is down (connection refused) keeps the last good key set, and ready() stays true', async (t) => {
  const [k1, k2] = await Promise.all([rsaKey('k1'), rsaKey('k2')]);
  const idp = await startIdp([k1]);
  t.after(() => idp.stop());
  const source = await readySource(idp, { refreshIntervalMs: 20 });
  t.after(() => source.close());

  await idp.stop();
  await waitFor(() => source.status().failures >= 2, 'periodic refreshes to fail');
  assert.equal(await source.refreshForUnknownKid('k2'), 'failed');
  assert.equal(source.ready(), true);
  assert.deepEqual(source.status().kids, ['k1']);
  assert.match(source.status().lastError ?? '', /could not be reached/);

  await idp.listen(idp.port);
  idp.setKeys([k2]);
  await waitFor(() => source.hasKid('k2'), 'the key set after the IdP came back');
  assert.equal(source.status().lastError, undefined);
});
