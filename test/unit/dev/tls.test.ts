// The local TLS material of `cortex dev --tls`: made once, reused, renewed near expiry, keys 0600.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalTls } from '../../../src/dev/tls.ts';

const DAY = 24 * 60 * 60 * 1000;

test('ensureLocalTls makes a CA and a localhost certificate once, then reuses them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-tls-'));
  try {
    const first = await ensureLocalTls(dir);
    assert.deepEqual(first.generated, ['ca', 'cert']);
    assert.equal(statSync(first.key).mode & 0o777, 0o600);
    assert.equal(statSync(first.caKey).mode & 0o777, 0o600);
    const ca = new X509Certificate(readFileSync(first.ca));
    const leaf = new X509Certificate(readFileSync(first.cert));
    assert.ok(ca.ca, 'the CA certificate is a CA');
    assert.ok(!leaf.ca);
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'the leaf is signed by the CA');
    assert.equal(leaf.checkHost('localhost'), 'localhost');
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(leaf.checkIP('::1'), '::1');

    const again = await ensureLocalTls(dir);
    assert.deepEqual(again.generated, []);
    assert.equal(new X509Certificate(readFileSync(again.cert)).fingerprint256, leaf.fingerprint256, 'the same certificate');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ensureLocalTls renews an expiring leaf under the same CA, and both after a broken CA', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-tls-'));
  try {
    const first = await ensureLocalTls(dir);
    const caPem = readFileSync(first.ca, 'utf8');
    const leafPem = readFileSync(first.cert, 'utf8');
    const later = await ensureLocalTls(dir, Date.now() + 364 * DAY);
    assert.deepEqual(later.generated, ['cert'], 'a leaf within days of expiry is renewed; the CA is kept');
    assert.equal(readFileSync(later.ca, 'utf8'), caPem);
    assert.notEqual(readFileSync(later.cert, 'utf8'), leafPem);

    writeFileSync(first.ca, 'not a certificate');
    const rebuilt = await ensureLocalTls(dir);
    assert.deepEqual(rebuilt.generated, ['ca', 'cert']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
