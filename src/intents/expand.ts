// Imported operations → routes. Each served operation becomes one route with its intent (or none:
// the authz filter denies it, authz.no_intent); each API gets one catch-all over its prefix that
// denies whatever the document does not declare. The documents given are the operations as served
// (the lock already applied by the runtime). Config routes win over an imported operation.
import { route as routeSchema } from '../config/schema-route.ts';
import type { Config, RouteConfig } from '../config/schema.ts';
import type { ApiDocuments, Expansion, ExpandFn, ImportedApiConfig, ImportedOperation, UndeclaredRoute } from './types.ts';

const PARAM = /\{[A-Za-z_][A-Za-z0-9_]*\}/g;

export function joinPrefix(prefix: string, path: string): string {
  const joined = prefix.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
  return joined === '' ? '/' : joined;
}

/** A route id part: operationId, or the method and path as a slug (get-orders-id). */
function idPart(op: ImportedOperation): string {
  const raw = op.operationId ?? `${op.method.toLowerCase()}-${op.path}`;
  const slug = raw.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/-{2,}/g, '-').replace(/^[-.]+|[-.]+$/g, '');
  return slug === '' ? op.method.toLowerCase() : slug;
}

function uniqueId(base: string, taken: Set<string>): string {
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  taken.add(id);
  return id;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The patterns the router registers for a match, parameter names erased (they do not change a match). */
function patternsOf(match: { path?: string | undefined; prefix?: string | undefined }): string[] {
  if (match.path !== undefined) return [match.path.replace(PARAM, '{}')];
  const base = (match.prefix ?? '/').replace(PARAM, '{}').replace(/\/$/, '');
  return base === '' ? ['/*'] : [base, `${base}/*`];
}

/**
 * What the router will hold, pattern → method → who registered it: a second registration of the
 * same method and pattern would make the router refuse the whole snapshot, so it is skipped instead.
 */
class Registry {
  private readonly owners = new Map<string, Map<string, string>>();

  /** The owner already holding one of these, or undefined after registering them for `owner`. */
  claim(match: { methods?: readonly string[] | undefined; path?: string | undefined; prefix?: string | undefined }, owner: string): string | undefined {
    const patterns = patternsOf(match);
    const methods = match.methods ?? METHODS;
    for (const pattern of patterns) {
      for (const method of methods) {
        const held = this.owners.get(pattern)?.get(method);
        if (held !== undefined) return held;
      }
    }
    for (const pattern of patterns) {
      const byMethod = this.owners.get(pattern) ?? new Map<string, string>();
      for (const method of methods) byMethod.set(method, owner);
      this.owners.set(pattern, byMethod);
    }
    return undefined;
  }
}

function commonFields(cfg: ImportedApiConfig): Record<string, unknown> {
  return {
    upstream: cfg.upstream,
    auth: cfg.auth,
    ...(cfg.bearer !== undefined ? { bearer: cfg.bearer } : {}),
    ...(cfg.session !== undefined ? { session: cfg.session } : {}),
    ...(cfg.timeoutMs !== undefined ? { timeoutMs: cfg.timeoutMs } : {}),
  };
}

function operationRoute(cfg: ImportedApiConfig, op: ImportedOperation, path: string): { ok: true; route: RouteConfig } | { ok: false; problem: string } {
  const override = cfg.operations[op.key];
  const policyMode = override?.policyMode ?? cfg.policyMode;
  const stripPrefix = cfg.prefix.replace(/\/+$/, '');
  const parsed = routeSchema.safeParse({
    description: `${op.key} from the OpenAPI document of api ${op.api}`,
    match: { methods: [op.method], path },
    ...commonFields(cfg),
    ...(op.intent !== undefined ? { intent: op.intent } : {}),
    tags: [...op.tags],
    ...(policyMode !== undefined ? { policyMode } : {}),
    ...(override?.resource !== undefined ? { resource: override.resource } : {}),
    ...(stripPrefix !== '' ? { rewrite: { stripPrefix } } : {}),
  });
  if (parsed.success) return { ok: true, route: parsed.data };
  return { ok: false, problem: parsed.error.issues.map((i) => `${i.path.join('.') || 'route'}: ${i.message}`).join('; ') };
}

function catchAllRoute(cfg: ImportedApiConfig): RouteConfig {
  return routeSchema.parse({ description: `paths under ${cfg.prefix} that the OpenAPI document does not declare (denied)`, match: { prefix: cfg.prefix }, ...commonFields(cfg) });
}

export const expandApis: ExpandFn = (config: Config, _stage, documents: ApiDocuments): Expansion => {
  const routes: Record<string, RouteConfig> = { ...config.routes };
  const taken = new Set(Object.keys(config.routes));
  const undeclared = new Map<string, UndeclaredRoute>();
  const warnings: string[] = [];
  const problems: string[] = [];
  const registry = new Registry();
  // Routes with a host are constrained to it: they do not clash with the imported ones (any host).
  for (const [id, rc] of Object.entries(config.routes)) if (rc.match.host === undefined) registry.claim(rc.match, `route ${id} in routes`);
  const apis = Object.entries(config.apis).filter(([api, cfg]) => {
    if (Object.hasOwn(config.upstreams, cfg.upstream)) return true;
    problems.push(`apis.${api}.upstream: unknown upstream "${cfg.upstream}"`);
    return false;
  });
  for (const [api, cfg] of apis) {
    const catchAll = catchAllRoute(cfg);
    const id = uniqueId(`${api}.undeclared`, taken);
    const holder = registry.claim(catchAll.match, `the prefix ${cfg.prefix} of api ${api}`);
    if (holder !== undefined) {
      warnings.push(`apis.${api}: ${holder} already matches the prefix ${cfg.prefix}; it answers the paths the document does not declare`);
      continue;
    }
    routes[id] = catchAll;
    undeclared.set(id, { api, prefix: cfg.prefix });
  }
  for (const [api, cfg] of apis) {
    for (const op of documents.get(api)?.operations ?? []) {
      if (op.problem !== undefined) {
        warnings.push(`apis.${api}: ${op.key} is not served (${op.problem}); it is denied`);
        continue;
      }
      const path = joinPrefix(cfg.prefix, op.path);
      const nested = apis.find(([, other]) => other.prefix.length > cfg.prefix.length && (path.startsWith(other.prefix) || `${path}/` === other.prefix));
      if (nested !== undefined) {
        warnings.push(`apis.${api}: ${op.key} (${path}) is under the prefix ${nested[1].prefix} of api ${nested[0]}, which answers it; the operation is skipped`);
        continue;
      }
      const built = operationRoute(cfg, op, path);
      if (!built.ok) {
        // A warning, not a problem: one odd operation in a document must not block every rebuild.
        warnings.push(`apis.${api}: ${op.key} cannot be routed (${built.problem}); it is denied`);
        continue;
      }
      const holder = registry.claim(built.route.match, `${op.key} of api ${api}`);
      if (holder !== undefined) {
        warnings.push(`apis.${api}: ${op.key} has the method and path of ${holder} (${op.method} ${path}); the imported operation is skipped`);
        continue;
      }
      routes[uniqueId(`${api}.${idPart(op)}`, taken)] = built.route;
      if (op.intent === undefined) warnings.push(`apis.${api}: ${op.key} has no intent; it is denied (authz.no_intent) until it gets one`);
    }
  }
  return { config: { ...config, routes }, undeclared, warnings, problems };
};
