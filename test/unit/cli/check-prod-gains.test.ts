// `cortex check`'s prod-wider-than-staging rule: a group, service or agent that holds more in prod
// than in staging fails the check unless prod's policy.allowProdGains lists it, with a reason.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { runCheck } from '../../../src/cli/check.ts';

const WIDENING = readFileSync(resolve(import.meta.dirname, '../../fixtures/diff/widening-map/config.yaml'), 'utf8');
const GRANTS = readFileSync(resolve(import.meta.dirname, '../../fixtures/diff/grants-per-stage/config.yaml'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'cortex-check-gains-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function check(name: string, text: string, argv: string[] = []): Promise<{ code: number; stdout: string; stderr: string; file: string }> {
  const file = join(dir, name);
  writeFileSync(file, text);
  let stdout = '';
  let stderr = '';
  const code = await runCheck(['--config', file, ...argv], { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env: {} });
  return { code, stdout, stderr, file };
}

test('a prod mapping that widens a group fails the check, naming the group and the intent', async () => {
  const r = await check('widening.yaml', WIDENING);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `${r.file}: group support (corp) holds orders:delete in prod and not in staging; list it in policy.allowProdGains if that is on purpose [prod]\n`);
});

test('allowProdGains in prod lets the gain through, and the reason is printed as info', async () => {
  const allowed = WIDENING.replace(
    '              support: [support, admin]\n',
    '              support: [support, admin]\n    policy:\n      allowProdGains:\n        - { who: "group:support", provider: corp, intents: ["orders:*"], reason: "on-call support cleans up in prod" }\n',
  );
  const r = await check('allowed.yaml', allowed);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.equal(
    r.stdout,
    `info: group support (corp) holds orders:delete in prod and not in staging: allowed (on-call support cleans up in prod)\nok: ${r.file} is valid for stages dev, staging, prod\n`,
  );
});

test('an allowance for another provider or another intent does not cover the gain', async () => {
  const other = WIDENING.replace(
    '              support: [support, admin]\n',
    '              support: [support, admin]\n    policy:\n      allowProdGains:\n        - { who: "group:support", provider: other, intents: ["orders:delete"], reason: x }\n        - { who: "group:support", intents: ["orders:read"], reason: y }\n',
  );
  const r = await check('other.yaml', other);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /group support \(corp\) holds orders:delete in prod/);
});

test('gains of services and agents are checked too, losses are not; agents stay capped by forbidTags', async () => {
  const r = await check('grants.yaml', GRANTS);
  assert.equal(r.code, 1);
  const lines = r.stderr.trimEnd().split('\n').map((l) => l.slice(r.file.length + 2).replace(' in prod and not in staging; list it in policy.allowProdGains if that is on purpose [prod]', ''));
  assert.deepEqual(lines, [
    'agent assistant (corp) holds orders:create',
    'agent assistant (corp) holds orders:refund',
    'group customers (corp) holds orders:refund',
    'service reporting (corp) holds orders:create',
    'service reporting (corp) holds orders:delete',
    'service reporting (corp) holds orders:refund',
  ]);
});

test('checking one stage does not compare stages', async () => {
  const r = await check('one-stage.yaml', WIDENING, ['--stage', 'prod']);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
});

test('the cortex dev config still passes (no stage overrides)', async () => {
  let stdout = '';
  const code = await runCheck([], { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => true }, env: {} });
  assert.equal(code, 0);
  assert.equal(stdout, 'ok: the cortex dev config is valid for stages dev, staging, prod\n');
});
