// A JWT access token checked as RFC 9068 and RFC 8725 ask, with jose doing the JOSE work. Every
// failure is a result with a reason code and a fixed sentence: no token contents, no library text.
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import { normalizeTyp, tenantAgrees } from './provider.ts';
import type { CompiledProvider } from './provider.ts';
import { authnFailure } from './types.ts';
import type { AuthnFailure } from './types.ts';

// RFC 8725 §3.10 / §2.8: keys come only from the provider's key set, never from the token.
const KEY_BEARING_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const;
const MAX_KID_LENGTH = 256;
// RFC 8693 §4.2 / RFC 9068 §2.2.3: only scope claims are space-separated strings.

export interface UnverifiedJwt {
  header: ProtectedHeaderParameters;
  payload: JWTPayload;
}

export interface VerifiedJwt {
  ok: true;
  claims: Readonly<Record<string, unknown>>;
  keyId: string | undefined;
}

/** Splits and decodes without trusting anything; refuses headers no access token may carry. */
export function decodeUntrusted(token: string): UnverifiedJwt | AuthnFailure {
  let header: ProtectedHeaderParameters;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch {
    return authnFailure('authn.malformed', 'The bearer token is not a well-formed JWT.');
  }
  if (typeof header.alg !== 'string') return authnFailure('authn.malformed', 'The token header has no algorithm.');
  if (header.alg === 'none' || header.alg.startsWith('HS')) {
    return authnFailure('authn.unsupported_algorithm', 'Unsigned and symmetric (HMAC) tokens are never accepted.');
  }
  for (const name of KEY_BEARING_HEADERS) {
    if (Object.hasOwn(header, name)) return authnFailure('authn.bad_token_header', 'Tokens carrying their own key or key location (jwk, jku, x5u, x5c) are refused.');
  }
  if (Object.hasOwn(header, 'crit')) return authnFailure('authn.bad_token_header', 'Tokens with critical header parameters (crit) are refused.');
  if (header.kid !== undefined && (typeof header.kid !== 'string' || header.kid === '' || header.kid.length > MAX_KID_LENGTH)) {
    return authnFailure('authn.bad_token_header', 'The token key id (kid) is not a short string.');
  }
  if (typeof payload.iss !== 'string') return authnFailure('authn.bad_claims', 'The token has no issuer (iss).');
  return { header, payload };
}

export function checkHeaderForProvider(provider: CompiledProvider, jwt: UnverifiedJwt, idTokenAllowed: boolean): AuthnFailure | undefined {
  if (!provider.algorithms.includes(jwt.header.alg as string)) {
    return authnFailure('authn.unsupported_algorithm', `Tokens from this provider must be signed with ${provider.algorithms.join(', ')}.`);
  }
  if (provider.tokenType !== '' && !idTokenAllowed) {
    const typ = typeof jwt.header.typ === 'string' ? normalizeTyp(jwt.header.typ) : '';
    if (typ !== provider.tokenType) {
      return provider.shape.isIdToken(jwt.payload) || unmarkedIdToken(provider, typ, jwt.payload)
        ? authnFailure('authn.id_token_rejected', 'An ID token is not an access token.')
        : authnFailure('authn.wrong_token_type', `Access tokens from this provider have typ ${provider.tokenType}.`);
    }
  }
  return undefined;
}

/**
 * OIDC Core §2 gives ID tokens no typ (or JWT) and no client_id, which RFC 9068 §2.2 requires in
 * every at+jwt access token: from such a provider, that shape is an ID token even without a nonce.
 */
function unmarkedIdToken(provider: CompiledProvider, typ: string, payload: JWTPayload): boolean {
  return provider.tokenType === 'at+jwt' && (typ === '' || typ === 'jwt') && payload.client_id === undefined;
}

