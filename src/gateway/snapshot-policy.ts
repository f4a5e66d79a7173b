// The snapshot's policy: the config's grants and Cedar files compiled into a PolicyEngine, and the
// authz filter for each route. Reading the policy files is the only I/O a snapshot build does.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config, RouteConfig, Stage } from '../config/schema.ts';
import { createAuthzFilter } from '../filters/authz/authz-filter.ts';
import type { AuthzObserver } from '../filters/authz/authz-filter.ts';
import { createAttributeSource, pickType } from '../policy/attribute-source.ts';
import { withDecisionCache } from '../policy/decision-cache.ts';
import type { CachedPolicyEngine } from '../policy/decision-cache.ts';
import { compilePolicies } from '../policy/engine.ts';
import type { PolicyEngine } from '../policy/engine.ts';
import type { HttpFilter } from './types.ts';

/** The Route attributes the routes' attribute sources give; one name, one type across routes. */
function resourceAttributeTypes(config: Config, problems: string[]): Map<string, 'string' | 'set'> {
  const types = new Map<string, 'string' | 'set'>();
  for (const [id, rc] of Object.entries(config.routes)) {
    for (const [name, spec] of Object.entries(rc.resource?.attributes.pick ?? {})) {
      const type = pickType(spec);
      const known = types.get(name);
      if (known !== undefined && known !== type) problems.push(`routes.${id}.resource.attributes.pick.${name}: another route gives ${name} as a ${known}; one attribute, one type`);
      else types.set(name, type);
    }
  }
  return types;
}

/** Compiles config.policy; undefined engine when there is no policy section (authentication only). */
export function compileSnapshotPolicy(config: Config, problems: string[]): CachedPolicyEngine | undefined {
  const policy = config.policy;
  if (policy === undefined) return undefined;
  const intents = new Map<string, readonly string[]>();
  for (const [id, rc] of Object.entries(config.routes)) {
    if (rc.intent === undefined) continue;
    const known = intents.get(rc.intent);
    if (known !== undefined && known.join(',') !== [...rc.tags].sort().join(',')) {
      problems.push(`routes.${id}.tags: the intent ${rc.intent} has other tags on another route (${known.join(', ') || 'none'}); one intent, one set of tags`);
      continue;
    }
    intents.set(rc.intent, [...rc.tags].sort());
  }
  const files: { path: string; text: string }[] = [];
  policy.files.forEach((file, i) => {
    try {
      files.push({ path: file, text: readFileSync(resolve(file), 'utf8') });
    } catch (err) {
      problems.push(`policy.files.${i}: "${file}" cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  });
  const input = { grants: policy.grants, intents, agentForbidTags: policy.agents.forbidTags, files };
  const compiled = compilePolicies({ ...input, resourceAttributes: resourceAttributeTypes(config, problems) });
  if (!compiled.ok) {
    problems.push(...compiled.problems.map((p) => `policy: ${p}`));
    return undefined;
  }
  // Decisions are cached keyed on exactly the inputs the policies read (policy/policy-inputs.ts).
  return withDecisionCache(compiled.engine, { policies: input });
}

/** The route's authz filter: none without a policy, and none for a public route that names no intent. */
/** Headers for a route's attribute lookups (the gateway's own assertion for the route's upstream). */
export type LookupHeaders = (rc: RouteConfig) => (() => Promise<Record<string, string>>) | undefined;

export function authzFilterFor(
  engine: PolicyEngine | undefined,
  config: Config,
  stage: Stage,
  rc: RouteConfig,
  observe?: AuthzObserver,
  lookupHeaders?: LookupHeaders,
): HttpFilter | undefined {
  if (engine === undefined || config.policy === undefined) return undefined;
  const publicRoute = rc.auth === 'none' || (Array.isArray(rc.auth) && rc.auth.length === 0);
  if (publicRoute && rc.intent === undefined) return undefined;
  const source = rc.resource?.attributes;
  const headers = source === undefined ? undefined : lookupHeaders?.(rc);
  const attributes = source === undefined ? undefined : createAttributeSource(source, headers ? { headers } : {});
  return createAuthzFilter(engine, { intent: rc.intent, tags: rc.tags, mode: rc.policyMode ?? config.policy.mode, stage, ...(attributes ? { attributes } : {}) }, observe);
}
