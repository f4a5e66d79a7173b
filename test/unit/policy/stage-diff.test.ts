// `cortex diff` on the expected-file fixtures (test/fixtures/diff/<case>/: config.yaml, args.txt
// with paths relative to the case, expected.txt compared byte for byte), its JSON, and usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runDiff } from '../../../src/cli/diff.ts';
import { diffGrantees } from '../../../src/policy/stage-diff.ts';
import { loadConfig } from '../../../src/config/load.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
// Policy files in the fixtures, like the gateway's, are resolved from the working directory.
process.chdir(ROOT);
const FIXTURES = 'test/fixtures/diff';

async function diff(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runDiff(argv, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env: {} });
  return { code, stdout, stderr };
}

for (const name of readdirSync(FIXTURES).sort()) {
  test(`diff fixture ${name}: the output is expected.txt, byte for byte`, async () => {
    const dir = join(FIXTURES, name);
    const args = readFileSync(join(dir, 'args.txt'), 'utf8').trim().split(/\s+/).map((a) => (a.endsWith('.yaml') ? join(dir, a) : a));
    const r = await diff(args);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, readFileSync(join(dir, 'expected.txt'), 'utf8'));
  });
}

test('a mapping that widens: role by role nothing changes, group by group support gains orders:delete', () => {
  const file = join(FIXTURES, 'widening-map', 'config.yaml');
  const staging = loadConfig({ file, stage: 'staging', env: {} });
  const prod = loadConfig({ file, stage: 'prod', env: {} });
  assert.ok(staging.ok && prod.ok);
  assert.deepEqual(staging.config.policy?.grants, prod.config.policy?.grants);
  assert.deepEqual(diffGrantees({ label: 'staging', config: staging.config }, { label: 'prod', config: prod.config }), [
    { kind: 'group', name: 'support', provider: 'corp', gained: ['orders:delete'], lost: [] },
  ]);
});

test('--json gives the changes, the policy ids and the notes', async () => {
  const r = await diff(['--stage', 'staging', '--stage', 'prod', '--config', join(FIXTURES, 'grants-per-stage', 'config.yaml'), '--json']);
  assert.equal(r.code, 0);
  const json = JSON.parse(r.stdout) as { from: string; to: string; changes: unknown[]; policies: unknown; notes: string[] };
  assert.equal(json.from, 'staging');
  assert.equal(json.to, 'prod');
  assert.deepEqual(json.changes[0], { kind: 'agent', name: 'assistant', provider: 'corp', gained: ['orders:create', 'orders:refund'], lost: [] });
  assert.deepEqual(json.policies, { added: [], removed: [], changed: [] });
  assert.match(json.notes.at(-1) ?? '', /compared by policy id only/);
});

test('the cortex dev config has no stage overrides: nothing changes between staging and prod', async () => {
  const r = await diff(['--stage', 'staging', '--stage', 'prod']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^diff staging → prod\nno group, service or agent gains or loses an intent\n/);
});

test('usage errors exit 2: one stage only, an unknown stage, a config that does not load', async () => {
  assert.equal((await diff(['--stage', 'prod'])).code, 2);
  const unknown = await diff(['--stage', 'qa', '--stage', 'prod']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown stage "qa"/);
  const missing = await diff(['--config', 'nope.yaml', '--config', 'nope2.yaml']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.yaml is not valid/);
});
