// gateway/tls.ts without a listener: certificate reload keeps the previous pair when the new one is
// broken, and installs a good one as the default context.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { CIPHERS, createGatewayTls } from '../../../src/gateway/tls.ts';
import { createTestCa } from '../../helpers/certs.ts';
import type { TestCa } from '../../helpers/certs.ts';

let ca: TestCa;
before(() => {
  ca = createTestCa();
});
after(() => ca.close());

function recordingLog(): { log: Logger; errors: unknown[]; infos: unknown[] } {
  const errors: unknown[] = [];
  const infos: unknown[] = [];
  const log = { error: (...args: unknown[]) => errors.push(args), info: (...args: unknown[]) => infos.push(args) } as unknown as Logger;
  return { log, errors, infos };
}

test('a broken pair keeps the previous certificate and logs an error; a good one replaces the default', () => {
  const live = ca.issue('live', ['a.test']);
  const next = ca.issue('next', ['a.test']);
  const other = ca.issue('other', ['b.test']);
  const { log, errors, infos } = recordingLog();
  const tls = createGatewayTls({ minVersion: 'TLSv1.2', http2: true, certificates: [{ cert: live.cert, key: live.key, serverNames: ['a.test'] }] }, log);
  const installed: Buffer[] = [];
  tls.watch({ setSecureContext: (o) => installed.push(o.cert) });
  try {
    tls.reload();
    assert.deepEqual([errors.length, infos.length, installed.length], [0, 0, 0], 'unchanged files are not reloaded');

    copyFileSync(other.key, live.key); // a key that does not match the certificate
    tls.reload();
    assert.equal(errors.length, 1);
    assert.equal(installed.length, 0);

    rmSync(live.cert); // unreadable
    tls.reload();
    assert.equal(errors.length, 2);

    copyFileSync(next.cert, live.cert);
    copyFileSync(next.key, live.key);
    tls.reload();
    assert.equal(errors.length, 2);
    assert.equal(installed.length, 1);
    assert.equal(infos.length, 1);
  } finally {
    tls.close();
  }
});

test('the TLS 1.2 cipher list has only ECDHE key exchange with AEAD ciphers', () => {
  for (const suite of CIPHERS.split(':')) {
    assert.match(suite, /^(TLS_|ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM|CHACHA20-POLY1305))/, suite);
  }
});
