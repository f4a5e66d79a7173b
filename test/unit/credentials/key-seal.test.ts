// Private keys at rest: AES-256-GCM under the key-encryption key, bound to their kid.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { KekError, kekFromText, loadKek, sealPrivateKey, unsealPrivateKey, UnsealError } from '../../../src/credentials/key-seal.ts';

const PASSPHRASE = 'correct horse battery staple, twice over';

function ecKey() {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

function der(key: ReturnType<typeof ecKey>): Buffer {
  return key.export({ format: 'der', type: 'pkcs8' });
}

describe('key-encryption key', () => {
  test('32 bytes as hex, base64 and base64url are the key itself', async () => {
    const raw = randomBytes(32);
    const forms = [raw.toString('hex'), raw.toString('base64'), raw.toString('base64').replace(/=$/, ''), raw.toString('base64url')];
    for (const form of forms) {
      const kek = await kekFromText(form);
      assert.deepEqual(kek.export(), raw, form);
    }
  });

  test('a passphrase is stretched to the same key every time, and another passphrase gives another', async () => {
    const a = await kekFromText(PASSPHRASE);
    const b = await kekFromText(PASSPHRASE);
    const c = await kekFromText(`${PASSPHRASE}!`);
    assert.equal(a.symmetricKeySize, 32);
    assert.deepEqual(a.export(), b.export());
    assert.notDeepEqual(a.export(), c.export());
  });

  test('a short passphrase, a missing key and an unreadable file are refused with a clear message', async () => {
    await assert.rejects(kekFromText('too short'), (e: unknown) => e instanceof KekError && /at least 32 characters/.test(e.message));
    await assert.rejects(loadKek({}), (e: unknown) => e instanceof KekError && /encryptionKey or encryptionKeyFile/.test(e.message));
    await assert.rejects(loadKek({ encryptionKeyFile: '/nonexistent/kek' }), (e: unknown) => e instanceof KekError && /\/nonexistent\/kek: ENOENT/.test(e.message));
  });

  test('encryptionKeyFile is read with its trailing newline trimmed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cortex-kek-'));
    try {
      const raw = randomBytes(32);
      await writeFile(join(dir, 'kek'), `${raw.toString('hex')}\n`);
      assert.deepEqual((await loadKek({ encryptionKeyFile: join(dir, 'kek') })).export(), raw);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('seal and unseal', () => {
  test('a sealed key opens with the same KEK and kid, and is the same private key', async () => {
    const kek = await kekFromText(randomBytes(32).toString('hex'));
    const key = ecKey();
    const sealed = sealPrivateKey(key, 'kid-1', kek);
    assert.match(sealed, /^[A-Za-z0-9_-]+$/);
    assert.ok(!sealed.includes(der(key).toString('base64url')), 'the key is not stored in clear');
    assert.deepEqual(der(unsealPrivateKey(sealed, 'kid-1', kek)), der(key));
    assert.notEqual(sealPrivateKey(key, 'kid-1', kek), sealed, 'a fresh iv each time');
  });

  test('a wrong KEK fails with an error naming the kid, not crypto internals', async () => {
    const sealed = sealPrivateKey(ecKey(), 'kid-wrong', await kekFromText(PASSPHRASE));
    const other = await kekFromText(`${PASSPHRASE}, but different`);
    assert.throws(
      () => unsealPrivateKey(sealed, 'kid-wrong', other),
      (e: unknown) => e instanceof UnsealError && e.kid === 'kid-wrong' && /signing key kid-wrong: cannot decrypt/.test(e.message) && !/Unsupported state|auth/i.test(e.message),
    );
  });

  test('a tampered or truncated record is refused', async () => {
    const kek = await kekFromText(randomBytes(32).toString('base64'));
    const bytes = Buffer.from(sealPrivateKey(ecKey(), 'kid-t', kek), 'base64url');
    for (const at of [0, 13, 40, bytes.length - 1]) {
      const copy = Buffer.from(bytes);
      copy[at] = (copy[at] as number) ^ 1;
      assert.throws(() => unsealPrivateKey(copy.toString('base64url'), 'kid-t', kek), UnsealError, `byte ${at}`);
    }
    assert.throws(() => unsealPrivateKey(bytes.subarray(0, 20).toString('base64url'), 'kid-t', kek), /truncated/);
  });

  test('a sealed key moved to another record (kid) does not open', async () => {
    const kek = await kekFromText(randomBytes(32).toString('hex'));
    const sealed = sealPrivateKey(ecKey(), 'kid-a', kek);
    assert.throws(() => unsealPrivateKey(sealed, 'kid-b', kek), (e: unknown) => e instanceof UnsealError && e.message.startsWith('signing key kid-b:'));
  });
});
