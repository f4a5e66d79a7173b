// DESIGN.md §5: imports flow one way. These tests read every file under src/ and check the rules
// on the specifiers it imports (static `import`/`export ... from`, side-effect and dynamic `import()`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = join(ROOT, 'src');

/** Data-plane contracts that filters may import from gateway/ (documented exception). */
const FILTER_CONTRACTS = new Set(['gateway/types.ts', 'gateway/reason-codes.ts', 'gateway/headers.ts']);

const STATIC_FROM = /^[ \t]*(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"\n]+)['"]/gm;
const SIDE_EFFECT = /^[ \t]*import\s*['"]([^'"\n]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"\n]+)['"]\s*[,)]/g;

function specifiers(source: string): string[] {
  const out: string[] = [];
  for (const re of [STATIC_FROM, SIDE_EFFECT, DYNAMIC]) {
    for (const m of source.matchAll(re)) out.push(m[1] as string);
  }
  return out;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFiles(full));
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out.sort();
}

interface Edge {
  /** Importing file, relative to src/ with `/` separators. */
  from: string;
  /** Imported file, relative to src/. */
  to: string;
  /** The specifier as written. */
  spec: string;
}

/** src-relative path with `/` separators, or undefined when outside src/. */
function underSrc(abs: string): string | undefined {
  const rel = relative(SRC, abs);
  if (rel.startsWith('..') || rel === '') return undefined;
  return rel.split(sep).join('/');
}

function folder(rel: string): string {
  const slash = rel.indexOf('/');
  return slash === -1 ? '' : rel.slice(0, slash);
}

function loadGraph(): { files: string[]; edges: Edge[] } {
  const files: string[] = [];
  const edges: Edge[] = [];
  for (const abs of tsFiles(SRC)) {
    const from = underSrc(abs) as string;
    files.push(from);
    for (const spec of specifiers(readFileSync(abs, 'utf8'))) {
      if (!spec.startsWith('.')) continue; // packages and node: builtins
      const to = underSrc(resolve(dirname(abs), spec));
      if (to !== undefined) edges.push({ from, to, spec });
    }
  }
  return { files, edges };
}

const graph = loadGraph();

function show(edges: readonly Edge[]): string[] {
  return edges.map((e) => `src/${e.from} imports '${e.spec}' (src/${e.to})`);
}

function violations(rule: (from: string, to: string, edge: Edge) => boolean): string[] {
  return show(graph.edges.filter((e) => rule(folder(e.from), folder(e.to), e)));
}

void test('the import parser finds static, type-only, multi-line, re-export, side-effect and dynamic imports', () => {
  const source = [
    "import { a } from './a.ts';",
    "import type { B } from '../b.ts';",
    'import {',
    '  c,',
    '  type D,',
    "} from './c.ts';",
    "import * as e from \"./e.ts\";",
    "export { f } from './f.ts';",
    "export * from './g.ts';",
    "import './side-effect.ts';",
    "const h = await import('./h.ts');",
    "const pkg = await import('../package.json', { with: { type: 'json' } });",
    "import { readFileSync } from 'node:fs';",
    "const s = Array.from('abc');",
    "export const x = 'from ./nowhere.ts';",
  ].join('\n');
  assert.deepEqual(specifiers(source).sort(), [
    '../b.ts',
    '../package.json',
    './a.ts',
    './c.ts',
    './e.ts',
    './f.ts',
    './g.ts',
    './h.ts',
    './side-effect.ts',
    'node:fs',
  ]);
});

void test('the graph covers src/', () => {
  assert.ok(graph.files.length > 10, `found only ${graph.files.length} files under src/`);
  assert.ok(graph.edges.length > 10, `found only ${graph.edges.length} imports between src/ files`);
  const missing = graph.edges.filter((e) => !graph.files.includes(e.to));
  assert.deepEqual(show(missing), [], 'imports that resolve to no .ts file under src/ (a typo, or a wrong extension)');
});

void test('nothing outside src/cli imports src/cli', () => {
  assert.deepEqual(violations((from, to) => to === 'cli' && from !== 'cli'), []);
});

void test('the data plane (gateway, filters) never imports admin, dev or cli', () => {
  const dataPlane = new Set(['gateway', 'filters']);
  const forbidden = new Set(['admin', 'dev', 'cli']);
  assert.deepEqual(violations((from, to) => dataPlane.has(from) && forbidden.has(to)), []);
});

void test('filters import from gateway only its data-plane contracts (types, reason-codes, headers)', () => {
  assert.deepEqual(violations((from, to, e) => from === 'filters' && to === 'gateway' && !FILTER_CONTRACTS.has(e.to)), []);
});

void test('config imports nothing from other src/ folders', () => {
  assert.deepEqual(violations((from, to) => from === 'config' && to !== 'config'), []);
});

void test('identity imports from gateway only its types, and never filters, admin, dev or cli', () => {
  const forbidden = new Set(['filters', 'admin', 'dev', 'cli']);
  assert.ok(graph.edges.some((e) => folder(e.from) === 'identity' && e.to === 'gateway/types.ts'), 'the rule sees identity/ imports');
  assert.deepEqual(violations((from, to, e) => from === 'identity' && ((to === 'gateway' && e.to !== 'gateway/types.ts') || forbidden.has(to))), []);
});

void test('policy never imports stores or filters', () => {
  assert.deepEqual(violations((from, to) => from === 'policy' && (to === 'stores' || to === 'filters')), []);
});

void test('audit and telemetry never import gateway or filters', () => {
  assert.deepEqual(violations((from, to) => (from === 'audit' || from === 'telemetry') && (to === 'gateway' || to === 'filters')), []);
});

/** Every cycle found by a depth-first search, each as the chain of imports that closes it. */
function findCycles(files: readonly string[], edges: readonly Edge[]): string[] {
  const out = new Map<string, Edge[]>();
  for (const e of edges) {
    const list = out.get(e.from);
    if (list) list.push(e);
    else out.set(e.from, [e]);
  }
  const state = new Map<string, 'open' | 'done'>();
  const stack: Edge[] = [];
  const cycles: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    for (const e of out.get(file) ?? []) {
      const s = state.get(e.to);
      if (s === 'open') {
        const start = stack.findIndex((x) => x.from === e.to);
        const loop = [...stack.slice(start === -1 ? stack.length : start), e];
        cycles.push(loop.map((x) => `src/${x.from} -> '${x.spec}'`).join(' -> ') + ` -> src/${e.to}`);
      } else if (s === undefined) {
        stack.push(e);
        visit(e.to);
        stack.pop();
      }
    }
    state.set(file, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return cycles;
}

void test('the cycle finder reports a cycle with its path', () => {
  const e = (from: string, to: string): Edge => ({ from, to, spec: `./${to}` });
  assert.deepEqual(findCycles(['a', 'b', 'c', 'd'], [e('a', 'b'), e('b', 'c'), e('c', 'a'), e('c', 'd')]), [
    "src/a -> './b' -> src/b -> './c' -> src/c -> './a' -> src/a",
  ]);
  assert.deepEqual(findCycles(['a', 'b', 'c'], [e('a', 'b'), e('a', 'c'), e('b', 'c')]), []);
});

void test('there is no import cycle between files under src/ (type-only imports included)', () => {
  assert.deepEqual(findCycles(graph.files, graph.edges), []);
});
