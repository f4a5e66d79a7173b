import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchConfig } from '../../../src/config/watch.ts';
import type { ConfigWatcher } from '../../../src/config/watch.ts';

let dir: string;
let file: string;
let watcher: ConfigWatcher | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cortex-watch-'));
  file = join(dir, 'cortex.yaml');
  writeFileSync(file, 'version: 1\n');
});

afterEach(() => {
  watcher?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Counts onChange calls and resolves `next` on each; a guard timer fails a test that never sees one. */
function counter(): { calls: () => number; next: () => Promise<void> } {
  let calls = 0;
  let wake: (() => void) | undefined;
  watcher = watchConfig(file, () => {
    calls++;
    wake?.();
  }, { debounceMs: 30 });
  return {
    calls: () => calls,
    next: () =>
      new Promise<void>((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error('onChange was not called')), 5_000);
        wake = () => {
          clearTimeout(guard);
          resolve();
        };
      }),
  };
}

test('an editor-style save (write a new file, rename it over the old) is seen', async () => {
  const changes = counter();
  const seen = changes.next();
  writeFileSync(join(dir, 'cortex.yaml.tmp'), 'version: 1\nlog: { level: debug }\n');
  renameSync(join(dir, 'cortex.yaml.tmp'), file);
  await seen;
  assert.equal(changes.calls(), 1);
});

test('a burst of writes becomes one call, and other files in the directory are ignored', async () => {
  const changes = counter();
  writeFileSync(join(dir, 'other.yaml'), 'x: 1\n');
  await sleep(150);
  assert.equal(changes.calls(), 0);
  const seen = changes.next();
  for (let i = 0; i < 5; i++) writeFileSync(file, `version: 1\n# ${i}\n`);
  await seen;
  await sleep(150);
  assert.equal(changes.calls(), 1);
});

test('a file that is briefly missing is reported when it comes back, not while it is gone', async () => {
  const changes = counter();
  unlinkSync(file);
  await sleep(150);
  assert.equal(changes.calls(), 0);
  const seen = changes.next();
  writeFileSync(file, 'version: 1\n');
  await seen;
  assert.equal(changes.calls(), 1);
});

test('close stops the calls', async () => {
  const changes = counter();
  watcher?.close();
  writeFileSync(file, 'version: 1\n# changed\n');
  await sleep(150);
  assert.equal(changes.calls(), 0);
});
