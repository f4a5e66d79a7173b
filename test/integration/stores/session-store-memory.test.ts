// The session store contract against the in-memory backend, with an injected clock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSessionStore } from '../../../src/stores/create-session-store.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { sessionRecord, sessionStoreContract } from './session-store-contract.ts';

const log = createLogger({ level: 'silent' });

sessionStoreContract('memory', () => {
  let clock = Date.now();
  const store = createSessionStore({ type: 'memory' }, { log, now: () => clock });
  return Promise.resolve({
    store,
    tick: () => {
      clock += 500;
      return Promise.resolve();
    },
  });
});

test('memory: an entry lives exactly until its TTL has passed on the injected clock', async () => {
  let clock = 1_000_000;
  const store = createSessionStore({ type: 'memory' }, { log, now: () => clock });
  const record = sessionRecord();
  await store.set(record, 10);
  clock += 9_999;
  assert.deepEqual(await store.get(record.id), record);
  clock += 1;
  assert.equal(await store.get(record.id), undefined);
  await store.close();
});
