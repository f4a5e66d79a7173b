// RFC 7662 token introspection through openid-client, for providers whose access tokens are opaque.
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { IntrospectionResult, TokenIntrospector } from '../types.ts';
import { activeClaimsProblem, checkEndpoint, createCachedIntrospector, describeError } from './answer-cache.ts';

export interface IntrospectorOptions {
  issuer: string;
  /** Resolved by the caller: the config's endpoint, or discovery's introspection_endpoint. */
  endpoint: string;
  clientId: string;
  clientSecret: string;
  maxCacheSeconds: number;
  timeoutMs: number;
  /** Bound on cached answers (default 10 000); the least recently used goes first. */
  maxEntries?: number;
  /** Requests to the endpoint at once (default 64); beyond it a new token is answered unavailable. */
  maxInFlight?: number;
  /** Clock in ms, injectable for tests. */
  now?: () => number;
  log: Logger;
}

export function createRfc7662Introspector(opts: IntrospectorOptions): TokenIntrospector {
  const { insecure } = checkEndpoint(opts.endpoint, `introspection for ${opts.issuer}`);
  const log = opts.log.child({ issuer: opts.issuer, introspection: 'rfc7662' });
  const now = opts.now ?? Date.now;

  const config = new client.Configuration(
    { issuer: opts.issuer, introspection_endpoint: opts.endpoint },
    opts.clientId,
    { client_secret: opts.clientSecret },
    client.ClientSecretBasic(opts.clientSecret),
  );
  // openid-client counts in seconds, and treats 0 as "no timeout".
  config.timeout = Math.max(opts.timeoutMs, 1) / 1000;
  if (insecure) client.allowInsecureRequests(config);

  async function ask(token: string): Promise<IntrospectionResult> {
    let answer: Awaited<ReturnType<typeof client.tokenIntrospection>>;
    try {
      answer = await client.tokenIntrospection(config, token);
    } catch (err) {
      log.warn(describeError(err), 'introspection endpoint unavailable');
      return { kind: 'unavailable' };
    }
    if (answer.active !== true) return { kind: 'inactive' };
    const { active: _active, ...claims } = answer as unknown as Record<string, unknown>;
    const problem = activeClaimsProblem(claims, opts.issuer, now());
    if (problem !== undefined) {
      log.warn({ problem, answeredIssuer: typeof claims.iss === 'string' ? claims.iss : undefined }, 'active introspection answer refused');
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
  });
}
