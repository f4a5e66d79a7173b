// One contract for every API key store: SQLite (a temp file) and PostgreSQL (a database of its own).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashSecret, issueApiKey, secretMatches } from '../../../src/identity/api-keys/keys.ts';
import { openPostgresApiKeyStore } from '../../../src/identity/api-keys/postgres-store.ts';
import { openSqliteApiKeyStore } from '../../../src/identity/api-keys/sqlite-store.ts';
import type { ApiKeyStore } from '../../../src/identity/api-keys/keys.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { eventually } from '../../helpers/gateway-checks.ts';
import { createTestDatabase, HMAC_SECRET } from './kit.ts';
import type { TestDatabase } from './kit.ts';

const log = createLogger({ level: 'silent' });

interface Opened {
  store: ApiKeyStore;
  second: () => ApiKeyStore;
  done: () => Promise<void>;
}

function contract(name: string, open: () => Opened | Promise<Opened>): void {
  describe(`API key store contract: ${name}`, () => {
    let store: ApiKeyStore;
    let second: () => ApiKeyStore;
    let done: () => Promise<void>;
    before(async () => {
      ({ store, second, done } = await open());
    });
    after(() => done());

    test('a created key is found by id with its record and the HMAC of its secret, never the secret', async () => {
      const issued = await issueApiKey(store, HMAC_SECRET, { kind: 'service', subject: 'billing', roles: ['writer', 'reader', 'writer'], expiresInSeconds: 3600, description: 'nightly job' }, 1_000_000);
      const found = await store.find(issued.record.keyId);
      assert.ok(found);
      assert.equal(found.kind, 'service');
      assert.equal(found.subject, 'billing');
      assert.deepEqual(found.roles, ['reader', 'writer']);
      assert.equal(found.createdAt, 1_000_000);
      assert.equal(found.expiresAt, 1_000_000 + 3_600_000);
      assert.equal(found.description, 'nightly job');
      assert.equal(found.revokedAt, undefined);
      const secret = issued.key.slice(-43);
      assert.ok(secretMatches(HMAC_SECRET, secret, found.secretHash));
      assert.deepEqual(Buffer.from(found.secretHash), hashSecret(HMAC_SECRET, secret));
      assert.ok(!JSON.stringify(await store.list()).includes(secret), 'list never carries the secret');
    });

    test('an unknown id is not found', async () => {
      assert.equal(await store.find('aaaaaaaaaaaa'), undefined);
    });

    test('list returns every key newest first, without hashes', async () => {
      const a = await issueApiKey(store, HMAC_SECRET, { kind: 'user', subject: 'alice', roles: [] }, 2_000_000);
      const b = await issueApiKey(store, HMAC_SECRET, { kind: 'user', subject: 'bob', roles: ['support'] }, 3_000_000);
      const keys = await store.list();
      const ids = keys.map((k) => k.keyId);
      assert.ok(ids.indexOf(b.record.keyId) < ids.indexOf(a.record.keyId));
      for (const k of keys) assert.equal('secretHash' in k, false);
    });

    test('revoke marks the key once; again says already revoked; an unknown id is not found', async () => {
      const k = await issueApiKey(store, HMAC_SECRET, { kind: 'service', subject: 'old', roles: ['x'] });
      assert.equal(await store.revoke(k.record.keyId, 5_000_000), 'revoked');
      assert.equal((await store.find(k.record.keyId))?.revokedAt, 5_000_000);
      assert.equal(await store.revoke(k.record.keyId, 6_000_000), 'already_revoked');
      assert.equal((await store.find(k.record.keyId))?.revokedAt, 5_000_000);
      assert.equal(await store.revoke('bbbbbbbbbbbb', 1), 'not_found');
    });

    test('touch records last use in a batch and never moves it backwards', async () => {
      const a = await issueApiKey(store, HMAC_SECRET, { kind: 'user', subject: 'carol', roles: [] });
      const b = await issueApiKey(store, HMAC_SECRET, { kind: 'user', subject: 'dave', roles: [] });
      await store.touch(new Map([[a.record.keyId, 10_000], [b.record.keyId, 20_000], ['cccccccccccc', 1]]));
      assert.equal((await store.find(a.record.keyId))?.lastUsedAt, 10_000);
      await store.touch(new Map([[a.record.keyId, 5_000]]));
      assert.equal((await store.find(a.record.keyId))?.lastUsedAt, 10_000);
      assert.equal((await store.find(b.record.keyId))?.lastUsedAt, 20_000);
    });

    test('a revocation through another connection to the same store reaches onChange listeners', async () => {
      const other = second();
      try {
        const k = await issueApiKey(store, HMAC_SECRET, { kind: 'service', subject: 'watched', roles: [] });
        const seen: (string | undefined)[] = [];
        store.onChange((id) => seen.push(id));
        await other.revoke(k.record.keyId, Date.now());
        if (name === 'postgres') await eventually(() => (seen.includes(k.record.keyId) ? true : undefined), 'NOTIFY of the revocation');
        // SQLite has no cross-connection notices; the authenticator reads it on every request instead.
        assert.ok((await store.find(k.record.keyId))?.revokedAt !== undefined);
      } finally {
        await other.close();
      }
    });
  });
}

contract('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-keys-'));
  const path = join(dir, 'nested', 'keys.db');
  const store = openSqliteApiKeyStore(path);
  return {
    store,
    second: () => openSqliteApiKeyStore(path),
    async done() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

contract('postgres', async () => {
  const db: TestDatabase = await createTestDatabase();
  const store = openPostgresApiKeyStore(db.url, { log, listen: true });
  await eventually(() => (store.ready() ? true : undefined), 'the LISTEN connection');
  return {
    store,
    second: () => openPostgresApiKeyStore(db.url, { log, listen: false }),
    async done() {
      await store.close();
      await db.drop();
    },
  };
});
