// `cortex test`: the demo case file passes (exit 0), a broken copy fails naming the case (exit 1),
// and case files or configs that cannot be used are usage errors (exit 2).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runTest } from '../../../src/cli/test.ts';
import { parseCaseFile } from '../../../src/policy/test-cases.ts';

const DEV_CASES = resolve(import.meta.dirname, '../../../examples/policy/dev-cases.yaml');
const dir = mkdtempSync(join(tmpdir(), 'cortex-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function cortexTest(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runTest(argv, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env: {} });
  return { code, stdout, stderr };
}

function caseFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

test('the demo cases pass on the cortex dev config: one ok line per case and a summary, exit 0', async () => {
  const r = await cortexTest([DEV_CASES]);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  const lines = r.stdout.trimEnd().split('\n');
  assert.ok(lines.slice(0, -1).every((l) => l.startsWith('ok    ')), r.stdout);
  assert.ok(lines.includes("ok    the assistant acting for bob reads bob's order"));
  assert.match(lines.at(-1) ?? '', /^(\d+) cases: \1 passed, 0 failed$/);
});

test('a broken copy fails, naming the case, what was expected and what decided it; exit 1', async () => {
  const broken = readFileSync(DEV_CASES, 'utf8').replace(
    /(- name: bob may not delete an order\n(?:.*\n)*?\s+expect:) deny/,
    '$1 allow',
  );
  assert.notEqual(broken, readFileSync(DEV_CASES, 'utf8'));
  const r = await cortexTest([caseFile('broken.yaml', broken)]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^FAIL {2}bob may not delete an order \[dev\]: expected allow, got deny \(authz\.denied; no policy decided\)$/m);
  assert.match(r.stdout, / failed\n$/);
  assert.match(r.stdout, /: 13 passed, 1 failed\n$/);
});

test('a case that names policies checks they are among the deciding ones', async () => {
  const file = caseFile('policies.yaml', 'cases:\n  - { name: alice deletes, as: alice, request: DELETE /orders/o1, expect: allow, policies: [grant:support:orders:read] }\n');
  const r = await cortexTest([file]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stdout,
    'FAIL  alice deletes [dev]: expected grant:support:orders:read among the deciding policies (ok; decided by grant:admin:orders:*)\n1 case: 0 passed, 1 failed\n',
  );
});

test("the case file's config is read relative to it, and a case may name its stage", async () => {
  caseFile(
    'cfg.yaml',
    [
      'version: 1',
      'stage: dev',
      'upstreams: { orders: { url: "http://127.0.0.1:9903" } }',
      'routes:',
      '  orders-read: { match: { methods: [GET], path: "/orders/{id}" }, upstream: orders, intent: "orders:read" }',
      'identity: { providers: { dev: { issuer: "http://127.0.0.1:9902", audiences: [orders], roles: { claim: groups, map: { support: [support] } } } } }',
      'policy: { grants: { support: ["orders:read"] } }',
      'stages: { prod: { policy: { grants: { support: [] } } } }',
      '',
    ].join('\n'),
  );
  const file = caseFile(
    'staged.yaml',
    'config: cfg.yaml\ncases:\n  - { name: carol reads in dev, as: carol, request: GET /orders/1, expect: allow }\n  - { name: carol reads nothing in prod, as: carol, stage: prod, request: GET /orders/1, expect: deny, reason: authz.denied }\n',
  );
  const r = await cortexTest([file]);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'ok    carol reads in dev\nok    carol reads nothing in prod\n2 cases: 2 passed, 0 failed\n');
  assert.equal(r.code, 0);
});

test('case files that cannot be used, and a config that does not load, exit 2', async () => {
  assert.equal((await cortexTest([])).code, 2);
  assert.equal((await cortexTest([join(dir, 'missing.yaml')])).code, 2);
  const bad = await cortexTest([caseFile('bad.yaml', 'cases:\n  - { name: x, as: bob, claims: {}, request: GET, expect: maybe }\n')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /cases\.0\.request: METHOD PATH/);
  assert.match(bad.stderr, /cases\.0\.expect/);
  const noConfig = await cortexTest([caseFile('nocfg.yaml', 'config: nowhere.yaml\ncases:\n  - { name: x, as: bob, request: GET /, expect: deny }\n')]);
  assert.equal(noConfig.code, 2);
  assert.match(noConfig.stderr, /nowhere\.yaml is not valid/);
});

test('two cases with one name are refused', () => {
  const r = parseCaseFile('cases:\n  - { name: a, as: bob, request: GET /, expect: deny }\n  - { name: a, as: bob, request: GET /, expect: deny }\n');
  assert.deepEqual(r, { ok: false, problems: ['cases.1.name: another case is named "a"'] });
});
