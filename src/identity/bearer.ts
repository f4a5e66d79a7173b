// Authorization: Bearer <token> → an Identity, for one route's bearer policy. A token seen before
// (by digest) is answered from the cache without a promise; otherwise it is a JWT verified against
// its issuer's keys, or an opaque token checked by introspection.
import type { Identity } from '../gateway/types.ts';
import { identityFromClaims } from './claims-identity.ts';
import { audienceValues, checkHeaderForProvider, claimTypeProblem, decodeUntrusted, verifySignedJwt } from './jwt-verify.ts';
import type { CompiledProvider } from './provider.ts';
import { tokenDigest } from './token-cache.ts';
import type { CachedToken, TokenCache } from './token-cache.ts';
import { authnFailure } from './types.ts';
import type { AuthnFailure, AuthnResult } from './types.ts';

/** One route's bearer settings, compiled once per snapshot. */
export interface BearerPolicy {
  readonly providers: readonly CompiledProvider[];
  /** Accepted audiences per provider name. */
  readonly audiences: ReadonlyMap<string, ReadonlySet<string>>;
  readonly acceptIdTokens: boolean;
  readonly maxTokenBytes: number;
}

export interface BearerDeps {
  readonly cache: TokenCache;
  now(): number;
  /**
   * Refuses an identity after the cache (cached or not): a revoked delegated token. Synchronous
   * (an in-memory lookup); undefined = nothing to check.
   */
  readonly refuse?: ((identity: Identity) => AuthnFailure | undefined) | undefined;
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const BAD_CHARACTERS: AuthnFailure = { ...authnFailure('authn.malformed', 'The bearer token contains characters a token cannot have.'), error: 'invalid_request' };
const MISSING = authnFailure('authn.missing', 'This route needs a bearer token: send Authorization: Bearer <access token>.');

/** The token from an Authorization header value, or why there is none. */
export function bearerToken(header: string | undefined, maxBytes: number): string | AuthnFailure {
  if (header === undefined || header === '') return MISSING;
  const space = header.indexOf(' ');
  if (space === -1 || header.slice(0, space).toLowerCase() !== 'bearer') {
    return { ...authnFailure('authn.malformed', 'The Authorization header must use the Bearer scheme.'), error: 'invalid_request' };
  }
  const token = header.slice(space + 1).trim();
  if (token.length > maxBytes) return authnFailure('authn.token_too_large', `Tokens larger than ${maxBytes} bytes are refused.`);
  if (token === '') return BAD_CHARACTERS;
  return token;
}

/** RFC 6750 §2.1's token syntax; checked on a cache miss only (a cached token passed it before). */
export function checkTokenSyntax(token: string): AuthnFailure | undefined {
  return B64TOKEN.test(token) ? undefined : BAD_CHARACTERS;
}

export function authenticateBearer(header: string | undefined, policy: BearerPolicy, deps: BearerDeps): AuthnResult | Promise<AuthnResult> {
  const token = bearerToken(header, policy.maxTokenBytes);
  if (typeof token !== 'string') return token;
  const digest = tokenDigest(token);
  const now = deps.now();
  const cached = deps.cache.get(digest, now);
  const answer = cached === undefined ? undefined : fromCache(cached, policy);
  const result = answer ?? verifyFresh(token, digest, policy, deps, now);
  const refuse = deps.refuse;
  if (refuse === undefined) return result;
  return result instanceof Promise ? result.then((r) => refused(r, refuse)) : refused(result, refuse);
}

function refused(result: AuthnResult, refuse: (identity: Identity) => AuthnFailure | undefined): AuthnResult {
  return result.ok ? (refuse(result.identity) ?? result) : result;
}

/** The cached answer for this route; undefined when the token must be verified again. */
function fromCache(entry: CachedToken, policy: BearerPolicy): AuthnResult | undefined {
  const provider = policy.providers.find((p) => p.name === entry.provider.name && p.issuerMatches(entry.claims.iss as string));
  if (provider === undefined) return authnFailure('authn.unknown_issuer', 'Tokens from this issuer are not accepted on this route.');
  // Verified (perhaps while a reload happened) under rules that have since changed.
  if (provider.rules !== entry.provider.rules) return undefined;
  if (entry.idToken && !(policy.acceptIdTokens && anyIn(entry.audiences, provider.idTokenAudiences))) {
    return authnFailure('authn.id_token_rejected', 'An ID token is not an access token.');
  }
  if (!entry.idToken && !anyIn(entry.audiences, policy.audiences.get(provider.name))) return badAudience();
  if (provider !== entry.provider) {
    // A reload changed the provider (its role mapping, say): derive the identity again.
    const identity = identityFromClaims(provider, entry.claims, entry.method, entry.keyId);
    if (!('subject' in identity)) return identity;
    entry.provider = provider;
    entry.identity = identity;
  }
  return { ok: true, identity: entry.identity };
}

async function verifyFresh(token: string, digest: string, policy: BearerPolicy, deps: BearerDeps, now: number): Promise<AuthnResult> {
  const syntax = checkTokenSyntax(token);
  if (syntax) return syntax;
  const dots = countDots(token);
  if (dots !== 2) {
    if (dots === 4) return authnFailure('authn.malformed', 'Encrypted (JWE) tokens are not accepted.');
    return introspect(token, digest, policy, deps, now);
  }
  const jwt = decodeUntrusted(token);
  if ('ok' in jwt) {
    // Some opaque tokens have two dots (Google's ya29.c.… service-account tokens): one that does
    // not decode as a JWT goes to introspection where a provider here has it.
    if (jwt.code === 'authn.malformed' && policy.providers.some((p) => p.introspector !== undefined)) return introspect(token, digest, policy, deps, now);
    return jwt;
  }
  const provider = policy.providers.find((p) => p.issuerMatches(jwt.payload.iss as string));
  if (provider === undefined) return authnFailure('authn.unknown_issuer', 'Tokens from this issuer are not accepted on this route.');
  if (token.length > provider.maxTokenBytes) return authnFailure('authn.token_too_large', `Tokens larger than ${provider.maxTokenBytes} bytes are refused.`);
  const idTokenRoute = policy.acceptIdTokens && provider.idTokenAudiences.size > 0;
  const headerProblem = checkHeaderForProvider(provider, jwt, idTokenRoute);
  if (headerProblem) return headerProblem;
  const verified = await verifySignedJwt(token, jwt, provider, now);
  if (!verified.ok) return verified;
  const audiences = audienceValues(provider, verified.claims);
  const idToken = provider.shape.isIdToken(verified.claims);
  if (idToken) {
    if (!(idTokenRoute && anyIn(audiences, provider.idTokenAudiences))) return authnFailure('authn.id_token_rejected', 'An ID token is not an access token.');
  } else if (!anyIn(audiences, policy.audiences.get(provider.name))) {
    return badAudience();
  }
  const identity = identityFromClaims(provider, verified.claims, 'jwt', verified.keyId);
  if (!('subject' in identity)) return identity;
  deps.cache.set(digest, {
    provider,
    audiences,
    idToken,
    claims: verified.claims,
    keyId: verified.keyId,
    method: 'jwt',
    expiresAtMs: (verified.claims.exp as number) * 1000,
    identity,
  });
  return { ok: true, identity };
}

async function introspect(token: string, digest: string, policy: BearerPolicy, deps: BearerDeps, now: number): Promise<AuthnResult> {
  let unavailable = false;
  let checked = false;
  for (const provider of policy.providers) {
    const introspector = provider.introspector?.();
    if (provider.introspector === undefined) continue;
    checked = true;
    if (introspector === undefined) {
      unavailable = true;
      continue;
    }
    const answer = await introspector.introspect(token, digest);
    if (answer.kind === 'unavailable') unavailable = true;
    if (answer.kind !== 'active') continue;
    const claims: Readonly<Record<string, unknown>> = { iss: provider.issuer, ...answer.claims };
    const bad = claimTypeProblem(claims);
    if (bad !== undefined) return authnFailure('authn.bad_claims', bad);
    if (typeof claims.exp === 'number' && claims.exp * 1000 <= now) return authnFailure('authn.token_expired', 'The token has expired.');
    if (!anyIn(audienceValues(provider, claims), policy.audiences.get(provider.name))) return badAudience();
    const identity = identityFromClaims(provider, claims, 'introspection', undefined);
    return 'subject' in identity ? { ok: true, identity } : identity;
  }
  if (!checked) return authnFailure('authn.malformed', 'The bearer token is not a JWT, and no provider here checks opaque tokens.');
  if (unavailable) return authnFailure('authn.provider_unavailable', 'The identity provider could not check the token; try again shortly.');
  return authnFailure('authn.token_inactive', 'The token is not active (revoked, expired or unknown).');
}

function badAudience(): AuthnFailure {
  return authnFailure('authn.bad_audience', 'The token was not issued for this API (audience).');
}

function anyIn(values: readonly string[], accepted: ReadonlySet<string> | undefined): boolean {
  if (accepted === undefined) return false;
  for (const v of values) if (accepted.has(v)) return true;
  return false;
}

function countDots(token: string): number {
  let n = 0;
  for (let i = token.indexOf('.'); i !== -1; i = token.indexOf('.', i + 1)) n++;
  return n;
}
