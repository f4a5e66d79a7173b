// authn: sets ctx.identity, or replies 401 with WWW-Authenticate (RFC 6750 §3) and problem+json.
// A route with `auth: none` gets the anonymous identity, which policy can name.
import { ANONYMOUS } from '../../identity/claims-identity.ts';
import { authenticateBearer } from '../../identity/bearer.ts';
import type { BearerDeps, BearerPolicy } from '../../identity/bearer.ts';
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

export function createBearerFilter(policy: BearerPolicy, deps: BearerDeps, observe?: AuthnObserver): HttpFilter {
  const settle = (ctx: RequestContext, result: AuthnResult): FilterResult => {
    if (result.ok) {
      ctx.identity = result.identity;
      observe?.(result.identity.provider, 'ok');
      return CONTINUE;
    }
    observe?.('-', result.code);
    return refuse(result);
  };
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
