// API keys shared by a fleet (PostgreSQL): two gateways on one database cache what they looked
// up, and a revocation made anywhere reaches both at once through LISTEN/NOTIFY (well inside the
// cache's lifetime). A store that cannot be reached answers 503, never 500.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { hashSecret, issueApiKey, newKeyId } from '../../../src/identity/api-keys/keys.ts';
import { openPostgresApiKeyStore } from '../../../src/identity/api-keys/postgres-store.ts';
import type { ApiKeyStore } from '../../../src/identity/api-keys/keys.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { assertProblem, auditFor, eventually, header, send } from '../../helpers/gateway-checks.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { createTestDatabase, HMAC_SECRET, startKeyGateway } from './kit.ts';
import type { KeyGateway, TestDatabase } from './kit.ts';

const log = createLogger({ level: 'silent' });

function readyApiKeys(kg: KeyGateway): boolean | undefined {
  return kg.gw.runtime.gateway.readiness().components['api-keys'] ? true : undefined;
}

describe('API keys shared by two gateways (PostgreSQL)', () => {
  let db: TestDatabase;
  let upstream: TestUpstream;
  let a: KeyGateway;
  let b: KeyGateway;
  let cli: ApiKeyStore;

  before(async () => {
    db = await createTestDatabase();
    upstream = await startUpstream();
    a = await startKeyGateway({ type: 'postgres', url: db.url }, upstream);
    b = await startKeyGateway({ type: 'postgres', url: db.url }, upstream);
    await eventually(() => readyApiKeys(a), 'gateway A listening');
    await eventually(() => readyApiKeys(b), 'gateway B listening');
    cli = openPostgresApiKeyStore(db.url, { log, listen: false });
  });
  after(async () => {
    await cli.close();
    await a.close();
    await b.close();
    await upstream.close();
    await db.drop();
  });

  test('a key works on both gateways; revoked on one, both refuse it at once', async () => {
    const { key, record } = await issueApiKey(cli, HMAC_SECRET, { kind: 'service', subject: 'reporting', roles: ['reporting'] });
    for (const kg of [a, b]) {
      const r = await send(`${kg.gw.url}/svc/report`, { headers: { 'x-api-key': key } });
      assert.equal(r.status, 200, r.body);
      const event = await auditFor(kg.gw, String(header(r, 'x-request-id')), 'ok');
      assert.equal(event.who?.subject, 'reporting');
      assert.equal(event.who?.method, 'api_key');
    }
    // Both now hold the record in their cache; the revocation goes through another connection.
    assert.equal(await cli.revoke(record.keyId, Date.now()), 'revoked');
    for (const kg of [a, b]) {
      const refused = await eventually(async () => {
        const r = await send(`${kg.gw.url}/svc/report`, { headers: { 'x-api-key': key } });
        return r.status === 401 ? r : undefined;
      }, 'the revocation to reach the gateway');
      assertProblem(refused, 401, 'authn.api_key_revoked');
    }
  });

  test('a key looked up before it existed is accepted once created (NOTIFY drops the cached miss)', async () => {
    const keyId = newKeyId();
    const secret = randomBytes(32).toString('base64url');
    const key = `ctx_${keyId}_${secret}`;
    assertProblem(await send(`${a.gw.url}/svc/x`, { headers: { 'x-api-key': key } }), 401, 'authn.api_key_invalid');
    await cli.insert({ keyId, kind: 'user', subject: 'erin', roles: ['support'], createdAt: Date.now(), secretHash: hashSecret(HMAC_SECRET, secret) });
    const ok = await eventually(async () => {
      const r = await send(`${a.gw.url}/svc/x`, { headers: { authorization: `Bearer ${key}` } });
      return r.status === 200 ? r : undefined;
    }, 'the new key to be accepted');
    const event = await auditFor(a.gw, String(header(ok, 'x-request-id')), 'ok');
    assert.equal(event.who?.subject, 'erin');
  });

  test('last use is written in the background and shows in the list', async () => {
    const { key, record } = await issueApiKey(cli, HMAC_SECRET, { kind: 'service', subject: 'used', roles: [] });
    const before = Date.now();
    assert.equal((await send(`${b.gw.url}/svc/x`, { headers: { 'x-api-key': key } })).status, 200);
    assert.equal((await cli.find(record.keyId))?.lastUsedAt, undefined, 'not written on the request path');
    await b.close(); // closing flushes what is pending
    const lastUsed = (await cli.list()).find((k) => k.keyId === record.keyId)?.lastUsedAt;
    assert.ok(lastUsed !== undefined && lastUsed >= before, `lastUsedAt ${lastUsed}`);
    b = await startKeyGateway({ type: 'postgres', url: db.url }, upstream);
  });
});

describe('API keys when PostgreSQL cannot be reached', () => {
  test('a request with a key gets 503 authn.provider_unavailable, and readiness says so', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const kg = await startKeyGateway({ type: 'postgres', url: `postgres://postgres@127.0.0.1:${port}/nowhere` });
    try {
      const r = await send(`${kg.gw.url}/svc/x`, { headers: { 'x-api-key': `ctx_abcdefghijkl_${'A'.repeat(43)}` } });
      assertProblem(r, 503, 'authn.provider_unavailable');
      assert.equal(header(r, 'retry-after'), '5');
      assert.equal(kg.gw.runtime.gateway.readiness().components['api-keys'], false);
      assert.equal(kg.upstream.requests.length, 0);
    } finally {
      await kg.close();
    }
  });
});
