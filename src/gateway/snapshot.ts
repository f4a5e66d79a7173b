// Config → a frozen Snapshot: routes with their filter chains, the router, upstream targets.
// Built beside the serving snapshot on every reload; no network I/O happens here.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { Config, RouteConfig, Stage } from '../config/schema.ts';
import { compileCorsPolicy, createCorsFilter } from '../filters/cors/cors-filter.ts';
import type { CorsPolicy, CorsSibling } from '../filters/cors/cors-filter.ts';
import { createAnonymousFilter, createBearerFilter, createMultiAuthFilter } from '../filters/authn/authn-filter.ts';
import type { AuthnObserver } from '../filters/authn/authn-filter.ts';
import { createForwardedFilter } from '../filters/forwarded/forwarded-filter.ts';
import { createAssertionFilter } from '../filters/assertion/assertion-filter.ts';
import type { AssertionMinter, AssertionSettings } from '../filters/assertion/assertion-minter.ts';
import { createHeaderOpsFilter } from '../filters/headers/header-ops-filter.ts';
import { createUndeclaredFilter } from '../filters/authz/undeclared-filter.ts';
import type { UndeclaredObserver } from '../filters/authz/undeclared-filter.ts';
import { createUpstreamFilter } from '../filters/upstream/upstream-filter.ts';
import type { UpstreamFilterDeps } from '../filters/upstream/upstream-filter.ts';
import type { UpstreamPools } from '../filters/upstream/upstream-pools.ts';
import { createUpstreamCredentialsFilter } from '../filters/upstream-credentials/upstream-credentials-filter.ts';
import type { UpstreamCredentialsRuntime } from '../credentials/upstream-secrets/runtime.ts';
import { routeAudiences } from '../config/semantic-identity.ts';
import type { AccessRuntime, Authenticator, InternalEndpoint } from '../identity/authenticator.ts';
import type { BearerDeps, BearerPolicy } from '../identity/bearer.ts';
import { LOGIN_COOKIE } from '../identity/session/cookies.ts';
import type { CompiledProvider } from '../identity/provider.ts';
import { CORTEX_PROVIDER } from '../identity/cortex-provider.ts';
import { AMBIGUITY } from './normalize.ts';
import { createRouter, paramNames } from './router.ts';
import type { Router } from './router.ts';
import { authzFilterFor, compileSnapshotPolicy } from './snapshot-policy.ts';
import type { LookupHeaders } from './snapshot-policy.ts';
import { GATEWAY_LOOKUP_IDENTITY } from '../credentials/gateway-identity.ts';
import type { CachedPolicyEngine } from '../policy/decision-cache.ts';
import type { AuthzObserver } from '../filters/authz/authz-filter.ts';
import type { CompiledRoute, HttpFilter } from './types.ts';

export type { CompiledRoute };

export interface Snapshot {
  readonly generation: number;
  readonly stage: Stage;
  readonly config: Config;
  readonly router: Router<CompiledRoute>;
  readonly routes: ReadonlyMap<string, CompiledRoute>;
  readonly trustedProxies: BlockList;
  readonly hasTrustedProxies: boolean;
  readonly requestIdHeader: string;
  readonly trustIncomingRequestId: boolean;
  readonly createdAt: number;
  /** This generation's compiled identity providers, by name. */
  readonly providers: ReadonlyMap<string, CompiledProvider>;
  /** The compiled policies behind the decision cache; undefined without a policy section (authentication only). */
  readonly policy: CachedPolicyEngine | undefined;
}

