import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startDevIdp, type DevIdp } from '../../../src/dev/idp/index.ts';

const entry = fileURLToPath(new URL('../../../src/cli/dev-token.ts', import.meta.url));

function cortexDevToken(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `import { runDevToken } from ${JSON.stringify(entry)}; process.exitCode = await runDevToken(process.argv.slice(1));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, '--', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('cortex dev token', () => {
  let cwd: string;
  let idp: DevIdp;
  const verify = (token: string) => jwtVerify(token, createRemoteJWKSet(new URL(`${idp.issuer}/jwks`)), { issuer: idp.issuer });

  before(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'cortex-dev-token-'));
    idp = await startDevIdp({ host: '127.0.0.1', port: 0, stateDir: join(cwd, '.cortex', 'dev', 'idp') });
  });
  after(async () => {
    await idp.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  test('secrets and keys are kept in 0600 files', () => {
    for (const f of ['client-secrets.json', 'signing-keys.json', 'idp.json']) {
      assert.equal(statSync(join(cwd, '.cortex', 'dev', 'idp', f)).mode & 0o777, 0o600);
    }
    assert.notEqual(idp.clients['cortex-cli']?.clientSecret, 'dev-secret-cortex-cli');
  });

  test('--as prints only a person token', async () => {
    const r = await cortexDevToken(cwd, ['--as', 'alice']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    const { payload } = await verify(r.stdout.trim());
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.aud, 'cortex-gateway');
  });

  // --agent --for exchanges the person's token at the gateway: test/integration/credentials/exchange-dev-token.test.ts.
  test('--service with --audience', async () => {
    const s = await cortexDevToken(cwd, ['--service', 'reporting', '--audience', 'billing']);
    assert.equal(s.code, 0, s.stderr);
    const service = await verify(s.stdout.trim());
    assert.equal(service.payload.sub, 'reporting');
    assert.equal(service.payload.aud, 'billing');
  });

  test('an unknown person or agent fails with a clear message', async () => {
    const p = await cortexDevToken(cwd, ['--as', 'mallory']);
    assert.equal(p.code, 1);
    assert.equal(p.stdout, '');
    assert.match(p.stderr, /unknown subject 'mallory'/);
    const a = await cortexDevToken(cwd, ['--agent', 'nobody', '--for', 'bob']);
    assert.equal(a.code, 1);
    assert.match(a.stderr, /unknown agent 'nobody'/);
  });

  test('without a running cortex dev it says so', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'cortex-dev-token-none-'));
    try {
      const r = await cortexDevToken(empty, ['--as', 'alice']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cortex dev is not running/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
