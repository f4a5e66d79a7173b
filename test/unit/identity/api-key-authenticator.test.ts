// The API key authenticator against a real SQLite store (in memory): the identity it builds, the
// order of checks, expiry under an injected clock, a failing store (503, logged without the key),
// last-used bookkeeping off the request path, and the cache's handling of change notices.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import type { RequestContext } from '../../../src/gateway/types.ts';
import { createApiKeyAuthenticator } from '../../../src/identity/api-keys/authenticator.ts';
import type { ApiKeyAuthenticator } from '../../../src/identity/api-keys/authenticator.ts';
import { issueApiKey } from '../../../src/identity/api-keys/keys.ts';
import { openSqliteApiKeyStore } from '../../../src/identity/api-keys/sqlite-store.ts';
import type { ApiKeyStore, StoredApiKey } from '../../../src/identity/api-keys/keys.ts';
import { fingerprint } from '../../../src/identity/claims-identity.ts';
import type { AuthnResult } from '../../../src/identity/types.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';

const HMAC = 'unit-test-hmac-secret-0123456789abcdef';
let dir: string;
let logFile: string;
let store: ApiKeyStore;
let clock: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cortex-key-unit-'));
  logFile = join(dir, 'log.jsonl');
  store = openSqliteApiKeyStore(':memory:');
  clock = 1_700_000_000_000;
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function auth(s: ApiKeyStore = store, cacheTtlMs = 0): ApiKeyAuthenticator {
  return createApiKeyAuthenticator({ store: s, hmacSecret: HMAC, header: 'x-api-key', log: createLogger({ level: 'info', destination: logFile }), now: () => clock, cacheTtlMs, usageFlushMs: 60_000 });
}

function ctx(headers: Record<string, string>): RequestContext {
  return { req: { headers }, upstreamHeaders: { ...headers } } as unknown as RequestContext;
}

async function run(a: ApiKeyAuthenticator, headers: Record<string, string>): Promise<AuthnResult> {
  const c = ctx(headers);
  assert.ok(a.present(c), 'present');
  return a.authenticate(c);
}

test('a good key gives the stored subject, kind and roles, method api_key, and a stable fingerprint', async () => {
  const { key, record } = await issueApiKey(store, HMAC, { kind: 'user', subject: 'alice', roles: ['support', 'admin'], expiresInSeconds: 3600 }, clock);
  const c = ctx({ 'x-api-key': key, accept: 'json' });
  const r = await auth().authenticate(c);
  assert.ok(r.ok);
  const id = r.identity;
  assert.equal(id.subject, 'alice');
  assert.equal(id.kind, 'user');
  assert.equal(id.method, 'api_key');
  assert.equal(id.provider, 'api-keys');
  assert.equal(id.issuer, 'cortex');
  assert.deepEqual(id.roles, ['admin', 'support']);
  assert.deepEqual(id.claims, { keyId: record.keyId });
  assert.equal(id.keyId, record.keyId);
  assert.equal(id.fingerprint, fingerprint('cortex', 'alice', '', 'api_key'));
  assert.equal(id.expiresAt, Math.floor((clock + 3_600_000) / 1000));
  assert.ok(Object.isFrozen(id));
  assert.deepEqual(c.upstreamHeaders, { accept: 'json' }, 'the key is taken off the upstream request');
});

