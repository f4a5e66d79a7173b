// The one contract every session store backend keeps, registered once per backend by its test file.
// Time passes through the backend's `tick`: the memory store advances an injected clock, SQLite and
// Redis wait for real (their tests use 1 s TTLs), and expiry is awaited with a bounded poll.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { LoginTransaction, SessionRecord, SessionStore } from '../../../src/stores/session-store.ts';

export interface ContractBackend {
  store: SessionStore;
  /** Lets some time pass (a clock step, or a short sleep). */
  tick(): Promise<void>;
}

const POLL_LIMIT = 100;
const LONG_TTL = 600;
const SHORT_TTL = 1;

export function newId(): string {
  return randomBytes(32).toString('base64url');
}

export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const t = Date.now();
  return {
    id: newId(),
    subject: 'alice',
    createdAt: t,
    lastSeenAt: t,
    expiresAt: t + 86_400_000,
    tokens: { accessToken: 'at-1', refreshToken: 'rt-1', idToken: 'id-1', accessTokenExpiresAt: t + 300_000 },
    claims: { sub: 'alice', roles: ['support'], nested: { a: [1, 2] } },
    version: 1,
    ...overrides,
  };
}

export function loginTransaction(): LoginTransaction {
  return { state: newId(), nonce: newId(), codeVerifier: newId(), returnTo: '/orders?x=1', createdAt: Date.now() };
}

/** Resolves once `probe` finds nothing; fails the test if that never happens within the poll limit. */
async function untilGone(backend: ContractBackend, probe: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < POLL_LIMIT; i++) {
    if ((await probe()) === undefined) return;
    await backend.tick();
  }
  assert.fail('the entry did not expire');
}

export function sessionStoreContract(name: string, open: () => Promise<ContractBackend>): void {
  const withStore = (title: string, body: (b: ContractBackend) => Promise<void>): void => {
    test(`${name}: ${title}`, async () => {
      const backend = await open();
      try {
        await body(backend);
      } finally {
        await backend.store.close();
      }
    });
  };

  withStore('set then get returns an equal copy, not the stored object', async ({ store }) => {
    const record = sessionRecord();
    await store.set(record, LONG_TTL);
    const got = await store.get(record.id);
    assert.deepEqual(got, record);
    assert.notEqual(got, record);
    got.claims.sub = 'mallory';
    got.tokens.accessToken = 'changed';
    assert.deepEqual(await store.get(record.id), record);
    assert.equal(await store.get(newId()), undefined);
  });

  withStore('a session is gone once its TTL has passed', async (backend) => {
    const record = sessionRecord();
    await backend.store.set(record, SHORT_TTL);
    assert.deepEqual(await backend.store.get(record.id), record);
    await untilGone(backend, () => backend.store.get(record.id));
    assert.equal(await backend.store.compareAndSet({ ...record, version: 2 }, 1, LONG_TTL), false);
    assert.equal(await backend.store.get(record.id), undefined);
  });

  withStore('compareAndSet writes with the right version and refuses a stale one', async ({ store }) => {
    const record = sessionRecord({ version: 1 });
    await store.set(record, LONG_TTL);
    const v2 = { ...record, lastSeenAt: record.lastSeenAt + 1, version: 2 };
    assert.equal(await store.compareAndSet(v2, 1, LONG_TTL), true);
    assert.deepEqual(await store.get(record.id), v2);
    const stale = { ...record, subject: 'stale', version: 2 };
    assert.equal(await store.compareAndSet(stale, 1, LONG_TTL), false);
    assert.deepEqual(await store.get(record.id), v2);
  });

  withStore('compareAndSet refuses a missing record and does not create it', async ({ store }) => {
    const record = sessionRecord({ version: 2 });
    assert.equal(await store.compareAndSet(record, 1, LONG_TTL), false);
    assert.equal(await store.get(record.id), undefined);
  });

  withStore('of 20 concurrent compareAndSet calls on one version exactly one wins', async ({ store }) => {
    const record = sessionRecord({ version: 7 });
    await store.set(record, LONG_TTL);
    const writers = Array.from({ length: 20 }, (_, i) => ({ ...record, subject: `writer-${i}`, version: 8 }));
    const results = await Promise.all(writers.map((w) => store.compareAndSet(w, 7, LONG_TTL)));
    assert.equal(results.filter(Boolean).length, 1);
    const winner = writers[results.indexOf(true)];
    assert.deepEqual(await store.get(record.id), winner);
  });

  withStore('a refreshed TTL from compareAndSet keeps the session', async (backend) => {
    const record = sessionRecord();
    await backend.store.set(record, SHORT_TTL);
    assert.equal(await backend.store.compareAndSet({ ...record, version: 2 }, 1, LONG_TTL), true);
    const probe = sessionRecord();
    await backend.store.set(probe, SHORT_TTL);
    await untilGone(backend, () => backend.store.get(probe.id));
    assert.equal((await backend.store.get(record.id))?.version, 2);
  });

  withStore('delete removes the session and is harmless for a missing one', async ({ store }) => {
    const record = sessionRecord();
    await store.set(record, LONG_TTL);
    await store.delete(record.id);
    assert.equal(await store.get(record.id), undefined);
    await store.delete(record.id);
    assert.equal(await store.compareAndSet(record, 1, LONG_TTL), false);
  });

  withStore('a login transaction can be taken once', async ({ store }) => {
    const id = newId();
    const tx = loginTransaction();
    await store.putTransaction(id, tx, LONG_TTL);
    assert.deepEqual(await store.takeTransaction(id), tx);
    assert.equal(await store.takeTransaction(id), undefined);
    assert.equal(await store.takeTransaction(newId()), undefined);
  });

  withStore('of 20 concurrent takes of one transaction exactly one gets it', async ({ store }) => {
    const id = newId();
    const tx = loginTransaction();
    await store.putTransaction(id, tx, LONG_TTL);
    const taken = await Promise.all(Array.from({ length: 20 }, () => store.takeTransaction(id)));
    const got = taken.filter((t) => t !== undefined);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], tx);
  });

  withStore('transactions and sessions do not share keys', async ({ store }) => {
    const record = sessionRecord();
    await store.set(record, LONG_TTL);
    assert.equal(await store.takeTransaction(record.id), undefined);
    assert.deepEqual(await store.get(record.id), record);
  });

  withStore('an expired transaction is gone', async (backend) => {
    const id = newId();
    await backend.store.putTransaction(id, loginTransaction(), SHORT_TTL);
    // Taking is destructive, so wait on a session written after it with the same TTL instead.
    const probe = sessionRecord();
    await backend.store.set(probe, SHORT_TTL);
    await untilGone(backend, () => backend.store.get(probe.id));
    assert.equal(await backend.store.takeTransaction(id), undefined);
  });

  test(`${name}: after close every operation rejects, and closing again is harmless`, async () => {
    const { store } = await open();
    const record = sessionRecord();
    try {
      await store.set(record, LONG_TTL);
    } finally {
      await store.close();
    }
    await assert.rejects(store.get(record.id));
    await assert.rejects(store.set(sessionRecord(), LONG_TTL));
    await assert.rejects(store.compareAndSet(record, 1, LONG_TTL));
    await assert.rejects(store.delete(record.id));
    await assert.rejects(store.putTransaction(newId(), loginTransaction(), LONG_TTL));
    await assert.rejects(store.takeTransaction(newId()));
    await store.close();
  });
}
