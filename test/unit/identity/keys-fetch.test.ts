import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, jwtVerify } from 'jose';
import type { JWK } from 'jose';
import { defaultDiscoveryUrl, kidsOf, parseJwks } from '../../../src/identity/keys/discovery.ts';
import { createProviderKeys } from '../../../src/identity/keys/provider-keys.ts';
import { DISCOVERY_PATH, FakeIdp, JWKS_PATH, json, keySource, readySource, rsaKey, signToken, silent, startIdp, waitFor } from './keys-fake-idp.ts';

async function publicJwk(alg: string, kid: string, extra: Partial<JWK> = {}): Promise<JWK> {
  const { publicKey } = await generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
  return { ...(await exportJWK(publicKey)), kid, ...extra };
}

function keptKids(body: unknown): (string | undefined)[] {
  const got = parseJwks(body);
  assert.ok(got.ok, `expected usable keys, got ${JSON.stringify(got)}`);
  return got.keys.map((k) => k.kid);
}

void test('RSA, EC and Ed25519 signing keys are kept, with use absent or sig', async () => {
  const keys = [await publicJwk('RS256', 'rsa', { use: 'sig' }), await publicJwk('ES256', 'ec'), await publicJwk('EdDSA', 'ed', { key_ops: ['verify'] })];
  assert.deepEqual(keptKids({ keys }), ['rsa', 'ec', 'ed']);
});

void test('a key without a kid is kept (jose selects it only for tokens without a kid)', async () => {
  const { kid: _kid, ...noKid } = await publicJwk('RS256', 'x');
  assert.deepEqual(keptKids({ keys: [noKid] }), [undefined]);
  assert.deepEqual(kidsOf([noKid, await publicJwk('RS256', 'a'), await publicJwk('RS256', 'a')]), ['a']);
});

