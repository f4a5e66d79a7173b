// Writes the files generated from src/config/schema.ts. test/unit/config/generated-files.test.ts
// fails when they are out of date.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REFERENCE_FILE, renderSchemaFiles, SCHEMA_FILE } from '../src/config/reference.ts';

const root = join(import.meta.dirname, '..');
const { json, markdown } = renderSchemaFiles();
for (const [file, text] of [
  [SCHEMA_FILE, json],
  [REFERENCE_FILE, markdown],
] as const) {
  const path = join(root, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`wrote ${file}`);
}
