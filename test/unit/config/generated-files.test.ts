import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REFERENCE_FILE, renderSchemaFiles, SCHEMA_FILE } from '../../../src/config/reference.ts';

const root = join(import.meta.dirname, '..', '..', '..');

function committed(file: string): string {
  try {
    return readFileSync(join(root, file), 'utf8');
  } catch {
    return '';
  }
}

test('the generated schema and reference are up to date with src/config/schema.ts', () => {
  const { json, markdown } = renderSchemaFiles();
  for (const [file, expected] of [
    [SCHEMA_FILE, json],
    [REFERENCE_FILE, markdown],
  ] as const) {
    assert.ok(committed(file) === expected, `${file} is out of date with src/config/schema.ts: run \`npm run schema\``);
  }
});

test('generating twice gives identical output', () => {
  assert.deepEqual(renderSchemaFiles(), renderSchemaFiles());
});

test('the JSON Schema names itself and describes the file, stages included', () => {
  const schema = JSON.parse(renderSchemaFiles().json) as { $id?: string; title?: string; properties: Record<string, unknown> };
  assert.ok(schema.$id);
  assert.equal(schema.title, 'Cortex configuration');
  assert.ok('stages' in schema.properties && 'routes' in schema.properties);
});

test('the reference has a section per top-level key and per map entry', () => {
  const { markdown } = renderSchemaFiles();
  for (const heading of ['## `gateway`', '### `gateway.listen`', '## `routes`', '### `routes.<id>`', '### `routes.<id>.match`', '### `upstreams.<name>`']) {
    assert.ok(markdown.includes(`\n${heading}\n`), heading);
  }
});
