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
      const hit = fmw.find(method as HTTPMethod, path, { host });
      if (hit && !hasEmptyParam(hit.params)) return { found: true, route: hit.store as R, params: hit.params };
      const allow: string[] = [];
      if (ROUTE_METHODS.includes(method as (typeof ROUTE_METHODS)[number])) {
        for (const m of ROUTE_METHODS) {
          const other = m !== method ? fmw.find(m, path, { host }) : null;
          if (other && !hasEmptyParam(other.params)) allow.push(m);
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
