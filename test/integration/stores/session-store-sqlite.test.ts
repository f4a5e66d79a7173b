// The session store contract against the SQLite backend (node:sqlite), each store in a fresh file
// under a temporary directory; then what only a file on disk can show.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSessionStore } from '../../../src/stores/create-session-store.ts';
import { createSqliteSessionStore } from '../../../src/stores/sqlite/session-store.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { loginTransaction, newId, sessionRecord, sessionStoreContract } from './session-store-contract.ts';

const log = createLogger({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'cortex-sessions-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newPath = (): string => join(dir, `run-${++files}`, 'sessions.db');

sessionStoreContract('sqlite', () => Promise.resolve({ store: createSessionStore({ type: 'sqlite', path: newPath() }, { log }), tick: () => sleep(100) }));

test('sqlite: creates the missing directory and an owner-only database file', async () => {
  const path = newPath();
  const store = createSessionStore({ type: 'sqlite', path }, { log });
  await store.set(sessionRecord(), 600);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600);
  await store.close();
});

test('sqlite: sessions and transactions survive reopening the file', async () => {
  const path = newPath();
  const first = createSessionStore({ type: 'sqlite', path }, { log });
  const record = sessionRecord();
  const txId = newId();
  const tx = loginTransaction();
  await first.set(record, 600);
  await first.putTransaction(txId, tx, 600);
  await first.close();
  const second = createSessionStore({ type: 'sqlite', path }, { log });
  assert.deepEqual(await second.get(record.id), record);
  assert.deepEqual(await second.takeTransaction(txId), tx);
  await second.close();
});

test('sqlite: two stores on one file (two gateways on a host) see one version and one winner', async () => {
  const path = newPath();
  const a = createSessionStore({ type: 'sqlite', path }, { log });
  const b = createSessionStore({ type: 'sqlite', path }, { log });
  const record = sessionRecord({ version: 3 });
  await a.set(record, 600);
  const results = await Promise.all([a, b, a, b].map((s, i) => s.compareAndSet({ ...record, subject: `w${i}`, version: 4 }, 3, 600)));
  assert.equal(results.filter(Boolean).length, 1);
  assert.deepEqual(await b.get(record.id), await a.get(record.id));
  const txId = newId();
  await b.putTransaction(txId, loginTransaction(), 600);
  const taken = await Promise.all([a.takeTransaction(txId), b.takeTransaction(txId)]);
  assert.equal(taken.filter((t) => t !== undefined).length, 1);
  await Promise.all([a.close(), b.close()]);
});

test('sqlite: expired rows are deleted from the file by the prune timer', async () => {
  const path = newPath();
  const store = createSqliteSessionStore({ path, log, pruneIntervalMs: 50 });
  await store.set(sessionRecord(), 1);
  await store.putTransaction(newId(), loginTransaction(), 1);
  const kept = sessionRecord();
  await store.set(kept, 600);
  const peek = new DatabaseSync(path, { readOnly: true });
  const count = (): number => {
    const s = peek.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number };
    const t = peek.prepare('SELECT count(*) AS n FROM login_transactions').get() as { n: number };
    return s.n + t.n;
  };
  assert.equal(count(), 3);
  for (let i = 0; i < 100 && count() > 1; i++) await sleep(100);
  assert.equal(count(), 1);
  assert.deepEqual(await store.get(kept.id), kept);
  peek.close();
  await store.close();
});
