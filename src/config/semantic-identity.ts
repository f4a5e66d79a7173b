// Identity checks beyond the schema: every authenticated route can actually authenticate someone
// (a provider, an audience), so that no config loads with authentication silently off or open.
import type { RawProblem } from './problems.ts';
import type { Config, RouteConfig } from './schema.ts';

interface Problems {
  errors: RawProblem[];
  warnings: RawProblem[];
}

const TENANT = '{tenantid}';
/** The built-in provider of Cortex's own delegated tokens, present when credentials.tokenExchange is set. */
const CORTEX_PROVIDER = 'cortex';

export function checkIdentity(config: Config, result: Problems): void {
  if (config.credentials.tokenExchange !== undefined && Object.hasOwn(config.identity.providers, CORTEX_PROVIDER)) {
    result.errors.push({ at: ['identity', 'providers', CORTEX_PROVIDER], message: `"${CORTEX_PROVIDER}" names the built-in provider of Cortex's delegated tokens (credentials.tokenExchange): give this provider another name` });
  }
  for (const [name, p] of Object.entries(config.identity.providers)) {
    const at = ['identity', 'providers', name];
    const templated = p.issuer.includes(TENANT);
    if (templated && (p.tenants === undefined || p.tenants.length === 0)) {
      result.errors.push({ at: [...at, 'tenants'], message: `the issuer contains ${TENANT}: list the tenant ids to accept (never every tenant)` });
    }
    if (!templated && p.tenants !== undefined) {
      result.errors.push({ at: [...at, 'tenants'], message: `tenants only apply to an issuer containing ${TENANT}` });
    }
    for (const [field, url] of [['issuer', p.issuer], ['jwksUri', p.jwksUri], ['discoveryUrl', p.discoveryUrl], ['introspection', p.introspection?.endpoint]] as const) {
      if (url !== undefined && url.startsWith('http:') && !isLoopbackUrl(url)) {
        result.warnings.push({ at: [...at, field], message: 'plain http to a non-loopback host: keys and tokens can be tampered with on the way; use https' });
      }
    }
    if (p.introspection !== undefined && p.preset !== 'google' && (p.introspection.clientId === undefined || p.introspection.clientSecret === undefined)) {
      result.errors.push({ at: [...at, 'introspection'], message: 'RFC 7662 introspection needs clientId and clientSecret (the gateway authenticates to the endpoint)' });
    }
    if (p.preset === 'google' && p.introspection === undefined && p.idTokenAudiences.length === 0) {
      result.warnings.push({ at, message: "google access tokens are opaque: without introspection (Google's token-info endpoint) they are all refused" });
    }
  }
  for (const [id, route] of Object.entries(config.routes)) {
    checkRouteAuth(config, id, route, result);
    const isPublic = route.auth === 'none';
    if (config.policy !== undefined && route.intent === undefined && !isPublic) {
      result.warnings.push({ at: ['routes', id, 'intent'], message: 'no intent: with a policy configured, every request to this route is denied (authz.no_intent)' });
    }
  }
  if (config.policy === undefined && Object.values(config.routes).some((r) => r.intent !== undefined)) {
    result.warnings.push({ at: ['policy'], message: 'routes declare intents but there is no policy section: any authenticated caller may use every route' });
  }
  const sessions = config.identity.sessions;
  if (sessions !== undefined && !Object.hasOwn(config.identity.providers, sessions.provider)) {
    result.errors.push({ at: ['identity', 'sessions', 'provider'], message: `unknown provider "${sessions.provider}"; providers are ${Object.keys(config.identity.providers).join(', ') || 'none'}` });
  }
  const adminLogin = config.admin.login;
  if (adminLogin !== undefined && !Object.hasOwn(config.identity.providers, adminLogin.provider)) {
    result.errors.push({ at: ['admin', 'login', 'provider'], message: `unknown provider "${adminLogin.provider}"; providers are ${Object.keys(config.identity.providers).join(', ') || 'none'}` });
  }
  if (adminLogin !== undefined && new URL(adminLogin.redirectUri).pathname !== '/auth/callback') {
    result.errors.push({ at: ['admin', 'login', 'redirectUri'], message: 'the admin listener answers the login at /auth/callback: use <admin origin>/auth/callback' });
  }
  if (sessions !== undefined && sessions.cookie.secure && sessions.redirectUri.startsWith('http:') && !isLoopbackUrl(sessions.redirectUri)) {
    result.errors.push({ at: ['identity', 'sessions', 'redirectUri'], message: 'a Secure cookie is never sent over plain http: use an https redirectUri' });
  }
}