export interface SnapshotDeps {
  pools: UpstreamPools;
  upstream: UpstreamFilterDeps;
  /** This generation's compiled identity providers, by name (IdentityRuntime.compile). */
  providers: ReadonlyMap<string, CompiledProvider>;
  bearer: BearerDeps;
  observeAuthn?: AuthnObserver;
  /** Sessions, API keys, client certificates, and the /.cortex/ endpoints (built once per gateway). */
  access?: AccessRuntime;
  observeAuthz?: AuthzObserver;
  /** Route id → imported API: the catch-all under the API's prefix, denying what its document does not declare. */
  undeclared?: ReadonlyMap<string, { readonly api: string }>;
  observeUndeclared?: UndeclaredObserver;
  /** Signs the identity assertion for upstreams (the Gateway's; kept across reloads). */
  assertions?: { minter: AssertionMinter; settings: () => AssertionSettings };
  /** Gateway-owned endpoints of the credentials plane (/.cortex/jwks.json, ...). */
  credentialEndpoints?: readonly InternalEndpoint[];
  /** Upstream secrets (static headers, OAuth2 tokens), kept across reloads; needed when an upstream has `credentials`. */
  upstreamCredentials?: UpstreamCredentialsRuntime;
}

export class SnapshotError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('; '));
    this.problems = problems;
  }
}

/** Throws SnapshotError with every problem found; callers keep their old snapshot on a throw. */
export function compileSnapshot(config: Config, stage: Stage, generation: number, deps: SnapshotDeps): Snapshot {
  const problems: string[] = [];
  const trustedProxies = new BlockList();
  for (const entry of config.gateway.trustedProxies) {
    if (!addToBlockList(trustedProxies, entry)) problems.push(`gateway.trustedProxies: '${entry}' is not an IP or CIDR`);
  }
  const policy = compileSnapshotPolicy(config, problems);
  const routes = new Map<string, CompiledRoute>();
  const cors = new Map<string, { policy: CorsPolicy; siblings: CorsSibling[] }>();
  for (const [id, rc] of Object.entries(config.routes)) {
    const upstreamCfg = config.upstreams[rc.upstream];
    if (!upstreamCfg) {
      problems.push(`routes.${id}.upstream: no upstream named '${rc.upstream}'`);
      continue;
    }
    const undeclared = deps.undeclared?.get(id);
    if (undeclared !== undefined) {
      routes.set(id, undeclaredRoute(id, rc, authnFilter(config, id, rc, deps, problems), createUndeclaredFilter(undeclared.api, deps.observeUndeclared)));
      continue;
    }
    const target = deps.pools.acquire(rc.upstream, upstreamCfg, generation);
    const chain: HttpFilter[] = [];
    if (rc.cors) {
      const entry = { policy: compileCorsPolicy(rc.cors, rc.match.methods), siblings: [] as CorsSibling[] };
      cors.set(id, entry);
      chain.push(createCorsFilter(entry.policy, { routeMethods: rc.match.methods, siblings: entry.siblings }));
    }
    chain.push(createForwardedFilter());
    const authn = authnFilter(config, id, rc, deps, problems);
    if (authn) chain.push(authn);
    const authz = authzFilterFor(policy, config, stage, rc, deps.observeAuthz, deps.assertions && lookupHeadersFor(config, deps.assertions));
    if (authz) chain.push(authz);
    const headerOps = createHeaderOpsFilter(rc.requestHeaders, rc.responseHeaders);
    if (headerOps) chain.push(headerOps);
    const assertion = deps.assertions && assertionFilter(config, rc.upstream, deps.assertions);
    if (assertion) chain.push(assertion);
    if (upstreamCfg.credentials) {
      // Last before the upstream filter: after every filter that edits the forwarded headers.
      const acquired = deps.upstreamCredentials?.acquire(rc.upstream, upstreamCfg.credentials, generation) ?? { ok: false, problem: `upstreams.${rc.upstream}.credentials: no credentials runtime` };
      if (acquired.ok) chain.push(createUpstreamCredentialsFilter(acquired.credential));
      else if (!problems.includes(acquired.problem)) problems.push(acquired.problem);
    }
    chain.push(createUpstreamFilter(target, rc.timeoutMs ?? target.timeoutMs, deps.upstream));
    routes.set(id, {
      id,
      upstream: rc.upstream,
      allowAmbiguity: (rc.allow.encodedSlash ? AMBIGUITY.encodedSlash : 0) | (rc.allow.semicolon ? AMBIGUITY.semicolon : 0),
      allowMethodOverride: rc.allow.methodOverride,
      allowOriginalUrl: rc.allow.originalUrlHeaders,
      maxBodyBytes: rc.maxBodyBytes,
      websocket: rc.websocket,
      maxConnectionLifetimeMs: rc.maxConnectionLifetimeMs,
      rewrite: compileRewrite(rc),
      chain,
      responseFilters: chain.filter((f) => f.onResponse !== undefined).reverse(),
      completeFilters: chain.filter((f) => f.onComplete !== undefined),
    });
  }
  const preflightMethods = registerPreflights(config, routes, cors);
  const internal = [...(deps.access?.endpoints ?? []), ...(deps.credentialEndpoints ?? [])].map((e) => ({ endpoint: e, route: internalRoute(e) }));
  for (const { route } of internal) routes.set(route.id, route);
  let router: Router<CompiledRoute> | undefined;
  try {
    router = createRouter([
      ...[...routes.values()]
        .filter((route) => Object.hasOwn(config.routes, route.id))
        .map((route) => {
          const m = (config.routes[route.id] as RouteConfig).match;
          const fallback = deps.undeclared?.has(route.id) ?? false;
          return { route, host: m.host, methods: preflightMethods.get(route.id) ?? m.methods, path: m.path, prefix: m.prefix, fallback };
        }),
      ...internal.map(({ endpoint, route }) => ({ route, host: undefined, methods: [...endpoint.methods], path: endpoint.path, prefix: undefined })),
    ]);
  } catch (err) {
    problems.push(`routes: ${(err as Error).message}`);
  }
  if (problems.length > 0 || !router) {
    policy?.dispose();
    throw new SnapshotError(problems);
  }
  return Object.freeze({
    generation,
    stage,
    config,
    router,
    routes,
    trustedProxies,
    hasTrustedProxies: config.gateway.trustedProxies.length > 0,
    requestIdHeader: config.gateway.requestIdHeader.toLowerCase(),
    trustIncomingRequestId: config.gateway.trustIncomingRequestId,
    createdAt: Date.now(),
    providers: deps.providers,
    policy,
  });
}

