// docs/errors.md and REASONS must agree (DESIGN.md §7.2): a code nobody can look up, or a documented
// code that no longer exists, is a broken promise to whoever matches on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REASONS } from '../../../src/gateway/reason-codes.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const DOC_PATH = join(ROOT, 'docs/errors.md');
const SRC = join(ROOT, 'src');

interface DocSection {
  code: string;
  statuses: number[];
}

function parseDoc(text: string): DocSection[] {
  const sections: DocSection[] = [];
  let current: DocSection | undefined;
  for (const line of text.split('\n')) {
    const heading = /^### `([^`]+)`\s*$/.exec(line);
    if (heading?.[1] !== undefined) {
      current = { code: heading[1], statuses: [] };
      sections.push(current);
      continue;
    }
    if (/^#{1,3} /.test(line)) {
      current = undefined;
      continue;
    }
    const status = /^HTTP status: \*\*(\d{3})\*\*/.exec(line);
    if (status?.[1] !== undefined && current !== undefined) current.statuses.push(Number(status[1]));
  }
  return sections;
}

const doc = parseDoc(readFileSync(DOC_PATH, 'utf8'));
const known = new Map<string, number>(Object.entries(REASONS).map(([code, r]) => [code, r.status]));

void test('every reason code has a section in docs/errors.md', () => {
  const documented = new Set(doc.map((s) => s.code));
  const missing = [...known.keys()].filter((code) => !documented.has(code));
  assert.deepEqual(missing, [], `add a "### \`code\`" section to docs/errors.md for: ${missing.join(', ')}`);
});

void test('docs/errors.md documents no code that is not in REASONS', () => {
  const dead = doc.map((s) => s.code).filter((code) => !known.has(code));
  assert.deepEqual(dead, [], `remove or rename these sections in docs/errors.md: ${dead.join(', ')}`);
});

void test('docs/errors.md documents each code once', () => {
  const seen = new Set<string>();
  const twice = doc.map((s) => s.code).filter((code) => seen.has(code) || !seen.add(code));
  assert.deepEqual(twice, []);
});

void test('each section states the status REASONS gives the code, exactly once', () => {
  const wrong: string[] = [];
  for (const section of doc) {
    const expected = known.get(section.code);
    if (expected === undefined) continue;
    if (section.statuses.length !== 1 || section.statuses[0] !== expected) {
      wrong.push(`${section.code}: doc says [${section.statuses.join(', ')}], REASONS says ${expected}`);
    }
  }
  assert.deepEqual(wrong, []);
});

void test('the doc parser sees headings and statuses', () => {
  const parsed = parseDoc('# T\n\n### `a.b_c`\n\nHTTP status: **418**\n\n## Group\n\nHTTP status: **500**\n');
  assert.deepEqual(parsed, [{ code: 'a.b_c', statuses: [418] }]);
});

// `code: 'x.y_z'` (and unions of such literals) in source: reason codes used where the type system
// may not look, such as objects typed `string` or JSON built by hand.
const CODE_PROPERTY = /\bcode\??\s*:\s*((?:'[^'\n]*'|"[^"\n]*"|\s*\|\s*)+)/g;
const LITERAL = /'([^'\n]*)'|"([^"\n]*)"/g;
const CODE_SHAPE = /^[a-z][a-z0-9]*\.[a-z][a-z0-9_]*$/;

function codeLiterals(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(CODE_PROPERTY)) {
    for (const lit of (m[1] ?? '').matchAll(LITERAL)) {
      const value = lit[1] ?? lit[2] ?? '';
      if (CODE_SHAPE.test(value)) out.push(value);
    }
  }
  return out;
}

void test('the source scanner finds code literals, including unions', () => {
  const src = `return { code: 'route.not_found', detail };\ntype E = { code: 'a.b' | "c.d_e"; x: 1 };\nconst n = { code: 'ENOENT' };`;
  assert.deepEqual(codeLiterals(src), ['route.not_found', 'a.b', 'c.d_e']);
});

void test('every code literal in src/ is a known reason code', () => {
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 0);
  const unknown: string[] = [];
  for (const file of files) {
    for (const code of codeLiterals(readFileSync(join(SRC, file), 'utf8'))) {
      if (!known.has(code)) unknown.push(`src/${file}: ${code}`);
    }
  }
  assert.deepEqual(unknown, [], 'add these to REASONS (and docs/errors.md) or fix the typo');
});