function checkRouteAuth(config: Config, id: string, route: RouteConfig, result: Problems): void {
  const at = ['routes', id];
  const all = Object.keys(config.identity.providers);
  const path = route.match.path ?? route.match.prefix ?? '';
  if (path === '/.cortex' || path.startsWith('/.cortex/')) {
    result.errors.push({ at: [...at, 'match'], message: 'paths under /.cortex/ are the gateway\'s own (login, callback, logout, me)' });
  }
  const methods = typeof route.auth === 'string' ? [route.auth] : route.auth;
  if (methods.includes('none')) {
    if (route.bearer !== undefined) result.warnings.push({ at: [...at, 'bearer'], message: 'ignored: the route has auth: none' });
    return;
  }
  if (route.bearer !== undefined && !methods.includes('bearer')) result.warnings.push({ at: [...at, 'bearer'], message: 'ignored: the route does not accept bearer tokens' });
  if (route.session !== undefined && !methods.includes('session')) result.warnings.push({ at: [...at, 'session'], message: 'ignored: the route does not accept sessions' });
  const needs = [
    ['session', config.identity.sessions, 'identity.sessions'],
    ['api_key', config.identity.apiKeys, 'identity.apiKeys'],
    ['mtls', config.gateway.mtls, 'gateway.mtls'],
  ] as const;
  for (const [method, section, where] of needs) {
    if (methods.includes(method) && section === undefined) {
      result.errors.push({ at: [...at, 'auth'], message: `${method} needs ${where} to be configured` });
    }
  }
  if (!methods.includes('bearer')) return;
  if (all.length === 0) {
    result.errors.push({
      at: [...at, 'auth'],
      message: 'this route needs a bearer token (auth: bearer, the default) but identity.providers is empty: add a provider, or set auth: none to make the route public',
    });
    return;
  }
  const named = route.bearer?.providers ?? all;
  for (const name of named) {
    const builtIn = name === CORTEX_PROVIDER && config.credentials.tokenExchange !== undefined;
    if (!builtIn && !Object.hasOwn(config.identity.providers, name)) {
      result.errors.push({ at: [...at, 'bearer', 'providers'], message: `unknown provider "${name}"; providers are ${all.join(', ')}` });
    }
  }
  for (const name of named) {
    const p = config.identity.providers[name];
    if (p === undefined) continue;
    const audiences = routeAudiences(config, route, name);
    const idTokensOnly = route.bearer?.acceptIdTokens === true && p.idTokenAudiences.length > 0;
    if (audiences.length === 0 && !idTokensOnly) {
      result.errors.push({
        at,
        message: `no audience to check tokens from provider "${name}" against: set identity.providers.${name}.audiences, upstreams.${route.upstream}.audience or routes.${id}.bearer.audiences (a token for another API must not be accepted here)`,
      });
    }
  }
}

/** The audiences a bearer route accepts from one provider (resolved the same way as checkRouteAuth). */
export function routeAudiences(config: Config, route: RouteConfig, provider: string): string[] {
  const upstreamAudience = config.upstreams[route.upstream]?.audience;
  return route.bearer?.audiences ?? (upstreamAudience !== undefined ? [upstreamAudience] : (config.identity.providers[provider]?.audiences ?? []));
}

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
  } catch {
    return false;
  }
}