void test('symmetric, encryption, X25519, private, non-string-kid and malformed keys are dropped with a reason', async () => {
  const good = await publicJwk('RS256', 'good');
  const priv = (await rsaKey('priv')).privateJwk;
  const { publicKey: x } = await generateKeyPair('ECDH-ES', { extractable: true, crv: 'X25519' });
  const keys: unknown[] = [
    good,
    { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' },
    await publicJwk('RS256', 'enc', { use: 'enc' }),
    await publicJwk('RS256', 'wrap', { key_ops: ['wrapKey'] }),
    { ...(await exportJWK(x)), kid: 'x25519' },
    priv,
    { ...(await publicJwk('RS256', 'p-only')), p: 'AQAB' },
    { ...(await publicJwk('RS256', 'n')), kid: 7 },
    { kty: 'RSA', kid: 'broken', n: 'AQAB' },
    'not a key',
  ];
  const got = parseJwks({ keys });
  assert.ok(got.ok);
  assert.deepEqual(got.keys.map((k) => k.kid), ['good']);
  assert.deepEqual(
    got.dropped.map((d) => [d.kid, d.reason]),
    [
      ['hmac', 'private_key'],
      ['enc', 'not_for_signing'],
      ['wrap', 'not_for_signing'],
      ['x25519', 'not_for_signing'],
      ['priv', 'private_key'],
      ['p-only', 'private_key'],
      [undefined, 'bad_kid'],
      ['broken', 'malformed'],
      [undefined, 'not_an_object'],
    ],
  );
});

void test('a body without a keys array, or without one usable key, is an error in a fixed sentence', async () => {
  for (const body of [null, 'x', [], {}, { keys: 'x' }, { keys: {} }]) {
    assert.deepEqual(parseJwks(body), { ok: false, error: 'The key set has no keys array.', dropped: [] }, JSON.stringify(body));
  }
  for (const keys of [[], [{ kty: 'oct', k: 'c2VjcmV0', kid: 'h' }], [(await rsaKey('p')).privateJwk]]) {
    const got = parseJwks({ keys });
    assert.equal(got.ok, false);
    assert.equal(!got.ok && got.error, 'The key set holds no usable signing keys.');
  }
});

void test('the default discovery URL is the issuer without trailing slash, Entra tenants as common', () => {
  assert.equal(defaultDiscoveryUrl('https://idp.example/realms/a'), 'https://idp.example/realms/a/.well-known/openid-configuration');
  assert.equal(defaultDiscoveryUrl('https://idp.example/'), 'https://idp.example/.well-known/openid-configuration');
  assert.equal(
    defaultDiscoveryUrl('https://login.microsoftonline.com/{tenantid}/v2.0'),
    'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration',
  );
});

void test('start() fetches discovery then the key set; getKey verifies tokens and is built once per set', async (t) => {
  const key = await rsaKey('k1');
  const idp = await startIdp([key]);
  t.after(() => idp.stop());
  const source = keySource(idp);
  t.after(() => source.close());

  assert.equal(source.ready(), false);
  assert.equal(source.getKey(), undefined);
  assert.equal(source.metadata(), undefined);
  source.start();
  await waitFor(() => source.ready(), 'ready');

  assert.equal(source.metadata()?.issuer, idp.issuer);
  assert.equal(source.metadata()?.jwks_uri, `${idp.origin}${JWKS_PATH}`);
  assert.equal(source.hasKid('k1'), true);
  assert.equal(source.hasKid('k2'), false);
  const getKey = source.getKey();
  assert.ok(getKey);
  assert.equal(source.getKey(), getKey);
  const { payload } = await jwtVerify(await signToken(key, idp.issuer), getKey, { issuer: idp.issuer });
  assert.equal(payload.sub, 'user-1');

  const status = source.status();
  assert.deepEqual({ ...status, lastFetchAt: undefined }, { keys: 1, kids: ['k1'], lastFetchAt: undefined, lastError: undefined, fetches: 1, failures: 0 });
  assert.ok(status.lastFetchAt !== undefined && !Number.isNaN(Date.parse(status.lastFetchAt)));
  assert.equal(idp.hitsOf(DISCOVERY_PATH), 1);
  assert.equal(idp.hitsOf(JWKS_PATH), 1);
});

void test('a discovery document naming another issuer is refused and no key set is fetched', async (t) => {
  const idp = await startIdp([await rsaKey('k1')]);
  t.after(() => idp.stop());
  idp.routes.set(DISCOVERY_PATH, json({ issuer: `${idp.issuer}/`, jwks_uri: `${idp.origin}${JWKS_PATH}` }));
  const source = keySource(idp);
  t.after(() => source.close());
  source.start();
  await waitFor(() => source.status().failures >= 1, 'the first attempt to fail');

  assert.equal(source.ready(), false);
  assert.equal(source.metadata(), undefined);
  assert.equal(source.status().lastError, 'Discovery failed: The discovery document names a different issuer.');
  assert.equal(idp.hitsOf(JWKS_PATH), 0);
});

void test('with jwksUri configured, a failed or mismatched discovery does not block the keys', async (t) => {
  const idp = await startIdp([await rsaKey('k1')]);
  t.after(() => idp.stop());
  idp.routes.set(DISCOVERY_PATH, json({ issuer: 'https://evil.example', jwks_uri: `${idp.origin}/elsewhere` }));
  const source = await readySource(idp, { jwksUri: `${idp.origin}${JWKS_PATH}` });
  t.after(() => source.close());

  assert.equal(source.hasKid('k1'), true);
  assert.equal(source.metadata(), undefined);
  assert.equal(source.status().failures, 0);
  assert.equal(source.status().lastError, 'Discovery failed: The discovery document names a different issuer.');
  assert.equal(idp.hitsOf('/elsewhere'), 0);
  assert.equal(idp.hitsOf(DISCOVERY_PATH), 1);
});

void test('with jwksUri configured, discovery is still read for introspection_endpoint', async (t) => {
  const idp = await startIdp([await rsaKey('k1')]);
  t.after(() => idp.stop());
  idp.setDiscovery({ introspection_endpoint: `${idp.origin}/introspect` });
  const source = await readySource(idp, { jwksUri: `${idp.origin}${JWKS_PATH}` });
  t.after(() => source.close());
  await waitFor(() => source.metadata() !== undefined, 'metadata');
  assert.equal(source.metadata()?.introspection_endpoint, `${idp.origin}/introspect`);
});

void test('without discoveryUrl, discovery is read from the issuer, {tenantid} as common', async (t) => {
  const idp = await new FakeIdp().listen();
  t.after(() => idp.stop());
  idp.issuer = `${idp.origin}/{tenantid}/v2.0`;
  idp.setDiscovery({}, `/common/v2.0${DISCOVERY_PATH}`);
  idp.setKeys([await rsaKey('k1')]);
  const source = await readySource(idp, { discoveryUrl: undefined });
  t.after(() => source.close());
  assert.equal(source.metadata()?.issuer, `${idp.origin}/{tenantid}/v2.0`);
  assert.equal(source.hasKid('k1'), true);
});

void test('a discovery document without jwks_uri, or with a non-http one, yields no keys', async (t) => {
  for (const doc of [{}, { jwks_uri: 'file:///etc/passwd' }]) {
    const idp = await startIdp([await rsaKey('k1')]);
    t.after(() => idp.stop());
    idp.routes.set(DISCOVERY_PATH, json({ issuer: idp.issuer, ...doc }));
    const source = keySource(idp);
    t.after(() => source.close());
    source.start();
    await waitFor(() => source.status().failures >= 1, 'the first attempt to fail');
    assert.equal(source.ready(), false);
    assert.match(source.status().lastError ?? '', /^Discovery failed: /);
    assert.equal(idp.hitsOf(JWKS_PATH), 0);
  }
});

void test('redirects are not followed', async (t) => {
  const idp = await startIdp([await rsaKey('k1')]);
  t.after(() => idp.stop());
  idp.routes.set(JWKS_PATH, { status: 302, headers: { location: `${idp.origin}/real-jwks` } });
  idp.routes.set('/real-jwks', idp.routes.get(JWKS_PATH) ?? {});
  const source = keySource(idp);
  t.after(() => source.close());
  source.start();
  await waitFor(() => source.status().failures >= 1, 'the first attempt to fail');
  assert.equal(source.ready(), false);
  assert.equal(source.status().lastError, 'Key set fetch failed: The provider answered with a redirect, which is not followed.');
  assert.equal(idp.hitsOf('/real-jwks'), 0);
});

void test('a response over 1 MiB is refused, with or without content-length', async (t) => {
  const key = await rsaKey('k1');
  const idp = await startIdp([key]);
  t.after(() => idp.stop());
  const big = JSON.stringify({ keys: [key.jwk], padding: 'x'.repeat(1024 * 1024) });
  const headerSets: Record<string, string>[] = [{ 'content-length': String(Buffer.byteLength(big)) }, { 'transfer-encoding': 'chunked' }];
  for (const headers of headerSets) {
    idp.routes.set(JWKS_PATH, { body: big, headers });
    const source = keySource(idp);
    t.after(() => source.close());
    assert.equal(await source.refreshForUnknownKid('k1'), 'failed');
    assert.equal(source.ready(), false);
    assert.equal(source.status().lastError, 'Key set fetch failed: The response was larger than 1 MiB.');
  }
});

void test('started while the IdP is down, the source becomes ready once it comes up', async (t) => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));

  const origin = `http://127.0.0.1:${port}`;
  const source = createProviderKeys({
    issuer: origin,
    discoveryUrl: `${origin}${DISCOVERY_PATH}`,
    refreshIntervalMs: 40,
    unknownKeyRefetchMinIntervalMs: 0,
    timeoutMs: 1_000,
    log: silent,
  });
  t.after(() => source.close());
  source.start();
  await waitFor(() => source.status().failures >= 2, 'two failed attempts while down');
  assert.equal(source.ready(), false);
  assert.equal(source.status().lastError, 'Discovery failed: The provider could not be reached.');

  const idp = await new FakeIdp().listen(port);
  t.after(() => idp.stop());
  idp.setDiscovery();
  idp.setKeys([await rsaKey('k1')]);
  await waitFor(() => source.ready(), 'ready after the IdP came up');
  assert.equal(source.hasKid('k1'), true);
});
