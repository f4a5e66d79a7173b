// `cortex api-keys` end to end: the real command (bin/cortex.js) against a temp config whose
// SQLite store a real gateway also serves from. stdout of create is the key alone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KEY_PATTERN } from '../../../src/identity/api-keys/keys.ts';
import { assertProblem, send } from '../../helpers/gateway-checks.ts';
import { HMAC_SECRET, startKeyGateway } from './kit.ts';
import type { KeyGateway } from './kit.ts';

const BIN = resolve(import.meta.dirname, '../../../bin/cortex.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cortex(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, 'api-keys', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

describe('cortex api-keys', () => {
  let dir: string;
  let config: string;
  let kg: KeyGateway;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cortex-keys-cli-'));
    const db = join(dir, 'keys.db');
    config = join(dir, 'cortex.yaml');
    writeFileSync(
      config,
      [
        'version: 1',
        'stage: dev',
        'identity:',
        '  apiKeys:',
        `    store: { type: sqlite, path: ${JSON.stringify(db)} }`,
        '    hmacSecret: ${CLI_TEST_HMAC}',
        'upstreams:',
        '  up: { url: "http://127.0.0.1:9" }',
        'routes:',
        '  svc: { match: { prefix: /svc/ }, upstream: up, auth: api_key }',
      ].join('\n'),
    );
    kg = await startKeyGateway({ type: 'sqlite', path: db });
  });
  after(async () => {
    await kg.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = { CLI_TEST_HMAC: HMAC_SECRET };

  test('create prints only the key on stdout; the gateway accepts it; list shows it without the secret; revoke ends it', async () => {
    const created = await cortex(['create', '--service', 'billing', '--role', 'reader', '--role', 'writer', '--expires', '30d', '--description', 'from CI', '--config', config], env);
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    assert.match(key, KEY_PATTERN);
    assert.equal(created.stdout, `${key}\n`);
    const keyId = key.slice(4, 16);
    assert.match(created.stderr, new RegExp(`created API key ${keyId} for service billing`));
    assert.ok(!created.stderr.includes(key.slice(-43)), 'the secret is printed once, on stdout');

    assert.equal((await send(`${kg.gw.url}/svc/data`, { headers: { 'x-api-key': key } })).status, 200);

    const listed = await cortex(['list', '--config', config], env);
    assert.equal(listed.code, 0, listed.stderr);
    const row = listed.stdout.split('\n').find((l) => l.startsWith(keyId));
    assert.ok(row, listed.stdout);
    assert.match(row, /service\s+billing\s+reader,writer\s+\S+Z\s+\S+Z\s+-\s+-$/);
    assert.ok(!listed.stdout.includes(key.slice(-43)));

    const revoked = await cortex(['revoke', keyId, '--config', config], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, `revoked ${keyId}\n`);
    assertProblem(await send(`${kg.gw.url}/svc/data`, { headers: { 'x-api-key': key } }), 401, 'authn.api_key_revoked');
    assert.match((await cortex(['list', '--config', config], env)).stdout, new RegExp(`${keyId}.*\\d{4}-\\d\\d-\\d\\dT\\S+Z$`, 'm'));
  });

  test('usage mistakes exit 2 with the usage; an unknown key exits 1', async () => {
    for (const args of [
      ['create', '--role', 'r', '--config', config],
      ['create', '--service', 's', '--user', 'u', '--role', 'r', '--config', config],
      ['create', '--service', 's', '--config', config],
      ['create', '--service', 's', '--role', 'r', '--expires', 'soon', '--config', config],
      ['revoke', '--config', config],
      ['rotate', '--config', config],
      ['list', '--bogus'],
    ]) {
      const r = await cortex(args, env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /usage:/);
      assert.equal(r.stdout, '');
    }
    const unknown = await cortex(['revoke', 'aaaaaaaaaaaa', '--config', config], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no API key aaaaaaaaaaaa/);
  });

  test('a config without identity.apiKeys, or one that does not load, exits 1 with the reason', async () => {
    const none = join(dir, 'none.yaml');
    writeFileSync(none, 'version: 1\nstage: dev\nupstreams:\n  up: { url: "http://127.0.0.1:9" }\nroutes:\n  r: { match: { prefix: / }, upstream: up, auth: none }\n');
    const r = await cortex(['list', '--config', none], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /does not configure identity\.apiKeys/);
    const unset = await cortex(['list', '--config', config]);
    assert.equal(unset.code, 1);
    assert.match(unset.stderr, /CLI_TEST_HMAC/);
  });
});
