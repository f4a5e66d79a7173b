// A decision cache in front of the policy engine, keyed on exactly the request inputs the policies
// can read for the request's intent (policy-inputs.ts), so a cached answer is the one Cedar would
// give. An intent whose policies read the time, or a shape the analysis does not know, is never
// cached; nor is a decision that errored. Entries are dropped oldest first past maxEntries.
import type { Identity } from '../gateway/types.ts';
import { hasMfa } from './engine.ts';
import type { DecisionRequest, PolicyDecision, PolicyEngine } from './engine.ts';
import type { PolicyInput } from './input.ts';
import { analyzePolicy, mergeReads, noReads } from './policy-inputs.ts';
import type { PolicyReads, Reads } from './policy-inputs.ts';
import { generatePolicies, parseFiles } from './policies.ts';
import { actionGroupsOf } from './policy-split.ts';
import { buildCatalog } from './schema.ts';
import type { ActionCatalog } from './schema.ts';

export interface DecisionCacheOptions {
  /** The same input the engine was compiled from: the policies are regenerated from it and analysed. */
  policies: PolicyInput;
  maxEntries?: number;
}

export interface DecisionCacheStats {
  hits: number;
  /** Decisions that went to the engine (cache misses and uncacheable requests). */
  misses: number;
  size: number;
}

export type CachedPolicyEngine = PolicyEngine & { stats(): DecisionCacheStats };

type KeyFn = (req: DecisionRequest) => string;

const sortedUnique = (xs: readonly string[]): string[] => [...new Set(xs)].sort();

// toCedar gives the anonymous principal no attributes, and the acted-for person always has them.
function attrsOf(who: Identity, names: readonly string[], always = false): (string | null)[] {
  if (who.kind === 'anonymous' && !always) return names.map(() => null);
  return names.map((n) => (n === 'subject' ? who.subject : n === 'issuer' ? who.issuer : n === 'provider' ? who.provider : null));
}

/** The key function for an intent's reads, or undefined when no key can be correct (the time, or unknown shapes). */
export function keyFor(r: Reads): KeyFn | undefined {
  if (r.all || r.context.has('time')) return undefined;
  const attrs = [...r.principalAttrs].sort();
  const params = [...r.params].sort();
  const resAttrs = [...r.resourceAttrs].sort();
  const ctx = r.context;
  // The identity's part of the key, computed once per Identity object: a verified token's identity
  // comes back from the token cache as the same frozen object, so repeat callers pay nothing here.
  const whoParts = new WeakMap<Identity, string>();
  const whoPart = (who: Identity): string => {
    let part = whoParts.get(who);
    if (part !== undefined) return part;
    const person = who.kind === 'anonymous' ? undefined : who.onBehalfOf;
    const parts: unknown[] = [who.kind];
    if (r.principalId) parts.push(who.fingerprint);
    if (r.principalRoles) parts.push(who.kind === 'anonymous' ? [] : sortedUnique(who.roles));
    if (attrs.length > 0) parts.push(attrsOf(who, attrs));
    if (ctx.has('method')) parts.push(who.method);
    if (ctx.has('mfa')) parts.push(hasMfa(who.claims));
    if (ctx.has('actingFor') || r.actingForEntity) parts.push(person !== undefined);
    if (ctx.has('actingForRoles')) parts.push(person ? sortedUnique(person.roles) : []);
    if (r.actingForEntity && person) parts.push(person.fingerprint, sortedUnique(person.roles), attrsOf(person, ['subject', 'issuer', 'provider'], true));
    part = JSON.stringify(parts);
    whoParts.set(who, part);
    return part;
  };
  return (req) => {
    const parts: unknown[] = [req.intent, whoPart(req.identity)];
    if (r.routeId) parts.push(req.routeId);
    if (r.resourceTags) parts.push(sortedUnique(req.tags));
    if (r.allParams) parts.push(Object.entries(req.params).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    else if (params.length > 0) parts.push(params.map((p) => req.params[p] ?? null));
    if (resAttrs.length > 0) parts.push(resAttrs.map((a) => req.resourceAttributes?.[a] ?? null));
    if (ctx.has('stage')) parts.push(req.stage);
    if (ctx.has('clientIp')) parts.push(req.clientIp);
    return JSON.stringify(parts);
  };
}

/** What the policies read for one intent: only the policies whose action scope can match it. */
export function readsForIntent(analysed: readonly PolicyReads[], catalog: ActionCatalog, intent: string): Reads {
  const groups = actionGroupsOf(catalog, intent);
  const r = noReads();
  for (const p of analysed) if (p.appliesTo(intent, groups)) mergeReads(r, p.reads);
  return r;
}

export function analysePolicies(input: PolicyInput): { analysed: PolicyReads[]; catalog: ActionCatalog } {
  const { catalog } = buildCatalog(input);
  const texts = [...generatePolicies(input, catalog), ...parseFiles(input.files).policies].map((p) => p.text);
  return { analysed: texts.map(analyzePolicy), catalog };
}

export function withDecisionCache(engine: PolicyEngine, opts: DecisionCacheOptions): CachedPolicyEngine {
  const maxEntries = Math.max(1, opts.maxEntries ?? 10_000);
  const { analysed, catalog } = analysePolicies(opts.policies);
  const keys = new Map<string, KeyFn | undefined>();
  const cache = new Map<string, PolicyDecision>();
  let hits = 0;
  let misses = 0;

  const keyFnFor = (intent: string): KeyFn | undefined => {
    if (keys.has(intent) || !catalog.intents.has(intent)) return keys.get(intent);
    const fn = keyFor(readsForIntent(analysed, catalog, intent));
    keys.set(intent, fn);
    return fn;
  };
  const copy = (d: PolicyDecision): PolicyDecision => ({ ...d, policyIds: [...d.policyIds], errors: [...d.errors] });

  return {
    get generatedPolicies() {
      return engine.generatedPolicies;
    },
    get schema() {
      return engine.schema;
    },
    decide(req: DecisionRequest): PolicyDecision {
      const keyFn = keyFnFor(req.intent);
      const key = keyFn?.(req);
      if (key !== undefined) {
        const hit = cache.get(key);
        if (hit !== undefined) {
          hits++;
          return copy(hit);
        }
      }
      misses++;
      const d = engine.decide(req);
      if (key !== undefined && d.reason !== 'authz.policy_error' && d.errors.length === 0) {
        if (cache.size >= maxEntries) {
          const oldest = cache.keys().next();
          if (!oldest.done) cache.delete(oldest.value);
        }
        cache.set(key, copy(d));
      }
      return d;
    },
    dispose(): void {
      cache.clear();
      engine.dispose();
    },
    stats: () => ({ hits, misses, size: cache.size }),
  };
}
