// Turns what jose verified into a Caller (checking the claims jose does not know about), and
// jose's errors into the kit's failure codes.
import type { JWTPayload } from 'jose';
import type { AssertionClaims, Caller, CallerKind, FailureCode, VerifyResult } from './types.ts';

const KINDS: ReadonlySet<string> = new Set<CallerKind>(['user', 'service', 'agent', 'anonymous']);
const MAX_ROLES = 256;

export function fail(code: FailureCode, message: string): VerifyResult {
  return { ok: false, code, message };
}

function isRoleList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= MAX_ROLES && value.every((r) => typeof r === 'string');
}

function isActor(value: unknown): value is { sub: string; roles: string[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const act = value as Record<string, unknown>;
  return typeof act.sub === 'string' && act.sub !== '' && isRoleList(act.roles);
}

/** The claims jose left unchecked: their types, the single audience, and the lifetime. */
export function toCaller(payload: JWTPayload, maxLifetimeSeconds: number): VerifyResult {
  const { sub, jti, iat, exp, aud, iss } = payload;
  const claims = payload as Record<string, unknown>;
  if (typeof aud !== 'string') return fail('assertion.wrong_audience', 'aud must name this service alone');
  if (typeof sub !== 'string' || sub === '') return fail('assertion.malformed', 'sub must be a non-empty string');
  if (typeof jti !== 'string' || jti === '') return fail('assertion.malformed', 'jti must be a non-empty string');
  if (typeof iat !== 'number' || typeof exp !== 'number' || typeof iss !== 'string') {
    return fail('assertion.malformed', 'iss, iat and exp are required');
  }
  if (exp - iat > maxLifetimeSeconds) {
    return fail('assertion.lifetime_too_long', `exp - iat is ${exp - iat} s, more than ${maxLifetimeSeconds} s`);
  }
  if (typeof claims.kind !== 'string' || !KINDS.has(claims.kind)) {
    return fail('assertion.malformed', 'kind must be one of user, service, agent, anonymous');
  }
  if (typeof claims.provider !== 'string') return fail('assertion.malformed', 'provider must be a string');
  if (!isRoleList(claims.roles)) return fail('assertion.malformed', 'roles must be an array of strings');
  if (claims.act !== undefined && !isActor(claims.act)) {
    return fail('assertion.malformed', 'act must be { sub, roles }');
  }
  const verified = payload as unknown as AssertionClaims;
  const caller: Caller = {
    subject: verified.sub,
    kind: verified.kind,
    roles: verified.roles,
    provider: verified.provider,
    ...(verified.act === undefined ? {} : { actor: { subject: verified.act.sub, roles: verified.act.roles } }),
    claims: verified,
  };
  return { ok: true, caller };
}

interface JoseLikeError {
  code?: unknown;
  claim?: unknown;
  reason?: unknown;
  message?: unknown;
}

/** Maps an error thrown by jwtVerify (or the JWKS fetch under it) to a failure. */
export function fromJoseError(err: unknown): VerifyResult {
  const e = (typeof err === 'object' && err !== null ? err : {}) as JoseLikeError;
  const message = typeof e.message === 'string' ? e.message : String(err);
  switch (e.code) {
    case 'ERR_JWT_EXPIRED':
      return fail('assertion.expired', message);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.reason !== 'check_failed') return fail('assertion.malformed', message);
      if (e.claim === 'iss') return fail('assertion.wrong_issuer', message);
      if (e.claim === 'aud') return fail('assertion.wrong_audience', message);
      if (e.claim === 'iat' || e.claim === 'nbf') return fail('assertion.not_yet_valid', message);
      return fail('assertion.invalid', message);
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return fail('assertion.unknown_key', message);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return fail('assertion.invalid', message);
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return fail('assertion.malformed', message);
    default:
      // ERR_JWKS_TIMEOUT, ERR_JWKS_INVALID, ERR_JOSE_GENERIC (a non-200 answer) or a network error.
      return fail('assertion.jwks_unavailable', `the JWKS could not be fetched: ${message}`);
  }
}
