import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { acquireLockMutex } from '../../../src/intents/lock-mutex.ts';

const dir = mkdtempSync(join(tmpdir(), 'cortex-lock-mutex-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('one holder at a time; released, it can be taken again', () => {
  const lock = join(dir, 'a', 'orders.json');
  const release = acquireLockMutex(lock, 0);
  assert.ok(release !== undefined);
  assert.ok(existsSync(`${lock}.mutex`));
  assert.equal(acquireLockMutex(lock, 0), undefined, 'a second writer does not get it');
  assert.equal(acquireLockMutex(lock, 60), undefined, 'nor after waiting while it is held');
  release();
  assert.equal(existsSync(`${lock}.mutex`), false);
  const again = acquireLockMutex(lock, 0);
  assert.ok(again !== undefined);
  again();
});

test('a mutex left by a crashed writer is taken over once it is stale', () => {
  const lock = join(dir, 'b.json');
  writeFileSync(`${lock}.mutex`, '99999\n');
  assert.equal(acquireLockMutex(lock, 0), undefined, 'a fresh one is respected');
  const old = (Date.now() - 60_000) / 1000;
  utimesSync(`${lock}.mutex`, old, old);
  const release = acquireLockMutex(lock, 0);
  assert.ok(release !== undefined);
  release();
});
