// ${VAR} substitution. It runs on string values of the parsed YAML tree, never on the raw text,
// so a variable's value is always data: a value containing "\n  admin:" stays one string.
//
// Rules:
// - `${VAR}` is the variable's value; unset is an error at that path (empty is a value).
// - `${VAR:-default}` uses `default` when VAR is unset or empty, as in POSIX shells. The default
//   is literal text: it cannot contain `}` or another substitution.
// - `$${X}` is the literal text `${X}`.
// - Typing: a value that is exactly one `${...}` (nothing around it, quoted or not) becomes a
//   number when the schema expects a number there and the text is an integer (`port: ${PORT}`),
//   and a boolean when the schema expects a boolean and the text is true or false. Everywhere
//   else it stays a string, so a digits-only token stays a string.
import type { PathSegment, RawProblem } from './problems.ts';

/** A string scalar that contains `${`, kept unresolved until the stage's merged tree is known. */
export class EnvTemplate {
  readonly raw: string;
  readonly line: number | undefined;

  constructor(raw: string, line: number | undefined) {
    this.raw = raw;
    this.line = line;
  }
}

export function needsSubstitution(text: string): boolean {
  return text.includes('${');
}

// Alternatives, in order: the escape, a well-formed reference, and any other `${` (malformed).
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{/g;
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

export type Substitution = { ok: true; text: string; whole: boolean } | { ok: false; messages: string[] };

export function substitute(template: EnvTemplate, env: NodeJS.ProcessEnv): Substitution {
  const messages: string[] = [];
  let whole = false;
  const text = template.raw.replace(REFERENCE, (match: string, name?: string, fallback?: string, offset?: number) => {
    if (match === '$${') return '${';
    if (name === undefined) {
      messages.push('malformed ${...}: expected ${NAME} or ${NAME:-default} (write $${ for a literal ${)');
      return match;
    }
    whole = offset === 0 && match.length === template.raw.length;
    const value = env[name];
    if (fallback !== undefined && (value === undefined || value === '')) return fallback;
    if (value === undefined) {
      messages.push(`environment variable ${name} is not set (use \${${name}:-default} to give a default)`);
      return match;
    }
    return value;
  });
  return messages.length > 0 ? { ok: false, messages } : { ok: true, text, whole };
}

/** `expected` holds JSON Schema type names ("integer", "boolean", "string", ...) for the value's path. */
export function typedValue(text: string, whole: boolean, expected: ReadonlySet<string>): string | number | boolean {
  if (!whole || expected.has('string')) return text;
  if ((expected.has('integer') || expected.has('number')) && INTEGER.test(text) && Number.isSafeInteger(Number(text))) {
    return Number(text);
  }
  if (expected.has('boolean') && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

/**
 * Replaces every EnvTemplate in a tree of plain objects and arrays with its substituted value.
 * Failed substitutions are reported and their paths returned, so that the schema's complaint
 * about the same value ("expected number") can be left out as noise.
 */
export function resolveTemplates(
  tree: unknown,
  env: NodeJS.ProcessEnv,
  expectedAt: (at: readonly PathSegment[]) => ReadonlySet<string>,
  problems: RawProblem[],
): { value: unknown; failed: PathSegment[][] } {
  const failed: PathSegment[][] = [];
  const visit = (node: unknown, at: PathSegment[]): unknown => {
    if (node instanceof EnvTemplate) {
      const result = substitute(node, env);
      if (result.ok) return typedValue(result.text, result.whole, expectedAt(at));
      for (const message of result.messages) problems.push({ at, message, line: node.line });
      failed.push(at);
      return node.raw;
    }
    if (Array.isArray(node)) return node.map((item: unknown, index) => visit(item, [...at, index]));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node)) out[key] = visit(value, [...at, key]);
      return out;
    }
    return node;
  };
  return { value: visit(tree, []), failed };
}
