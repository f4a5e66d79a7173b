import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCheck } from '../../../src/cli/check.ts';
import { VALID } from '../config/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'cortex-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function check(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCheck(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
  });
  return { code, stdout, stderr };
}

test('a valid file is reported valid for every stage', async () => {
  const file = configFile('valid.yaml', VALID);
  assert.deepEqual(await check(['--config', file]), { code: 0, stdout: `ok: ${file} is valid for stages dev, staging, prod\n`, stderr: '' });
});

test('every problem is printed as path: message (line N) [stage], and the exit code is 1', async () => {
  const file = configFile('bad.yaml', `${VALID}log: { level: loud }\nstages:\n  prod: { admin: { token: short } }\n`);
  const result = await check(['--config', file]);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assert.deepEqual(result.stderr.trimEnd().split('\n'), [
    'log.level: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent" (line 25)',
    'admin.token: admin token must be at least 16 characters (line 27) [prod]',
  ]);
});

test('--stage checks only that stage', async () => {
  const file = configFile('prod-only.yaml', `${VALID}stages:\n  prod: { admin: { token: short } }\n`);
  assert.deepEqual(await check(['--config', file, '--stage', 'dev']), { code: 0, stdout: `ok: ${file} is valid for stage dev\n`, stderr: '' });
  const prod = await check(['--config', file, '--stage', 'prod']);
  assert.equal(prod.code, 1);
  assert.equal(prod.stderr, 'admin.token: admin token must be at least 16 characters (line 26) [prod]\n');
});

test('variables come from the environment given', async () => {
  const file = configFile('env.yaml', VALID.replace('port: 8080', 'port: ${PORT}'));
  assert.equal((await check(['--config', file], { PORT: '8081' })).code, 0);
  const missing = await check(['--config', file]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^gateway\.listen\.port: environment variable PORT is not set .* \(line 5\)\n$/);
});

test('warnings are printed but do not fail the check', async () => {
  const file = configFile('warn.yaml', VALID.replace('upstreams:\n', 'upstreams:\n  spare: { url: "http://127.0.0.1:2" }\n'));
  const result = await check(['--config', file]);
  assert.equal(result.code, 0);
  assert.equal(result.stderr, 'warning: upstreams.spare: no route uses this upstream (line 10)\n');
});

test('an unreadable file is named in the problem', async () => {
  const file = join(dir, 'missing.yaml');
  assert.deepEqual(await check(['--config', file]), { code: 1, stdout: '', stderr: `${file}: cannot read ${file} (ENOENT)\n` });
});

test('bad arguments print the usage and exit 2', async () => {
  const unknownOption = await check(['--bogus']);
  assert.equal(unknownOption.code, 2);
  assert.match(unknownOption.stderr, /usage: cortex check/);
  const badStage = await check(['--stage', 'qa']);
  assert.deepEqual(badStage, { code: 2, stdout: '', stderr: 'cortex check: unknown stage "qa"; stages are dev, staging, prod\n' });
});

test('without --config, the cortex dev config is checked', async () => {
  const result = await check([]);
  assert.deepEqual(result, { code: 0, stdout: 'ok: the cortex dev config is valid for stages dev, staging, prod\n', stderr: '' });
});