/**
 * A CORS route whose methods omit OPTIONS still has to receive preflights: it is registered for
 * OPTIONS too (its cors filter refuses any OPTIONS that is not a preflight). Where another route
 * already receives OPTIONS on the same host and pattern (it lists OPTIONS, or another CORS route got
 * there first), that route's cors filter answers this route's preflights instead: this route's
 * policy is added to its siblings, chosen by the preflight's requested method.
 * Returns the methods to register for the routes that get OPTIONS added.
 */
function registerPreflights(
  config: Config,
  routes: ReadonlyMap<string, CompiledRoute>,
  cors: ReadonlyMap<string, { policy: CorsPolicy; siblings: CorsSibling[] }>,
): Map<string, string[]> {
  const owner = new Map<string, string>(); // host + pattern → id of the route that receives OPTIONS there
  const patternKeys = (rc: RouteConfig): string[] =>
    registeredPatterns(rc.match.path, rc.match.prefix).map((p) => `${rc.match.host ?? '*'} ${p}`);
  for (const id of routes.keys()) {
    const rc = config.routes[id] as RouteConfig;
    if (rc.match.methods === undefined || rc.match.methods.includes('OPTIONS')) {
      for (const key of patternKeys(rc)) if (!owner.has(key)) owner.set(key, id);
    }
  }
  const added = new Map<string, string[]>();
  for (const [id, entry] of cors) {
    const rc = config.routes[id] as RouteConfig;
    const methods = rc.match.methods;
    if (methods === undefined || methods.includes('OPTIONS')) continue;
    const keys = patternKeys(rc);
    const owners = new Set(keys.map((k) => owner.get(k)).filter((o) => o !== undefined));
    if (owners.size === 0) {
      added.set(id, [...methods, 'OPTIONS']);
      for (const key of keys) owner.set(key, id);
      continue;
    }
    for (const o of owners) cors.get(o)?.siblings.push({ routeMethods: methods, policy: entry.policy });
  }
  return added;
}

