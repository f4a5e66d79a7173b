// The ways in besides bearer tokens (browser sessions, API keys, client certificates), as the
// authn filter sees them, and the gateway-owned endpoints under /.cortex/ that some of them need.
import type { HttpFilter, RequestContext } from '../gateway/types.ts';
import type { AuthnResult } from './types.ts';

export type CredentialMethod = 'bearer' | 'session' | 'api_key' | 'mtls';

/** One way in. Bearer is compiled per route (bearer.ts); the others are one per gateway. */
export interface Authenticator {
  readonly method: Exclude<CredentialMethod, 'bearer'>;
  /** This request carries this method's credential. Cheap and synchronous: no lookups. */
  present(ctx: RequestContext): boolean;
  /** The caller's identity, or why not. Called only when present(ctx) is true. */
  authenticate(ctx: RequestContext): AuthnResult | Promise<AuthnResult>;
}

export interface SessionAuthenticator extends Authenticator {
  readonly method: 'session';
  /** Where a browser without a session is sent to log in: a path on this gateway that returns it to this request's path. */
  loginLocation(ctx: RequestContext): string;
  /** Origins that unsafe requests authenticated by the session cookie may come from (the redirect URI's origin). */
  readonly origins: ReadonlySet<string>;
}

/** An endpoint the gateway answers itself under /.cortex/ (login, callback, logout, me): a route with no upstream. */
export interface InternalEndpoint {
  /** Route id, e.g. 'cortex.login' (shown in audit events and metrics). */
  readonly id: string;
  /** Exact path, starting with /.cortex/. */
  readonly path: string;
  readonly methods: readonly ('GET' | 'POST')[];
  /** Answers the request itself: returns 'handled' after writing ctx.res, or a reply. */
  readonly filter: HttpFilter;
}

/** The long-lived parts behind the non-bearer ways in, built once when the gateway starts. */
export interface AccessRuntime {
  session?: SessionAuthenticator;
  apiKey?: Authenticator;
  mtls?: Authenticator;
  endpoints: readonly InternalEndpoint[];
  close(): Promise<void>;
}

export const RESERVED_PREFIX = '/.cortex/';
