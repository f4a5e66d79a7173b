// The key ring file: round trip, private file mode, atomic replacement, serialised updates.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openFileKeyStore } from '../../../src/credentials/stores/file-store.ts';
import type { StoredKey } from '../../../src/credentials/types.ts';

function record(kid: string, createdAt: number, extra: Partial<StoredKey> = {}): StoredKey {
  return { kid, alg: 'ES256', publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }, sealedPrivateKey: 'c2VhbGVk', createdAt, activatesAt: createdAt, ...extra };
}

describe('file key store', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cortex-keystore-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a missing file is an empty ring; keys written come back oldest first, in a 0600 file in a new directory', async () => {
    const path = join(dir, 'a', 'b', 'ring.json');
    const store = openFileKeyStore(path);
    assert.deepEqual(await store.load(), []);
    const written = await store.update(() => [record('k2', 2000, { retiresAt: 5000 }), record('k1', 1000)]);
    assert.deepEqual(
      written.map((k) => k.kid),
      ['k1', 'k2'],
    );
    assert.deepEqual(await openFileKeyStore(path).load(), written);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'a', 'b'))).mode & 0o077, 0);
    assert.deepEqual(await readdir(join(dir, 'a', 'b')), ['ring.json'], 'no temp file left behind');
    await store.close();
  });

  test('a change that returns undefined writes nothing', async () => {
    const path = join(dir, 'unchanged.json');
    const store = openFileKeyStore(path);
    await store.update(() => [record('k1', 1)]);
    const before = await readFile(path, 'utf8');
    await writeFile(path, before.replace('"version": 1', '"version":1'));
    const keys = await store.update((ks) => {
      assert.equal(ks.length, 1);
      return undefined;
    });
    assert.equal(keys.length, 1);
    assert.equal(await readFile(path, 'utf8'), before.replace('"version": 1', '"version":1'));
  });

  test('concurrent updates in one process are serialised: each sees the one before', async () => {
    const store = openFileKeyStore(join(dir, 'serial.json'));
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.update((ks) => [...ks, record(`k${i}`, ks.length)])));
    const keys = await store.load();
    assert.equal(keys.length, 10);
    assert.deepEqual(
      keys.map((k) => k.createdAt),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
  });

  test('a file that is not a key ring is refused with its path', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(path, '{"version":1,"keys":[{"kid":"k"}]}');
    await assert.rejects(openFileKeyStore(path).load(), new RegExp(`${path} keys\\[0\\]: invalid signing key record`));
    await writeFile(path, 'not json');
    await assert.rejects(openFileKeyStore(path).load(), /is not JSON/);
  });
});
