// Which intents a delegated token carries: those asked for (all, when no scope is given) that the
// agent's own roles and the person's roles are both granted in this stage, never one tagged with
// any of policy.agents.forbidTags.
import type { Config } from '../../config/schema.ts';
import { buildCatalog, patternCovers } from '../../policy/schema.ts';

export interface IntentCatalog {
  /** Every intent this stage knows (routes' and grants' exact ones) → its tags. */
  readonly intents: ReadonlyMap<string, readonly string[]>;
  readonly grants: Readonly<Record<string, readonly string[]>>;
  readonly forbidTags: ReadonlySet<string>;
}

/** The stage's intents and grants; undefined without a policy section (then nothing can be delegated). */
export function intentCatalog(config: Config): IntentCatalog | undefined {
  const policy = config.policy;
  if (policy === undefined) return undefined;
  const routeIntents = new Map<string, readonly string[]>();
  for (const rc of Object.values(config.routes)) {
    if (rc.intent !== undefined) routeIntents.set(rc.intent, [...rc.tags]);
  }
  const { catalog } = buildCatalog({ grants: policy.grants, intents: routeIntents, agentForbidTags: policy.agents.forbidTags, files: [] });
  return { intents: catalog.intents, grants: policy.grants, forbidTags: new Set(policy.agents.forbidTags) };
}

/** The intents these roles are granted. */
export function grantedIntents(catalog: IntentCatalog, roles: readonly string[]): Set<string> {
  const patterns: string[] = [];
  for (const r of roles) if (Object.hasOwn(catalog.grants, r)) patterns.push(...(catalog.grants[r] ?? []));
  const out = new Set<string>();
  for (const intent of catalog.intents.keys()) {
    if (patterns.some((p) => patternCovers(p, intent))) out.add(intent);
  }
  return out;
}

/** requested ∩ agent's ∩ person's, minus forbidden tags, sorted. */
export function delegatedIntents(catalog: IntentCatalog, requested: readonly string[] | undefined, agentRoles: readonly string[], personRoles: readonly string[]): string[] {
  const agent = grantedIntents(catalog, agentRoles);
  const person = grantedIntents(catalog, personRoles);
  const wanted = requested ?? [...catalog.intents.keys()];
  return wanted
    .filter((i) => agent.has(i) && person.has(i))
    .filter((i) => !(catalog.intents.get(i) ?? []).some((t) => catalog.forbidTags.has(t)))
    .sort();
}
