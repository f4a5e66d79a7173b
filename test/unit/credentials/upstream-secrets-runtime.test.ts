// The upstream credentials runtime: sources live across snapshot generations while their config is
// unchanged, a changed config gets a new source, and the last generation's release closes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { UpstreamCredentialsRuntime } from '../../../src/credentials/upstream-secrets/runtime.ts';
import type { UpstreamCredentialsConfig } from '../../../src/credentials/upstream-secrets/runtime.ts';

const header = (value: string): UpstreamCredentialsConfig => ({ type: 'header', name: 'X-Api-Key', prefix: 'Key ', secret: { value } });

void test('an unchanged config shares one source across generations; a changed one gets its own', () => {
  const rt = new UpstreamCredentialsRuntime({ log: pino({ level: 'silent' }) });
  const a1 = rt.acquire('api', header('one'), 1);
  const a2 = rt.acquire('api', header('one'), 2);
  assert.ok(a1.ok && a2.ok);
  assert.equal(a1.credential, a2.credential);
  assert.equal(a1.credential.header, 'x-api-key');
  assert.equal(a1.credential.valueNow(), 'Key one');
  const b = rt.acquire('api', header('two'), 2);
  assert.ok(b.ok);
  assert.notEqual(b.credential, a1.credential);
  assert.equal(rt.size, 2);
  rt.release(1);
  assert.equal(rt.size, 2, 'generation 2 still uses both');
  rt.release(2);
  assert.equal(rt.size, 0);
});

void test('a file source is shared, and a bad one is a problem naming the config path', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-rt-'));
  const rt = new UpstreamCredentialsRuntime({ log: pino({ level: 'silent' }) });
  t.after(() => {
    rt.close();
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(join(dir, 's'), 'file-value\n');
  const cfg: UpstreamCredentialsConfig = { type: 'header', name: 'authorization', prefix: 'Bearer ', secret: { file: join(dir, 's') } };
  const got = rt.acquire('api', cfg, 1);
  assert.ok(got.ok);
  assert.equal(got.credential.valueNow(), 'Bearer file-value');
  const bad = rt.acquire('other', { ...cfg, secret: { file: join(dir, 'missing') } }, 1);
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.problem, /^upstreams\.other\.credentials\.secret: file .* holds no usable secret/);
});
