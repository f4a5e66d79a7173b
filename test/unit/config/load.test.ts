import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deepFreeze, loadConfig } from '../../../src/config/load.ts';
import { load, VALID } from './fixtures.ts';

test('a valid file loads with the schema defaults filled in', () => {
  const { config, warnings } = load(VALID);
  assert.deepEqual(warnings, []);
  assert.equal(config.stage, 'dev');
  assert.equal(config.upstreams.orders?.timeoutMs, 30_000);
  assert.deepEqual(config.routes['orders-list']?.allow, { encodedSlash: false, semicolon: false, methodOverride: false, originalUrlHeaders: false });
  assert.deepEqual(config.audit.sinks, [{ type: 'sqlite', path: '.cortex/audit.db' }]);
});

test('a partly written listener keeps its own default port', () => {
  const { config } = load('version: 1\nadmin:\n  listen: { host: "::1" }\ngateway:\n  listen: { host: "::1" }\n');
  assert.deepEqual(config.admin.listen, { host: '::1', port: 9901 });
  assert.deepEqual(config.gateway.listen, { host: '::1', port: 8080 });
});

test('the loaded config is deeply frozen', () => {
  const { config } = load(VALID);
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.gateway.listen));
  assert.ok(Object.isFrozen(config.gateway.trustedProxies));
  assert.ok(Object.isFrozen(config.routes['orders-read']?.match.methods));
  assert.throws(() => {
    (config.gateway.listen as { port: number }).port = 1;
  }, TypeError);
  assert.throws(() => config.gateway.trustedProxies.push('10.0.0.1'), TypeError);
});

test('deepFreeze freezes nested objects and arrays and returns its argument', () => {
  const value = { a: [{ b: 1 }], c: { d: { e: 'x' } } };
  assert.equal(deepFreeze(value), value);
  assert.ok(Object.isFrozen(value.a[0]) && Object.isFrozen(value.c.d));
});

test('a file is read from disk, and text takes precedence over it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-load-'));
  try {
    const file = join(dir, 'cortex.yaml');
    writeFileSync(file, VALID);
    const fromFile = loadConfig({ file, env: {} });
    assert.ok(fromFile.ok);
    const fromText = loadConfig({ file, text: 'version: 1\n', env: {} });
    assert.ok(fromText.ok);
    assert.deepEqual(fromText.config.routes, {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the process environment is used when none is given', () => {
  process.env.CORTEX_TEST_SERVER_NAME = 'from-process-env';
  try {
    const result = loadConfig({ text: 'version: 1\ngateway: { server: "${CORTEX_TEST_SERVER_NAME}" }\n' });
    assert.ok(result.ok);
    assert.equal(result.config.gateway.server, 'from-process-env');
  } finally {
    delete process.env.CORTEX_TEST_SERVER_NAME;
  }
});