test('present: the configured header, or Authorization: Bearer ctx_...; a JWT bearer is not an API key', () => {
  const a = auth();
  assert.ok(a.present(ctx({ 'x-api-key': 'anything' })));
  assert.ok(a.present(ctx({ authorization: 'Bearer ctx_whatever' })));
  assert.ok(a.present(ctx({ authorization: 'bearer ctx_whatever' })));
  assert.ok(!a.present(ctx({ authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig' })));
  assert.ok(!a.present(ctx({ authorization: 'Basic Y3R4Xw==' })));
  assert.ok(!a.present(ctx({})));
});

test('expiry follows the clock: valid just before expiresAt, expired from it on', async () => {
  const { key } = await issueApiKey(store, HMAC, { kind: 'service', subject: 's', roles: [], expiresInSeconds: 60 }, clock);
  const a = auth();
  clock += 59_999;
  assert.ok((await run(a, { 'x-api-key': key })).ok);
  clock += 1;
  assert.deepEqual(await run(a, { 'x-api-key': key }), { ok: false, code: 'authn.api_key_expired', description: 'The API key has expired.' });
});

test('a revoked and expired key with a wrong secret is only invalid; with the right one, revoked first', async () => {
  const { key, record } = await issueApiKey(store, HMAC, { kind: 'service', subject: 's', roles: [], expiresInSeconds: 1 }, clock - 10_000);
  await store.revoke(record.keyId, clock);
  const a = auth();
  const wrong = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
  const r = await run(a, { 'x-api-key': wrong });
  assert.ok(!r.ok && r.code === 'authn.api_key_invalid');
  const right = await run(a, { 'x-api-key': key });
  assert.ok(!right.ok && right.code === 'authn.api_key_revoked');
});

test('a store that fails answers authn.provider_unavailable and logs the key id, never the key', async () => {
  const { key } = await issueApiKey(store, HMAC, { kind: 'service', subject: 's', roles: [] }, clock);
  const broken: ApiKeyStore = { ...store, find: () => Promise.reject(new Error('connection refused')) };
  const r = await run(auth(broken), { 'x-api-key': key });
  assert.ok(!r.ok && r.code === 'authn.provider_unavailable');
  const syncBroken: ApiKeyStore = {
    ...store,
    find: () => {
      throw new Error('database is locked');
    },
  };
  const s = await run(auth(syncBroken), { authorization: `Bearer ${key}` });
  assert.ok(!s.ok && s.code === 'authn.provider_unavailable');
  const log = readFileSync(logFile, 'utf8');
  assert.match(log, new RegExp(key.slice(4, 16)));
  assert.ok(!log.includes(key.slice(-43)), 'the secret is never logged');
});

test('last use: noted per request, written in one batch at most once a minute per key, a failing write never throws', async () => {
  const { key, record } = await issueApiKey(store, HMAC, { kind: 'service', subject: 's', roles: [] }, clock);
  const a = auth();
  assert.ok((await run(a, { 'x-api-key': key })).ok);
  assert.equal(store.find(record.keyId) instanceof Promise, false);
  assert.equal((store.find(record.keyId) as StoredApiKey).lastUsedAt, undefined, 'nothing written on the request path');
  await a.usage.flush();
  assert.equal((store.find(record.keyId) as StoredApiKey).lastUsedAt, clock);
  clock += 30_000;
  assert.ok((await run(a, { 'x-api-key': key })).ok);
  await a.usage.flush();
  assert.equal((store.find(record.keyId) as StoredApiKey).lastUsedAt, clock - 30_000, 'within the minute: not written again');
  clock += 30_000;
  assert.ok((await run(a, { 'x-api-key': key })).ok);
  const failing = auth({ ...store, touch: () => Promise.reject(new Error('disk full')) });
  clock += 60_000;
  assert.ok((await run(failing, { 'x-api-key': key })).ok);
  await failing.usage.close();
  await a.usage.close();
  assert.equal((store.find(record.keyId) as StoredApiKey).lastUsedAt, clock - 60_000);
  assert.match(readFileSync(logFile, 'utf8'), /could not record when keys were last used/);
});

test('cache: reused until a change notice; a lookup that straddles a notice is not cached', async () => {
  const { key, record } = await issueApiKey(store, HMAC, { kind: 'service', subject: 's', roles: [] }, clock);
  let finds = 0;
  let hold: (() => void) | undefined;
  const listeners: ((id: string | undefined) => void)[] = [];
  const slow: ApiKeyStore = {
    ...store,
    type: 'postgres',
    find: (id) => {
      finds++;
      const answer = store.find(id) as StoredApiKey | undefined;
      return hold === undefined ? Promise.resolve(answer) : new Promise((resolve) => (hold = () => resolve(answer)));
    },
    onChange: (l) => listeners.push(l),
  };
  const a = auth(slow, 5_000);
  assert.ok((await run(a, { 'x-api-key': key })).ok);
  assert.ok((await run(a, { 'x-api-key': key })).ok);
  assert.equal(finds, 1, 'the second request used the cache');
  for (const l of listeners) l(record.keyId);
  hold = () => undefined;
  const pending = run(a, { 'x-api-key': key });
  for (const l of listeners) l(undefined);
  const release = hold;
  hold = undefined;
  release();
  assert.ok((await pending).ok);
  assert.ok((await run(a, { 'x-api-key': key })).ok);
  assert.equal(finds, 3, 'the straddling answer was not cached');
  await store.revoke(record.keyId, clock);
  for (const l of listeners) l(record.keyId);
  const r = await run(a, { 'x-api-key': key });
  assert.ok(!r.ok && r.code === 'authn.api_key_revoked');
});
