// createVerifier: fetches and caches the gateway's JWKS and verifies the `cortex-assertion`
// header an upstream receives (issuer, audience, lifetime, algorithm, key).
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type ProtectedHeaderParameters } from 'jose';
import { fail, fromJoseError, toCaller } from './claims.ts';
import type { Algorithm, HeaderSource, Verifier, VerifierOptions, VerifyResult } from './types.ts';

const DEFAULT_ALGORITHMS: readonly Algorithm[] = ['ES256', 'EdDSA', 'RS256'];
/** Header parameters that would let the token choose its own key or add rules we do not know. */
const FORBIDDEN_HEADER_PARAMS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'crit'] as const;
const MAX_TOKEN_LENGTH = 16 * 1024;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const KID = /^[\x21-\x7e]{1,256}$/;

/** The header's single value; a repeated header is refused, never resolved by picking one. */
export function readAssertionHeader(headers: HeaderSource, name: string): { value?: string; duplicate: boolean } {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  if (typeof headers.get === 'function') {
    const value = (headers as { get(name: string): string | null }).get(wanted);
    if (value !== null) values.push(value);
  } else {
    for (const [key, value] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
      if (key.toLowerCase() !== wanted || value === undefined) continue;
      if (typeof value === 'string') values.push(value);
      else values.push(...value);
    }
  }
  if (values.length === 0) return { duplicate: false };
  // Node and fetch join a repeated header with ", "; a compact JWS never holds a comma.
  if (values.length > 1 || values[0]!.includes(',')) return { duplicate: true };
  return { value: values[0]!.trim(), duplicate: false };
}

function checkHeader(token: string, algorithms: readonly Algorithm[]): VerifyResult | undefined {
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return fail('assertion.malformed', 'the JWS header is not base64url JSON');
  }
  for (const param of FORBIDDEN_HEADER_PARAMS) {
    if (param in header) return fail('assertion.malformed', `the JWS header must not carry ${param}`);
  }
  if (typeof header.alg !== 'string' || !(algorithms as readonly string[]).includes(header.alg)) {
    return fail('assertion.invalid', `alg ${String(header.alg)} is not accepted (${algorithms.join(', ')})`);
  }
  if (typeof header.kid !== 'string' || !KID.test(header.kid)) {
    return fail('assertion.malformed', 'the JWS header must name its key (kid)');
  }
  // Cortex signs its delegated tokens for agents with the same keys: the type keeps one from
  // passing for the other.
  if (header.typ !== ASSERTION_TYP) return fail('assertion.invalid', `typ must be ${ASSERTION_TYP}`);
  return undefined;
}

/** The JWS typ Cortex gives its assertions. */
export const ASSERTION_TYP = 'cortex-assertion+jwt';

export function createVerifier(options: VerifierOptions): Verifier {
  const issuer = options.issuer;
  const audience = options.audience;
  if (issuer === '' || audience === '') throw new TypeError('createVerifier needs an issuer and an audience');
  const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
  const clockTolerance = options.clockToleranceSeconds ?? 5;
  const maxLifetime = options.maxLifetimeSeconds ?? 300;
  const headerName = options.header ?? 'cortex-assertion';
  const jwksUri = new URL(options.jwksUri ?? `${issuer.replace(/\/+$/, '')}/.cortex/jwks.json`);
  const fetchOptions = options.fetch ?? {};
  const keys = createRemoteJWKSet(jwksUri, {
    timeoutDuration: fetchOptions.timeoutMs ?? 5000,
    cooldownDuration: fetchOptions.cooldownMs ?? 30_000,
    cacheMaxAge: fetchOptions.cacheMaxAgeMs ?? 600_000,
    ...(fetchOptions.headers === undefined ? {} : { headers: { ...fetchOptions.headers } }),
  });

  async function verify(token: string | undefined): Promise<VerifyResult> {
    if (token === undefined || token === '') return fail('assertion.missing', `no ${headerName} header`);
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
      return fail('assertion.malformed', 'the assertion is not a compact JWS');
    }
    const refused = checkHeader(token, algorithms);
    if (refused !== undefined) return refused;
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer,
        audience,
        algorithms: [...algorithms],
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        clockTolerance,
        // Also refuses an iat in the future (beyond the tolerance) or older than the longest lifetime.
        maxTokenAge: maxLifetime,
      });
      return toCaller(payload, maxLifetime);
    } catch (err) {
      return fromJoseError(err);
    }
  }

  return {
    verify,
    fromHeaders: (headers) => {
      const { value, duplicate } = readAssertionHeader(headers, headerName);
      if (duplicate) return Promise.resolve(fail('assertion.duplicate', `${headerName} appears more than once`));
      return verify(value);
    },
  };
}