/** The patterns the router registers for a path or prefix, with parameter names erased. */
function registeredPatterns(path: string | undefined, prefix: string | undefined): string[] {
  const erase = (t: string) => t.replace(/\{[^{}/]*\}/g, '{}');
  if (path !== undefined) return [erase(path)];
  const base = erase(prefix ?? '/').replace(/\/$/, '');
  return base === '' ? ['/*'] : [base, `${base}/*`];
}

/** The route's authn filter: anonymous, bearer only (the hot path), or several ways in. */
function authnFilter(config: Config, id: string, rc: RouteConfig, deps: SnapshotDeps, problems: string[]): HttpFilter | undefined {
  const methods = typeof rc.auth === 'string' ? [rc.auth] : rc.auth;
  if (methods.includes('none')) return createAnonymousFilter();
  const bearer = methods.includes('bearer') ? bearerPolicy(config, id, rc, deps.providers, problems) : undefined;
  if (methods.length === 1 && bearer) return createBearerFilter(bearer, deps.bearer, deps.observeAuthn);
  const others: Authenticator[] = [];
  // Most specific first: a certificate on the mTLS listener, an API key, then the session cookie.
  for (const [method, a] of [['mtls', deps.access?.mtls], ['api_key', deps.access?.apiKey], ['session', deps.access?.session]] as const) {
    if (!methods.includes(method)) continue;
    if (a === undefined) problems.push(`routes.${id}.auth: ${method} is not configured (${CONFIGURED_BY[method]})`);
    else others.push(a);
  }
  return createMultiAuthFilter(
    { bearer: bearer ? { policy: bearer, deps: deps.bearer } : undefined, others, csrf: rc.session?.csrf ?? true },
    deps.observeAuthn,
  );
}

/** An attribute lookup carries the gateway's own assertion, for the route's upstream's audience (when that upstream takes assertions). */
function lookupHeadersFor(config: Config, a: NonNullable<SnapshotDeps['assertions']>): LookupHeaders {
  return (rc) => {
    const caller = config.upstreams[rc.upstream]?.caller;
    if (caller === undefined || !caller.assertion) return undefined;
    const header = config.credentials.assertion.header.toLowerCase();
    const audience = caller.audience ?? rc.upstream;
    return async () => ({ [header]: (await a.minter.mint(GATEWAY_LOOKUP_IDENTITY, audience, a.settings())).token });
  };
}

/** What the upstream learns about the caller (its `caller` settings): the assertion filter, if any. */
function assertionFilter(config: Config, upstream: string, a: NonNullable<SnapshotDeps['assertions']>): HttpFilter | undefined {
  const caller = (config.upstreams[upstream] as Config['upstreams'][string]).caller;
  const sessions = config.identity.sessions;
  return createAssertionFilter({
    minter: a.minter,
    header: config.credentials.assertion.header.toLowerCase(),
    audience: caller.audience ?? upstream,
    settings: a.settings,
    assertion: caller.assertion,
    plainHeaders: caller.plainHeaders,
    forwardAuthorization: caller.forwardAuthorization,
    credentialHeaders: config.identity.apiKeys === undefined ? [] : [config.identity.apiKeys.header.toLowerCase()],
    credentialCookies: new Set(sessions === undefined ? [] : [sessions.cookie.name, LOGIN_COOKIE]),
  });
}

/** A gateway-owned endpoint under /.cortex/: a route whose only filter answers it. */
function internalRoute(e: InternalEndpoint): CompiledRoute {
  return {
    id: e.id,
    upstream: '-',
    allowAmbiguity: 0,
    allowMethodOverride: false,
    allowOriginalUrl: false,
    maxBodyBytes: 65_536,
    websocket: false,
    maxConnectionLifetimeMs: 60_000,
    rewrite: undefined,
    chain: [e.filter],
    responseFilters: [],
    completeFilters: e.filter.onComplete ? [e.filter] : [],
  };
}

