// Radix routing on host, method and the normalized path (find-my-way), built once per snapshot.
import FindMyWay from 'find-my-way';
import type { HTTPMethod } from 'find-my-way';

export const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export interface RouteSpec<R> {
  route: R;
  host?: string;
  methods?: readonly string[];
  path?: string;
  prefix?: string;
  /**
   * A prefix route that takes every request under its prefix no other route serves, including
   * those another route's path matches with an empty parameter (an imported API's catch-all).
   */
  fallback?: boolean;
}

export type RouteMatch<R> =
  | { found: true; route: R; params: Record<string, string | undefined> }
  | { found: false; allow: string[] };

export interface Router<R> {
  find(method: string, path: string, host: string): RouteMatch<R>;
}

/** `/orders/{id}` → `/orders/:id`; a literal ':' is escaped as find-my-way expects. */
export function toRouterPath(template: string): string {
  return template.replace(/:/g, '::').replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
}

export function paramNames(template: string): string[] {
  return [...template.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] as string);
}

export function createRouter<R>(specs: readonly RouteSpec<R>[]): Router<R> {
  for (const spec of specs) {
    for (const t of [spec.path, spec.prefix]) {
      if (t !== undefined && !paramsAreWholeSegments(t)) throw new Error(`'${t}': a {param} must be a whole path segment`);
    }
  }
  const fallbacks = specs
    .filter((s) => s.fallback === true && s.prefix !== undefined && s.host === undefined)
    .map((s) => ({ route: s.route, base: (s.prefix as string).endsWith('/') ? (s.prefix as string) : `${s.prefix as string}/` }))
    .sort((a, b) => b.base.length - a.base.length);
  const isFallback = new Set(fallbacks.map((f) => f.route));
  const fallbackFor = (path: string): R | undefined => {
    for (const f of fallbacks) if (path.startsWith(f.base) || path === f.base.slice(0, -1)) return f.route;
    return undefined;
  };
  const fmw = FindMyWay({ caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, maxParamLength: 1024 });
  for (const spec of specs) {
    const methods = (spec.methods ?? ROUTE_METHODS) as HTTPMethod[];
    const opts = spec.host ? { constraints: { host: spec.host } } : {};
    const paths: string[] = [];
    if (spec.path !== undefined) paths.push(toRouterPath(spec.path));
    if (spec.prefix !== undefined) {
      const base = spec.prefix.endsWith('/') ? spec.prefix : spec.prefix + '/';
      paths.push(toRouterPath(base) + '*');
      if (base.length > 1) paths.push(toRouterPath(base.slice(0, -1)));
    }
    for (const p of paths) fmw.on(methods, p, opts, noop, spec.route);
  }
  return {
    find(method, path, host) {
      // The gateway's own endpoints are never under an imported API, even one imported at /.
      const own = fallbacks.length > 0 && path.startsWith('/.cortex/');
      const usable = (h: { params: Record<string, string | undefined>; store: unknown } | null): boolean =>
        h !== null && !hasEmptyParam(h.params) && !(own && isFallback.has(h.store as R));
      const hit = fmw.find(method as HTTPMethod, path, { host });
      if (hit && usable(hit)) return { found: true, route: hit.store as R, params: hit.params };
      const fallback = fallbacks.length > 0 && !own ? fallbackFor(path) : undefined;
      if (fallback !== undefined) return { found: true, route: fallback, params: {} };
      const allow: string[] = [];
      if (ROUTE_METHODS.includes(method as (typeof ROUTE_METHODS)[number])) {
        for (const m of ROUTE_METHODS) {
          if (m !== method && usable(fmw.find(m, path, { host }))) allow.push(m);
        }
      }
      return { found: false, allow };
    },
  };
}

function noop(): void {}

/** `{id}` must not match an empty segment: `/orders/` is not an order with id ''. */
function hasEmptyParam(params: Record<string, string | undefined>): boolean {
  for (const k in params) if (k !== '*' && params[k] === '') return true;
  return false;
}

/** True when every `{param}` fills a whole segment, the only shape the radix router matches exactly. */
export function paramsAreWholeSegments(template: string): boolean {
  return template.split('/').every((seg) => !seg.includes('{') || /^\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(seg));
}
