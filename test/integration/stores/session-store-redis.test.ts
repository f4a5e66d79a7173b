// The session store contract against a real Redis (127.0.0.1:6379) under a key prefix unique to this
// run, removed afterwards; then the key layout and what happens when Redis is not there.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { SessionRecord } from '../../../src/stores/session-store.ts';
import { createSessionStore } from '../../../src/stores/create-session-store.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { loginTransaction, newId, sessionRecord, sessionStoreContract } from './session-store-contract.ts';

const log = createLogger({ level: 'silent' });
const url = 'redis://127.0.0.1:6379';
const prefix = `cortex-test:sessions:${randomBytes(6).toString('hex')}:`;
const admin = new Redis(url);

async function keysUnderPrefix(): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

after(async () => {
  const keys = await keysUnderPrefix();
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

const redisStore = (target = url) => createSessionStore({ type: 'redis', url: target, prefix }, { log });

sessionStoreContract('redis', () => Promise.resolve({ store: redisStore(), tick: () => sleep(100) }));

test('redis: keys are <prefix>s:<id> and <prefix>t:<id>, each with an expiry', async () => {
  const store = redisStore();
  const record = sessionRecord();
  const txId = newId();
  await store.set(record, 600);
  await store.putTransaction(txId, loginTransaction(), 300);
  const sessionTtl = await admin.pttl(`${prefix}s:${record.id}`);
  const txTtl = await admin.pttl(`${prefix}t:${txId}`);
  assert.ok(sessionTtl > 0 && sessionTtl <= 600_000, `session PTTL ${sessionTtl}`);
  assert.ok(txTtl > 0 && txTtl <= 300_000, `transaction PTTL ${txTtl}`);
  const stored = JSON.parse((await admin.get(`${prefix}s:${record.id}`)) ?? 'null') as SessionRecord;
  assert.equal(stored.subject, record.subject);
  await store.delete(record.id);
  assert.equal(await admin.exists(`${prefix}s:${record.id}`), 0);
  await store.close();
});

test('redis: two stores (two gateways) racing on one session version: exactly one wins', async () => {
  const a = redisStore();
  const b = redisStore();
  const record = sessionRecord({ version: 5 });
  await a.set(record, 600);
  const writers = Array.from({ length: 10 }, (_, i) => ({ store: i % 2 === 0 ? a : b, record: { ...record, subject: `w${i}`, version: 6 } }));
  const results = await Promise.all(writers.map((w) => w.store.compareAndSet(w.record, 5, 600)));
  assert.equal(results.filter(Boolean).length, 1);
  assert.equal((await b.get(record.id))?.subject, writers[results.indexOf(true)]!.record.subject);
  await Promise.all([a.close(), b.close()]);
});

test('redis: with nothing listening, every operation rejects within a bound instead of hanging', async () => {
  const store = redisStore('redis://127.0.0.1:1');
  const bound = <T>(p: Promise<T>): Promise<T | 'hung'> => Promise.race([p, sleep(5_000, 'hung' as const, { ref: false })]);
  const outcome = async (p: Promise<unknown>): Promise<string> => {
    try {
      return (await bound(p)) === 'hung' ? 'hung' : 'resolved';
    } catch {
      return 'rejected';
    }
  };
  try {
    const record = sessionRecord();
    assert.equal(await outcome(store.get(record.id)), 'rejected');
    assert.equal(await outcome(store.set(record, 600)), 'rejected');
    assert.equal(await outcome(store.compareAndSet(record, 1, 600)), 'rejected');
    assert.equal(await outcome(store.delete(record.id)), 'rejected');
    assert.equal(await outcome(store.putTransaction(newId(), loginTransaction(), 600)), 'rejected');
    assert.equal(await outcome(store.takeTransaction(newId())), 'rejected');
  } finally {
    assert.equal(await outcome(store.close()), 'resolved');
  }
});
