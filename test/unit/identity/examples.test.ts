// Every example config passes what `cortex check` runs (loadConfig) for every stage, with each
// environment variable it references set, so a newcomer's copy starts from a valid file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.ts';
import { STAGES } from '../../../src/config/schema.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DIRS = ['examples', join('examples', 'identity')];
const files = DIRS.flatMap((dir) =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(dir, f)),
);

/** Values shaped like what each variable really holds (an URL where the file expects one). */
function envFor(text: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [, name] of text.matchAll(/\$\{([A-Z0-9_]+)(?::-[^}]*)?\}/g)) {
    if (name === undefined) continue;
    env[name] = /(_URL|_ISSUER)$/.test(name) ? 'https://svc.example.com' : /TOKEN/.test(name) ? 'example-token-0123456789abcdef' : 'example-value-1';
  }
  return env;
}

test('the identity examples exist: one per vendor, Entra single and multi-tenant', () => {
  const names = readdirSync(join(ROOT, 'examples', 'identity')).sort();
  for (const vendor of ['auth0', 'cognito', 'entra', 'entra-multitenant', 'generic', 'google', 'keycloak', 'okta']) {
    assert.ok(names.includes(`${vendor}.yaml`), `examples/identity/${vendor}.yaml`);
  }
});

for (const file of files) {
  test(`${file} loads for every stage, as cortex check does`, () => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const env = envFor(text);
    for (const stage of STAGES) {
      const result = loadConfig({ file: join(ROOT, file), text, stage, env });
      assert.ok(result.ok, `${file} (${stage}): ${result.ok ? '' : JSON.stringify(result.errors, null, 1)}`);
    }
  });
}

test('each identity example names its preset and the docs show the same text', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'identity-providers.md'), 'utf8');
  for (const f of readdirSync(join(ROOT, 'examples', 'identity'))) {
    const text = readFileSync(join(ROOT, 'examples', 'identity', f), 'utf8');
    if (f !== 'generic.yaml') assert.match(text, new RegExp(`preset: ${f.replace(/(-multitenant)?\.yaml$/, '')}\\b`), f);
    assert.ok(doc.includes(text.trimEnd()), `docs/identity-providers.md contains examples/identity/${f} verbatim`);
  }
});
