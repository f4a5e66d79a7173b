// How an imported operation gets its intent: the config pins it, else the operation's own
// x-cortex-intent, else its one intent-shaped scope (scopesAreIntents), else the first matching
// rule. An operation none of these name has no intent: it is denied (authz.no_intent) and reported.
import { INTENT_RE, TAG_RE } from '../config/schema-policy.ts';
import type { ImportedApiConfig, IntentSource, OperationMethod } from './types.ts';

/** What the document says about one operation, as mapping needs it. */
export interface OperationFacts {
  readonly key: string;
  readonly method: OperationMethod;
  readonly path: string;
  readonly operationId?: string;
  readonly tags: readonly string[];
  /** Every OAuth scope its security requirements name (the root security when it has none). */
  readonly scopes: readonly string[];
  /** The raw x-cortex-intent value, undefined when absent. */
  readonly extension?: unknown;
}

export interface MappedIntent {
  readonly intent?: string;
  readonly tags: readonly string[];
  readonly source: IntentSource;
  readonly problem?: string;
}

const NONE: MappedIntent = { tags: [], source: 'none' };

export function mapIntent(cfg: ImportedApiConfig, op: OperationFacts): MappedIntent {
  const pinned = cfg.operations[op.key];
  if (pinned?.intent !== undefined) return { intent: pinned.intent, tags: pinned.tags ?? [], source: 'config' };
  const mapped = fromExtension(op) ?? fromScopes(cfg, op) ?? fromRules(cfg, op) ?? NONE;
  // Tags pinned in config without an intent still pin the tags of whatever intent the document gives.
  if (pinned?.tags !== undefined && mapped.intent !== undefined) return { ...mapped, tags: pinned.tags };
  return mapped;
}

function fromExtension(op: OperationFacts): MappedIntent | undefined {
  const ext = op.extension;
  if (ext === undefined) return undefined;
  const invalid = (why: string): MappedIntent => ({ tags: [], source: 'x-cortex-intent', problem: `${op.key}: invalid x-cortex-intent (${why})` });
  if (typeof ext === 'string') {
    return INTENT_RE.test(ext) ? { intent: ext, tags: [], source: 'x-cortex-intent' } : invalid(`"${ext}" is not an intent such as orders:read`);
  }
  if (typeof ext !== 'object' || ext === null || Array.isArray(ext)) return invalid('a string or { intent, tags }');
  const { intent, tags, ...rest } = ext as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return invalid(`unknown key ${Object.keys(rest).join(', ')}`);
  if (typeof intent !== 'string' || !INTENT_RE.test(intent)) return invalid(`intent "${String(intent)}" is not an intent such as orders:read`);
  if (tags !== undefined && (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' && TAG_RE.test(t)))) {
    return invalid('tags must be lowercase words such as destructive');
  }
  return { intent, tags: (tags as string[] | undefined) ?? [], source: 'x-cortex-intent' };
}

function fromScopes(cfg: ImportedApiConfig, op: OperationFacts): MappedIntent | undefined {
  if (!cfg.intents.scopesAreIntents) return undefined;
  const shaped = [...new Set(op.scopes.filter((s) => INTENT_RE.test(s)))];
  return shaped.length === 1 ? { intent: shaped[0], tags: [], source: 'scope' } : undefined;
}

function matches(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  try {
    return new RegExp(pattern).test(value);
  } catch {
    return false;
  }
}

function fromRules(cfg: ImportedApiConfig, op: OperationFacts): MappedIntent | undefined {
  for (const [i, rule] of cfg.intents.rules.entries()) {
    const w = rule.when;
    if (w.operationId !== undefined && !matches(w.operationId, op.operationId)) continue;
    if (w.tag !== undefined && !op.tags.includes(w.tag)) continue;
    if (w.methods !== undefined && !w.methods.includes(op.method)) continue;
    if (w.path !== undefined && !matches(w.path, op.path)) continue;
    const scope = w.scope === undefined ? op.scopes[0] : op.scopes.find((s) => matches(w.scope as string, s));
    if (w.scope !== undefined && scope === undefined) continue;
    const tag = w.tag ?? op.tags[0];
    let unfilled = false;
    const fill = (name: string, value: string | undefined): string => {
      if (value === undefined) unfilled = true;
      return value ?? '';
    };
    const intent = rule.intent.replace(/\{(tag|scope|method)\}/g, (_m, name: string) =>
      name === 'tag' ? fill(name, tag?.toLowerCase()) : name === 'scope' ? fill(name, scope) : op.method.toLowerCase(),
    );
    if (unfilled || !INTENT_RE.test(intent)) {
      return { tags: [], source: 'rule', problem: `${op.key}: intents.rules.${i} gives "${intent}", not an intent such as orders:read` };
    }
    return { intent, tags: rule.tags, source: 'rule' };
  }
  return undefined;
}
