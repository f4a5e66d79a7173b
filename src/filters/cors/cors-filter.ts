// Per-route CORS, answered from config. Preflights (OPTIONS with Origin and
// Access-Control-Request-Method) are answered here, 204 or 403 cors.rejected, and never reach the
// upstream. Actual requests from an allowed origin get the CORS response headers; from any other
// origin they pass through without them (the browser then withholds the response). An origin is
// echoed only when it is listed; under origins ['*'] the answer is the literal '*'.
import { CONTINUE } from '../../gateway/types.ts';
import type { FilterResult, HttpFilter, RequestContext } from '../../gateway/types.ts';
import type { RouteConfig } from '../../config/schema.ts';

export type CorsConfig = NonNullable<RouteConfig['cors']>;

export interface CorsPolicy {
  readonly anyOrigin: boolean;
  readonly origins: ReadonlySet<string>;
  readonly methods: ReadonlySet<string>;
  readonly allowMethods: string;
  /** Lower-cased name → the configured spelling. */
  readonly headers: ReadonlyMap<string, string>;
  readonly exposeHeaders: string;
  readonly credentials: boolean;
  readonly maxAge: string;
}

/** A route on the same host and pattern whose preflights this route's filter answers. */
export interface CorsSibling {
  readonly routeMethods: readonly string[];
  readonly policy: CorsPolicy;
}

export interface CorsFilterOptions {
  /** The route's match.methods; undefined when it matches every method. */
  readonly routeMethods: readonly string[] | undefined;
  /** Other routes' policies, for preflights asking for a method this route does not serve. */
  readonly siblings: readonly CorsSibling[];
}

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const HANDLED: FilterResult = Object.freeze({ action: 'handled' });
const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';
/** CORS response headers are the gateway's to write on a CORS route; an upstream's are dropped. */
const UPSTREAM_CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
  'access-control-max-age',
];

export function compileCorsPolicy(cors: CorsConfig, routeMethods: readonly string[] | undefined): CorsPolicy {
  const methods = cors.methods ?? routeMethods ?? ALL_METHODS;
  return Object.freeze({
    anyOrigin: cors.origins.includes('*'),
    origins: new Set(cors.origins.filter((o) => o !== '*')),
    methods: new Set(methods),
    allowMethods: methods.join(', '),
    headers: new Map(cors.headers.map((h) => [h.toLowerCase(), h] as const)),
    exposeHeaders: cors.exposeHeaders.join(', '),
    credentials: cors.credentials,
    maxAge: String(cors.maxAgeSeconds),
  });
}

function originAllowed(policy: CorsPolicy, origin: string): boolean {
  return policy.anyOrigin || policy.origins.has(origin);
}

/** The Access-Control-Allow-Origin value: '*' for a credential-less wildcard policy, else the listed origin echoed. */
function allowOriginValue(policy: CorsPolicy, origin: string): string {
  return policy.anyOrigin && !policy.credentials ? '*' : origin;
}

function serves(routeMethods: readonly string[] | undefined, method: string): boolean {
  return routeMethods === undefined || routeMethods.includes(method);
}

export function createCorsFilter(own: CorsPolicy, opts: CorsFilterOptions): HttpFilter {
  const optionsAllowed = serves(opts.routeMethods, 'OPTIONS');

  const policyFor = (method: string): CorsPolicy => {
    if (serves(opts.routeMethods, method)) return own;
    return opts.siblings.find((s) => s.routeMethods.includes(method))?.policy ?? own;
  };

  const allowList = (): string => {
    const all = new Set(opts.routeMethods ?? ALL_METHODS);
    for (const s of opts.siblings) for (const m of s.routeMethods) all.add(m);
    return ALL_METHODS.filter((m) => all.has(m)).join(', ');
  };

  return {
    name: 'cors',
    onRequest(ctx) {
      if (ctx.request.method !== 'OPTIONS') return CONTINUE;
      const h = ctx.req.headers;
      const origin = h.origin;
      const requested = h['access-control-request-method'];
      if (origin === undefined || typeof requested !== 'string') {
        if (optionsAllowed) return CONTINUE;
        return { action: 'reply', reply: { code: 'route.method_not_allowed', detail: 'OPTIONS is not allowed here', headers: { allow: allowList() } } };
      }
      return preflight(ctx, policyFor(requested), origin, requested);
    },
    onResponse(ctx, _status, headers) {
      for (const n of UPSTREAM_CORS_HEADERS) delete headers[n];
      const origin = ctx.req.headers.origin;
      if (!own.anyOrigin || own.credentials) addVary(headers, 'Origin');
      if (origin === undefined || !originAllowed(own, origin)) return;
      headers['access-control-allow-origin'] = allowOriginValue(own, origin);
      if (own.credentials) headers['access-control-allow-credentials'] = 'true';
      if (own.exposeHeaders !== '') headers['access-control-expose-headers'] = own.exposeHeaders;
    },
  };
}

function preflight(ctx: RequestContext, policy: CorsPolicy, origin: string, method: string): FilterResult {
  if (!originAllowed(policy, origin)) return rejected(`origin ${JSON.stringify(origin)} is not allowed`);
  if (!policy.methods.has(method)) return rejected(`method ${JSON.stringify(method)} is not allowed`);
  const asked = ctx.req.headers['access-control-request-headers'];
  const allowed: string[] = [];
  if (asked !== undefined) {
    for (const raw of asked.split(',')) {
      const name = raw.trim().toLowerCase();
      if (name === '') continue;
      const spelled = policy.headers.get(name);
      if (spelled === undefined) return rejected(`header ${JSON.stringify(name)} is not allowed`);
      if (!allowed.includes(spelled)) allowed.push(spelled);
    }
  }
  const headers: Record<string, string> = {
    'access-control-allow-origin': allowOriginValue(policy, origin),
    'access-control-allow-methods': policy.allowMethods,
    'access-control-max-age': policy.maxAge,
    vary: PREFLIGHT_VARY,
    [ctx.requestIdHeader]: ctx.id,
  };
  if (allowed.length > 0) headers['access-control-allow-headers'] = allowed.join(', ');
  if (policy.credentials) headers['access-control-allow-credentials'] = 'true';
  if (ctx.request.hasBody) headers.connection = 'close'; // the body is not read: the connection cannot be reused
  ctx.res.writeHead(204, headers);
  ctx.res.end();
  return HANDLED;
}

function rejected(detail: string): FilterResult {
  return { action: 'reply', reply: { code: 'cors.rejected', detail: `CORS preflight refused: ${detail}` } };
}

function addVary(headers: Record<string, string | string[]>, token: string): void {
  const prev = headers.vary;
  if (prev === undefined) {
    headers.vary = token;
    return;
  }
  const values = typeof prev === 'string' ? [prev] : prev;
  const lower = token.toLowerCase();
  for (const v of values) {
    for (const t of v.split(',')) {
      const tt = t.trim().toLowerCase();
      if (tt === '*' || tt === lower) return;
    }
  }
  headers.vary = [...values, token].join(', ');
}
