// YAML text -> a tree of plain objects, arrays and scalars, with the source line of every node.
// Walking the document ourselves (rather than doc.toJS()) lets us record lines by path, report
// duplicate keys at their path, refuse keys that would touch Object.prototype, and keep string
// values that need ${VAR} substitution as EnvTemplates until the stage is known.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { EnvTemplate, needsSubstitution } from './env.ts';
import { LineIndex } from './problems.ts';
import type { PathSegment, RawProblem } from './problems.ts';

export interface ParsedYaml {
  tree: Record<string, unknown> | undefined;
  lines: LineIndex;
  errors: RawProblem[];
  warnings: RawProblem[];
}

// Aliases can make a small file expand enormously ("billion laughs"); a config never needs this many.
const MAX_NODES = 100_000;

interface WalkContext {
  doc: Document;
  lineCounter: LineCounter;
  lines: LineIndex;
  errors: RawProblem[];
  ancestors: Set<unknown>;
  nodes: number;
}

export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const lines = new LineIndex();
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const warnings = doc.warnings.map((w) => ({ at: [], message: w.message, line: lineAt(w.pos[0]) }));
  const sourceLines = text.split('\n');
  const errors = firstErrorPerLine(
    doc.errors.map((e) => {
      const line = lineAt(e.pos[0]);
      return { at: [], message: e.message + flowHint(sourceLines[line - 1]), line };
    }),
  );
  if (errors.length > 0) return { tree: undefined, lines, errors, warnings };
  if (doc.contents === null) {
    return { tree: undefined, lines, errors: [{ at: [], message: 'the file is empty' }], warnings };
  }
  if (!isMap(doc.contents)) {
    const line = lineOf(doc.contents, lineCounter);
    return { tree: undefined, lines, errors: [{ at: [], message: 'the top level must be a mapping of keys to values', line }], warnings };
  }
  const context: WalkContext = { doc, lineCounter, lines, errors, ancestors: new Set(), nodes: 0 };
  try {
    const tree = walk(doc.contents, [], context) as Record<string, unknown>;
    return { tree: errors.length > 0 ? undefined : tree, lines, errors, warnings };
  } catch (error) {
    if (!(error instanceof TooLarge)) throw error;
    return { tree: undefined, lines, errors: [{ at: [], message: error.message }], warnings };
  }
}

class TooLarge extends Error {}

// One syntax mistake (an unquoted ${X} inside a flow map, say) makes the parser report every
// token after it; the first error of each line is the part worth reading.
const MAX_SYNTAX_ERRORS = 10;

function firstErrorPerLine(errors: RawProblem[]): RawProblem[] {
  const seen = new Set<number | undefined>();
  return errors.filter((error) => !seen.has(error.line) && seen.add(error.line)).slice(0, MAX_SYNTAX_ERRORS);
}

/** `port: ${PORT}` is fine, but inside `{ }` or `[ ]` the braces of an unquoted `${PORT}` are YAML syntax. */
function flowHint(sourceLine: string | undefined): string {
  return sourceLine !== undefined && /[{[][^"']*\$\{/.test(sourceLine) ? ' (inside { } or [ ], quote values that contain ${...})' : '';
}

function lineOf(node: unknown, lineCounter: LineCounter): number | undefined {
  const range = (node as { range?: readonly number[] } | null)?.range;
  return range?.[0] === undefined ? undefined : lineCounter.linePos(range[0]).line;
}

function walk(node: unknown, at: PathSegment[], context: WalkContext): unknown {
  if (++context.nodes > MAX_NODES) throw new TooLarge(`the file expands to more than ${MAX_NODES} values (aliases?)`);
  if (isAlias(node)) {
    const target = node.resolve(context.doc);
    if (target === undefined) {
      context.errors.push({ at, message: `unknown alias *${node.source}`, line: lineOf(node, context.lineCounter) });
      return null;
    }
    if (context.ancestors.has(target)) {
      context.errors.push({ at, message: `alias *${node.source} refers to a node that contains it`, line: lineOf(node, context.lineCounter) });
      return null;
    }
    return walk(target, at, context);
  }
  if (isScalar(node)) {
    const value = node.value;
    if (typeof value === 'string' && needsSubstitution(value)) {
      return new EnvTemplate(value, lineOf(node, context.lineCounter));
    }
    return value;
  }
  if (node === null || node === undefined) return null;
  context.ancestors.add(node);
  try {
    if (isSeq(node)) return walkSeq(node.items, at, context);
    if (isMap(node)) return walkMap(node.items, at, context);
  } finally {
    context.ancestors.delete(node);
  }
  context.errors.push({ at, message: 'unsupported YAML node', line: lineOf(node, context.lineCounter) });
  return null;
}

function walkSeq(items: readonly unknown[], at: PathSegment[], context: WalkContext): unknown[] {
  return items.map((item, index) => {
    const itemAt = [...at, index];
    context.lines.set(itemAt, lineOf(item, context.lineCounter));
    return walk(item, itemAt, context);
  });
}

function walkMap(pairs: readonly { key: unknown; value: unknown }[], at: PathSegment[], context: WalkContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const line = lineOf(pair.key, context.lineCounter) ?? lineOf(pair.value, context.lineCounter);
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean') {
      context.errors.push({ at, message: 'keys must be plain strings', line });
      continue;
    }
    const name = String(key);
    const keyAt = [...at, name];
    if (name === '__proto__') {
      context.errors.push({ at: keyAt, message: 'the key __proto__ is not allowed', line });
      continue;
    }
    if (Object.hasOwn(out, name)) {
      const first = context.lines.get(keyAt);
      context.errors.push({ at: keyAt, message: `duplicate key${first === undefined ? '' : ` (first at line ${first})`}`, line });
      continue;
    }
    context.lines.set(keyAt, line);
    out[name] = walk(pair.value, keyAt, context);
  }
  return out;
}
