// Checks of the apis section beyond the schema. What a document declares is only known once it is
// fetched (cortex check, src/intents/check.ts); here only what the config itself says.
import type { RawProblem } from './problems.ts';
import { route as routeSchema } from './schema-route.ts';
import type { Config, RouteConfig } from './schema.ts';

interface Problems {
  errors: RawProblem[];
  warnings: RawProblem[];
}

export function checkApis(config: Config, result: Problems): void {
  const names = Object.keys(config.upstreams);
  const prefixes = new Map<string, string>();
  for (const [name, api] of Object.entries(config.apis)) {
    const at = ['apis', name];
    if (!Object.hasOwn(config.upstreams, api.upstream)) {
      const known = names.length > 0 ? `; upstreams are ${names.join(', ')}` : '; no upstreams are defined';
      result.errors.push({ at: [...at, 'upstream'], message: `unknown upstream "${api.upstream}"${known}` });
    }
    if (config.policy === undefined) {
      result.errors.push({ at, message: 'imported routes are authorized by their intents: add a policy section (policy.grants) to serve an api' });
    }
    if (/[{}]/.test(api.prefix)) result.errors.push({ at: [...at, 'prefix'], message: 'a prefix is literal: {param} is not supported in it (it is stripped before forwarding)' });
    const other = prefixes.get(api.prefix);
    if (other !== undefined) result.errors.push({ at: [...at, 'prefix'], message: `api "${other}" has the same prefix ${api.prefix}; give each api its own` });
    else prefixes.set(api.prefix, name);
  }
}

/** The key under which an api's auth is checked as a route; no route id can contain '/'. */
const apiKey = (name: string): string => `apis/${name}`;

/**
 * The config with one route per api standing for its imported routes (same match prefix, upstream
 * and auth settings), so the identity checks of routes (providers, audiences, sessions, /.cortex/)
 * apply to the apis too. `apiProblem` turns a problem about such a route back into one about its api.
 */
export function withApiRoutes(config: Config): Config {
  const routes: Record<string, RouteConfig> = { ...config.routes };
  for (const [name, api] of Object.entries(config.apis)) {
    const parsed = routeSchema.safeParse({
      match: { prefix: api.prefix },
      upstream: api.upstream,
      auth: api.auth,
      ...(api.bearer !== undefined ? { bearer: api.bearer } : {}),
      ...(api.session !== undefined ? { session: api.session } : {}),
    });
    if (parsed.success) routes[apiKey(name)] = parsed.data;
  }
  return { ...config, routes };
}

/** undefined: the problem is about no api, keep it; null: about an api's intent (its operations have their own), drop it. */
export function apiProblem(config: Config, problem: RawProblem): RawProblem | null | undefined {
  const [section, id, field, ...rest] = problem.at;
  if (section !== 'routes' || typeof id !== 'string' || !id.startsWith('apis/')) return undefined;
  const name = id.slice('apis/'.length);
  if (!Object.hasOwn(config.apis, name) || field === 'intent') return null;
  const at = field === 'match' ? ['apis', name, 'prefix'] : ['apis', name, ...(field !== undefined ? [field] : []), ...rest];
  return { ...problem, at, message: problem.message.replaceAll(`routes.${id}.`, `apis.${name}.`) };
}