/** Signature, issuer, times (with the provider's skew) and claim types. Audience is checked by the caller. */
export async function verifySignedJwt(token: string, jwt: UnverifiedJwt, provider: CompiledProvider, nowMs: number): Promise<VerifiedJwt | AuthnFailure> {
  const getKey = provider.keys.getKey();
  if (getKey === undefined) return authnFailure('authn.provider_unavailable', "The identity provider's keys are not available yet.");
  const kid = jwt.header.kid;
  if (kid !== undefined && !provider.keys.hasKid(kid)) {
    const refreshed = await provider.keys.refreshForUnknownKid(kid);
    if (refreshed !== 'refreshed') return authnFailure('authn.unknown_key', "The token's signing key is not in the provider's key set.");
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, provider.keys.getKey() ?? getKey, {
      issuer: jwt.payload.iss as string,
      algorithms: [...provider.algorithms],
      clockTolerance: provider.clockSkewSeconds,
      currentDate: new Date(nowMs),
      requiredClaims: ['exp'],
    }));
  } catch (err) {
    return joseFailure(err);
  }
  const claims = payload as Readonly<Record<string, unknown>>;
  const bad = claimTypeProblem(claims);
  if (bad !== undefined) return authnFailure('authn.bad_claims', bad);
  const nowS = nowMs / 1000;
  const exp = claims.exp as number;
  const iat = typeof claims.iat === 'number' ? claims.iat : undefined;
  if (iat !== undefined && iat > nowS + provider.clockSkewSeconds) return authnFailure('authn.token_not_yet_valid', 'The token was issued in the future (iat).');
  if (exp - (iat ?? nowS) > provider.maxTokenLifetimeSeconds) {
    return authnFailure('authn.token_lifetime', `Tokens may live at most ${provider.maxTokenLifetimeSeconds} seconds.`);
  }
  if (!tenantAgrees(provider, claims)) return authnFailure('authn.bad_claims', "The token's tenant (tid) does not match its issuer.");
  return { ok: true, claims, keyId: kid };
}

/** RFC 8725 §3.9 / RFC 9068 §2.2: claims of the wrong type are refused, not coerced. */
export function claimTypeProblem(c: Readonly<Record<string, unknown>>): string | undefined {
  if (c.sub !== undefined && (typeof c.sub !== 'string' || c.sub === '')) return 'The sub claim must be a non-empty string.';
  if (c.aud !== undefined && typeof c.aud !== 'string' && !(Array.isArray(c.aud) && c.aud.every((a) => typeof a === 'string'))) {
    return 'The aud claim must be a string or a list of strings.';
  }
  for (const name of ['client_id', 'azp', 'cid', 'scope', 'jti'] as const) {
    if (c[name] !== undefined && typeof c[name] !== 'string') return `The ${name} claim must be a string.`;
  }
  for (const name of ['exp', 'iat', 'nbf'] as const) {
    if (c[name] !== undefined && (typeof c[name] !== 'number' || !Number.isFinite(c[name]))) return `The ${name} claim must be a number.`;
  }
  if (c.act !== undefined) {
    const act: unknown = c.act;
    const sub = act !== null && typeof act === 'object' && !Array.isArray(act) ? (act as { sub?: unknown }).sub : undefined;
    if (typeof sub !== 'string' || sub === '') {
      return 'The act claim must be an object with a string sub.';
    }
  }
  return undefined;
}

/** The values of the preset's audience claim (aud, or client_id for Cognito). */
export function audienceValues(provider: CompiledProvider, claims: Readonly<Record<string, unknown>>): readonly string[] {
  const v = claims[provider.shape.audienceClaim];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v as string[];
  return [];
}

function joseFailure(err: unknown): AuthnFailure {
  if (err instanceof errors.JWTExpired) return authnFailure('authn.token_expired', 'The token has expired.');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return authnFailure('authn.token_not_yet_valid', 'The token is not valid yet (nbf).');
    if (err.claim === 'iat' && err.reason === 'check_failed') return authnFailure('authn.token_not_yet_valid', 'The token was issued in the future (iat).');
    if (err.claim === 'iss') return authnFailure('authn.unknown_issuer', 'The token issuer is not accepted.');
    return authnFailure('authn.bad_claims', `The token's ${safeClaimName(err.claim)} claim is missing or invalid.`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return authnFailure('authn.bad_signature', 'The token signature does not verify.');
  if (err instanceof errors.JWKSNoMatchingKey) return authnFailure('authn.unknown_key', "The token's signing key is not in the provider's key set.");
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return authnFailure('authn.unsupported_algorithm', 'The token signature algorithm is not accepted.');
  }
  // JWSInvalid, JWTInvalid (a payload that is not a JSON object), key type mismatches.
  return authnFailure('authn.malformed', 'The bearer token is not a well-formed signed JWT.');
}

function safeClaimName(claim: string): string {
  return ['exp', 'iat', 'nbf', 'iss', 'aud', 'sub', 'jti'].includes(claim) ? claim : 'registered';
}
