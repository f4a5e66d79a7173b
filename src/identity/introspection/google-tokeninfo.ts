// Google's access tokens are opaque and Google offers no RFC 7662 endpoint: its token-info endpoint
// (https://oauth2.googleapis.com/tokeninfo) answers 200 with the token's details, 400 when invalid.
import { Agent, request } from 'undici';
import type { IntrospectionResult, TokenIntrospector } from '../types.ts';
import { activeClaimsProblem, checkEndpoint, createCachedIntrospector, describeError } from './answer-cache.ts';
import type { IntrospectorOptions } from './rfc7662.ts';

export const GOOGLE_ISSUER = 'https://accounts.google.com';
export const GOOGLE_TOKENINFO_ENDPOINT = 'https://oauth2.googleapis.com/tokeninfo';

export type GoogleTokenInfoOptions = Omit<IntrospectorOptions, 'clientId' | 'clientSecret'> & { endpoint: string };

const MAX_BODY_BYTES = 64 * 1024;

/** Google writes numbers and booleans as strings ("exp": "1712345678", "email_verified": "true"). */
function toClaims(body: Record<string, unknown>): Record<string, unknown> {
  const claims: Record<string, unknown> = { ...body };
  for (const name of ['exp', 'expires_in', 'iat']) {
    const value = claims[name];
    if (typeof value === 'string' && /^\d{1,15}$/.test(value)) claims[name] = Number(value);
  }
  if (claims.email_verified === 'true') claims.email_verified = true;
  if (claims.email_verified === 'false') claims.email_verified = false;
  claims.iss = GOOGLE_ISSUER;
  return claims;
}

export function createGoogleTokenInfoIntrospector(opts: GoogleTokenInfoOptions): TokenIntrospector {
  const { url } = checkEndpoint(opts.endpoint, `google token-info for ${opts.issuer}`);
  const log = opts.log.child({ issuer: opts.issuer, introspection: 'google-tokeninfo' });
  const now = opts.now ?? Date.now;
  const timeout = Math.max(opts.timeoutMs, 1);
  const dispatcher = new Agent({ connect: { timeout }, headersTimeout: timeout, bodyTimeout: timeout });

  async function ask(token: string): Promise<IntrospectionResult> {
    let status: number;
    let text: string;
    try {
      // POST with the token as a bearer credential, as Google's own client library does, keeps the
      // token out of URLs (and so out of proxy and access logs).
      const res = await request(url, {
        method: 'POST',
        dispatcher,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: '',
        signal: AbortSignal.timeout(timeout),
      });
      status = res.statusCode;
      if (status !== 200 && status !== 400) {
        await res.body.dump();
        log.warn({ status }, 'google token-info unavailable');
        return { kind: 'unavailable' };
      }
      text = await res.body.text();
    } catch (err) {
      log.warn(describeError(err), 'google token-info unavailable');
      return { kind: 'unavailable' };
    }
    if (status === 400) return { kind: 'inactive' };

    let body: unknown;
    try {
      body = text.length <= MAX_BODY_BYTES ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      log.warn('google token-info answered 200 without a JSON object');
      return { kind: 'unavailable' };
    }
    const claims = toClaims(body as Record<string, unknown>);
    const problem = typeof claims.exp === 'number' ? activeClaimsProblem(claims, GOOGLE_ISSUER, now()) : 'claim exp is not a number';
    if (problem !== undefined) {
      log.warn({ problem }, 'google token-info answer refused');
      return { kind: 'inactive' };
    }
    return { kind: 'active', claims: Object.freeze(claims) };
  }

  return createCachedIntrospector({
    maxCacheSeconds: opts.maxCacheSeconds,
    maxEntries: opts.maxEntries,
    maxInFlight: opts.maxInFlight,
    now,
    log,
    ask,
    onClose: () => void dispatcher.close().catch(() => undefined),
  });
}