/**
 * The catch-all under an imported API's prefix: the caller is authenticated as on the API's other
 * routes (an anonymous prober learns no more than 401), then denied; no upstream is ever involved.
 */
function undeclaredRoute(id: string, rc: RouteConfig, authn: HttpFilter | undefined, deny: HttpFilter): CompiledRoute {
  const chain = authn ? [authn, deny] : [deny];
  return {
    id,
    upstream: rc.upstream,
    allowAmbiguity: 0,
    allowMethodOverride: false,
    allowOriginalUrl: false,
    maxBodyBytes: rc.maxBodyBytes,
    websocket: false,
    maxConnectionLifetimeMs: rc.maxConnectionLifetimeMs,
    rewrite: undefined,
    chain,
    responseFilters: chain.filter((f) => f.onResponse !== undefined).reverse(),
    completeFilters: chain.filter((f) => f.onComplete !== undefined),
  };
}

const CONFIGURED_BY = { mtls: 'gateway.mtls', api_key: 'identity.apiKeys', session: 'identity.sessions' } as const;

/** The route's accepted providers and audiences; problems (also caught by checkSemantics) go to `problems`. */
function bearerPolicy(
  config: Config,
  id: string,
  rc: RouteConfig,
  providers: ReadonlyMap<string, CompiledProvider>,
  problems: string[],
): BearerPolicy | undefined {
  const names = rc.bearer?.providers ?? [...providers.keys()];
  if (names.length === 0) {
    problems.push(`routes.${id}.auth: bearer needs an identity provider (identity.providers); set auth: none for a public route`);
    return undefined;
  }
  const chosen: CompiledProvider[] = [];
  const audiences = new Map<string, ReadonlySet<string>>();
  for (const name of names) {
    const p = providers.get(name);
    if (!p) {
      problems.push(`routes.${id}.bearer.providers: no provider named '${name}'`);
      continue;
    }
    chosen.push(p);
    // Cortex's delegated tokens carry credentials.tokenExchange.audience: accepted on every route that takes them.
    audiences.set(name, name === CORTEX_PROVIDER ? p.audiences : new Set(routeAudiences(config, rc, name)));
  }
  return Object.freeze({
    providers: chosen,
    audiences,
    acceptIdTokens: rc.bearer?.acceptIdTokens ?? false,
    maxTokenBytes: Math.max(...chosen.map((p) => p.maxTokenBytes)),
  });
}

function addToBlockList(list: BlockList, entry: string): boolean {
  const [addr, bits] = entry.split('/');
  const type = addr && isIPv4(addr) ? 'ipv4' : addr && isIPv6(addr) ? 'ipv6' : undefined;
  if (!type || !addr) return false;
  if (bits === undefined) {
    list.addAddress(addr, type);
    return true;
  }
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (type === 'ipv4' ? 32 : 128)) return false;
  list.addSubnet(addr, prefix, type);
  return true;
}

function compileRewrite(rc: RouteConfig): CompiledRoute['rewrite'] {
  const rw = rc.rewrite;
  if (!rw) return undefined;
  if (rw.template !== undefined) {
    const template = rw.template;
    const names = paramNames(template);
    return (_path, params) => {
      let out = template;
      for (const n of names) out = out.replace(`{${n}}`, encodeURIComponent(params[n] ?? ''));
      return out;
    };
  }
  const strip = rw.stripPrefix ?? '';
  const add = rw.addPrefix ?? '';
  return (path) => {
    let rest = strip !== '' && path.startsWith(strip) ? path.slice(strip.length) : path;
    if (!rest.startsWith('/')) rest = '/' + rest;
    const joined = add === '' ? rest : add.replace(/\/$/, '') + rest;
    return joined;
  };
}
