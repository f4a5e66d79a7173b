// authn: sets ctx.identity, or replies 401 with WWW-Authenticate (RFC 6750 §3) and problem+json.
// A route with `auth: none` gets the anonymous identity, which policy can name.
import { ANONYMOUS } from '../../identity/claims-identity.ts';
import { authenticateBearer } from '../../identity/bearer.ts';
import type { BearerDeps, BearerPolicy } from '../../identity/bearer.ts';
import type { Authenticator, SessionAuthenticator } from '../../identity/authenticator.ts';
import type { AuthnFailure, AuthnResult } from '../../identity/types.ts';
import { CONTINUE } from '../../gateway/types.ts';
import type { FilterResult, HttpFilter, RequestContext } from '../../gateway/types.ts';

export interface AuthnObserver {
  /** Every authentication attempt's result: a provider name and 'ok', or the failure's code. */
  (provider: string, result: string): void;
}

const REALM = 'cortex';

export function createAnonymousFilter(): HttpFilter {
  return {
    name: 'authn',
    onRequest(ctx: RequestContext): FilterResult {
      ctx.identity = ANONYMOUS;
      return CONTINUE;
    },
  };
}

function settler(observe: AuthnObserver | undefined) {
  return (ctx: RequestContext, result: AuthnResult): FilterResult => {
    if (result.ok) {
      ctx.identity = result.identity;
      observe?.(result.identity.provider, 'ok');
      return CONTINUE;
    }
    observe?.('-', result.code);
    return refuse(result);
  };
}

/** A route that accepts bearer tokens only: the hot path, with nothing else to consider. */
export function createBearerFilter(policy: BearerPolicy, deps: BearerDeps, observe?: AuthnObserver): HttpFilter {
  const settle = settler(observe);
  return {
    name: 'authn',
    onRequest(ctx: RequestContext): FilterResult | Promise<FilterResult> {
      const header = ctx.req.headers.authorization;
      const result = authenticateBearer(header, policy, deps);
      if (result instanceof Promise) return result.then((r) => settle(ctx, r));
      return settle(ctx, result);
    },
  };
}

export interface MultiAuthOptions {
  /** The route's bearer policy, when it accepts bearer tokens. */
  bearer?: { policy: BearerPolicy; deps: BearerDeps };
  /** The route's other accepted ways in, most specific first (mtls, api_key, session). */
  others: readonly Authenticator[];
  /** Check Origin / Sec-Fetch-Site on unsafe requests authenticated by the session cookie. */
  csrf: boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A route with several ways in. The first credential the request carries decides (a bad one is
 * refused, never passed over for another); with none, a browser navigation on a session route is
 * sent to log in, anything else gets 401.
 */
export function createMultiAuthFilter(opts: MultiAuthOptions, observe?: AuthnObserver): HttpFilter {
  const settle = settler(observe);
  const session = opts.others.find((a): a is SessionAuthenticator => a.method === 'session');
  const challenges = [...(opts.bearer || opts.others.some((a) => a.method === 'api_key') ? [`Bearer realm="${REALM}"`] : [])];
  return {
    name: 'authn',
    onRequest(ctx: RequestContext): FilterResult | Promise<FilterResult> {
      const header = ctx.req.headers.authorization;
      for (const a of opts.others) {
        // An explicit bearer token outranks the ambient session cookie (after certificates and API keys).
        if (a === session && opts.bearer && header !== undefined) break;
        if (!a.present(ctx)) continue;
        if (a === session && opts.csrf && !SAFE_METHODS.has(ctx.request.method) && !sameOrigin(ctx, session.origins)) {
          observe?.('-', 'authn.csrf_rejected');
          return { action: 'reply', reply: { code: 'authn.csrf_rejected', detail: 'A request that changes something must come from this site (Origin or Sec-Fetch-Site).' } };
        }
        const result = a.authenticate(ctx);
        // A page load whose session has ended goes to log in again, like one without a session.
        const decide = (r: AuthnResult): FilterResult =>
          a === session && !r.ok && r.code === 'authn.session_invalid' && isBrowserNavigation(ctx) ? toLogin(ctx, session, observe) : settle(ctx, r);
        if (result instanceof Promise) return result.then(decide);
        return decide(result);
      }
      if (opts.bearer && header !== undefined) {
        const result = authenticateBearer(header, opts.bearer.policy, opts.bearer.deps);
        if (result instanceof Promise) return result.then((r) => settle(ctx, r));
        return settle(ctx, result);
      }
      if (session && isBrowserNavigation(ctx)) return toLogin(ctx, session, observe);
      if (header !== undefined) {
        observe?.('-', 'authn.method_not_allowed');
        return { action: 'reply', reply: { code: 'authn.method_not_allowed', detail: 'This route does not take that Authorization credential; it accepts ' + describe(opts) + '.' } };
      }
      observe?.('-', 'authn.missing');
      const detail = 'This route needs a credential: ' + describe(opts) + '.';
      const headers: Record<string, string> = challenges.length > 0 ? { 'www-authenticate': challenges.join(', ') } : {};
      return { action: 'reply', reply: { code: 'authn.missing', detail, headers } };
    },
  };
}

function toLogin(ctx: RequestContext, session: SessionAuthenticator, observe: AuthnObserver | undefined): FilterResult {
  observe?.('-', 'login_redirect');
  ctx.res.writeHead(302, { location: session.loginLocation(ctx), 'cache-control': 'no-store', [ctx.requestIdHeader]: ctx.id });
  ctx.res.end();
  return { action: 'handled' };
}

function describe(opts: MultiAuthOptions): string {
  const ways: string[] = [];
  if (opts.bearer) ways.push('Authorization: Bearer <access token>');
  for (const a of opts.others) {
    if (a.method === 'api_key') ways.push('an API key');
    if (a.method === 'session') ways.push('a login session (open it in a browser to log in)');
    if (a.method === 'mtls') ways.push("a client certificate on the gateway's mTLS listener");
  }
  return ways.join(', or ');
}

/** A top-level page load: what a browser sends when a person follows a link or types the URL. */
function isBrowserNavigation(ctx: RequestContext): boolean {
  if (ctx.request.method !== 'GET') return false;
  const mode = ctx.req.headers['sec-fetch-mode'];
  if (mode !== undefined) return mode === 'navigate';
  const accept = ctx.req.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/** Origin, else Sec-Fetch-Site: an unsafe request made with the cookie must come from this site. */
function sameOrigin(ctx: RequestContext, origins: ReadonlySet<string>): boolean {
  const origin = ctx.req.headers.origin;
  if (typeof origin === 'string') return origins.has(origin.toLowerCase());
  const site = ctx.req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin' || site === 'none';
  // Neither header: not a browser (browsers send Origin on every unsafe request), so no CSRF risk.
  return true;
}

function refuse(failure: AuthnFailure): FilterResult {
  if (failure.code === 'authn.provider_unavailable') {
    return { action: 'reply', reply: { code: failure.code, detail: failure.description, headers: { 'retry-after': '5' } } };
  }
  return { action: 'reply', reply: { code: failure.code, detail: failure.description, headers: { 'www-authenticate': wwwAuthenticate(failure) } } };
}

/** RFC 6750 §3: no error code when the request carried no credential; invalid_request when it was not a bearer token at all. */
export function wwwAuthenticate(failure: AuthnFailure): string {
  if (failure.code === 'authn.missing') return `Bearer realm="${REALM}"`;
  const error = failure.error ?? 'invalid_token';
  return `Bearer realm="${REALM}", error="${error}", error_description="${failure.description.replace(/["\\]/g, "'")}"`;
}
