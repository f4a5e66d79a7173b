// The identity plane's contracts: what an authenticator returns, and the long-lived pieces a
// snapshot's providers use (key sets, introspection clients) without owning them.
import type { JWTVerifyGetKey } from 'jose';
import type { Identity } from '../gateway/types.ts';

/** The authn.* reason codes (src/gateway/reason-codes.ts), as the identity plane produces them. */
export type AuthnCode =
  | 'authn.missing'
  | 'authn.malformed'
  | 'authn.token_too_large'
  | 'authn.unsupported_algorithm'
  | 'authn.bad_token_header'
  | 'authn.unknown_issuer'
  | 'authn.unknown_key'
  | 'authn.bad_signature'
  | 'authn.token_expired'
  | 'authn.token_not_yet_valid'
  | 'authn.token_lifetime'
  | 'authn.bad_audience'
  | 'authn.bad_claims'
  | 'authn.id_token_rejected'
  | 'authn.wrong_token_type'
  | 'authn.token_inactive'
  | 'authn.provider_unavailable'
  | 'authn.session_invalid'
  | 'authn.csrf_rejected'
  | 'authn.login_failed'
  | 'authn.api_key_invalid'
  | 'authn.api_key_revoked'
  | 'authn.api_key_expired'
  | 'authn.certificate_revoked'
  | 'authn.certificate_unknown'
  | 'authn.method_not_allowed'
  | 'authn.token_revoked';

export interface AuthnFailure {
  ok: false;
  code: AuthnCode;
  /** A fixed sentence for the caller: never token contents, never a library's error text. */
  description: string;
  /** RFC 6750 §3.1 error: invalid_request for a malformed Authorization header, else invalid_token. */
  error?: 'invalid_request';
}

export type AuthnResult = { ok: true; identity: Identity } | AuthnFailure;

export function authnFailure(code: AuthnCode, description: string): AuthnFailure {
  return { ok: false, code, description };
}

/** Provider metadata from OpenID discovery (RFC 8414 / OIDC Discovery), the fields Cortex reads. */
export interface DiscoveryMetadata {
  issuer: string;
  jwks_uri?: string;
  introspection_endpoint?: string;
  token_endpoint?: string;
  [key: string]: unknown;
}

export type KeyRefresh = 'refreshed' | 'unchanged' | 'rate_limited' | 'failed';

/**
 * A provider's signing keys, kept for as long as the provider's key settings are unchanged across
 * reloads (see registry.ts). Fetches happen beside the data plane: a request never waits for a
 * fetch except the single, rate-limited refetch an unknown kid may trigger.
 */
export interface ProviderKeySource {
  /** True once a non-empty key set has been fetched (it stays true while the IdP is down). */
  ready(): boolean;
  /** jose's key selection over the last good key set; undefined until the first good fetch. */
  getKey(): JWTVerifyGetKey | undefined;
  /** Whether the last good set holds a key with this kid. */
  hasKid(kid: string): boolean;
  /** Discovery metadata, once fetched. */
  metadata(): DiscoveryMetadata | undefined;
  /**
   * Refetch the key set because a token named a kid the set lacks. Single flight; at most once per
   * unknownKeyRefetchMinIntervalMs, otherwise 'rate_limited' without any request to the IdP.
   */
  refreshForUnknownKid(kid: string): Promise<KeyRefresh>;
  /** Called with the kids that a fetch removed (their cached tokens must go). */
  onKeysRemoved(listener: (kids: readonly string[]) => void): void;
  status(): KeySourceStatus;
}

export interface KeySourceStatus {
  keys: number;
  kids: string[];
  lastFetchAt: string | undefined;
  lastError: string | undefined;
  fetches: number;
  failures: number;
}

/** Claims as verified (signature, issuer, times, audience) and checked for type. */
export type VerifiedClaims = Readonly<Record<string, unknown>> & {
  readonly iss: string;
  readonly exp: number;
};

export type IntrospectionResult =
  | { kind: 'active'; claims: Readonly<Record<string, unknown>> }
  | { kind: 'inactive' }
  | { kind: 'unavailable' };

/**
 * Checks opaque tokens with one provider: RFC 7662 introspection, or Google's token-info endpoint
 * for the google preset. Answers are cached by token digest, never past the token's exp and never
 * longer than maxCacheSeconds; an 'unavailable' answer is never cached.
 */
export interface TokenIntrospector {
  introspect(token: string, digest: string): Promise<IntrospectionResult>;
  close(): void;
}
