// What opaque-token introspectors share: the bounded answer cache, single flight per token digest,
// the claim checks an 'active' answer must pass, and the endpoint rule for plain http.
import type { Logger } from 'pino';
import type { IntrospectionResult, TokenIntrospector } from '../types.ts';

/** Longest an 'inactive' answer is reused: a token may just not have reached the provider's store yet. */
export const INACTIVE_TTL_SECONDS = 30;
export const DEFAULT_MAX_ENTRIES = 10_000;

export interface AnswerCacheOptions {
  maxCacheSeconds: number;
  maxEntries: number;
  now: () => number;
}

export interface AnswerCache {
  get(digest: string): IntrospectionResult | undefined;
  set(digest: string, answer: IntrospectionResult): void;
  readonly size: number;
  clear(): void;
}

interface Entry {
  answer: IntrospectionResult;
  expiresAt: number;
}

/** Until when an answer may be reused (ms), or undefined when it must not be cached. */
export function cacheUntil(answer: IntrospectionResult, maxCacheSeconds: number, now: number): number | undefined {
  if (maxCacheSeconds <= 0 || answer.kind === 'unavailable') return undefined;
  if (answer.kind === 'inactive') return now + Math.min(maxCacheSeconds, INACTIVE_TTL_SECONDS) * 1000;
  const bound = now + maxCacheSeconds * 1000;
  const exp = answer.claims.exp;
  const until = typeof exp === 'number' ? Math.min(exp * 1000, bound) : bound;
  return until > now ? until : undefined;
}

/** A least-recently-used map (a Map's insertion order, refreshed on every hit). */
export function createAnswerCache(opts: AnswerCacheOptions): AnswerCache {
  const entries = new Map<string, Entry>();
  return {
    get(digest) {
      const entry = entries.get(digest);
      if (entry === undefined) return undefined;
      entries.delete(digest);
      if (entry.expiresAt <= opts.now()) return undefined;
      entries.set(digest, entry);
      return entry.answer;
    },
    set(digest, answer) {
      if (opts.maxEntries <= 0) return;
      const expiresAt = cacheUntil(answer, opts.maxCacheSeconds, opts.now());
      if (expiresAt === undefined) return;
      entries.delete(digest);
      entries.set(digest, { answer, expiresAt });
      while (entries.size > opts.maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
    },
    get size() {
      return entries.size;
    },
    clear() {
      entries.clear();
    },
  };
}

const STRING_CLAIMS = ['iss', 'sub', 'client_id', 'username', 'token_type', 'scope', 'jti'] as const;
const NUMBER_CLAIMS = ['exp', 'iat', 'nbf'] as const;

/**
 * Why an answer that says active must still count as inactive, or undefined when it passes:
 * claims of the wrong type, another issuer, an exp already past or an nbf still ahead.
 */
export function activeClaimsProblem(claims: Readonly<Record<string, unknown>>, issuer: string, nowMs: number): string | undefined {
  for (const name of STRING_CLAIMS) {
    if (claims[name] !== undefined && typeof claims[name] !== 'string') return `claim ${name} is not a string`;
  }
  for (const name of NUMBER_CLAIMS) {
    const value = claims[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) return `claim ${name} is not a number`;
  }
  const aud = claims.aud;
  if (aud !== undefined && typeof aud !== 'string' && !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))) {
    return 'claim aud is not a string or a list of strings';
  }
  if (claims.iss !== undefined && claims.iss !== issuer) return 'answer names another issuer';
  const nowSeconds = nowMs / 1000;
  if (typeof claims.exp === 'number' && claims.exp <= nowSeconds) return 'token expired';
  if (typeof claims.nbf === 'number' && claims.nbf > nowSeconds) return 'token not yet valid';
  return undefined;
}

/** Plain http is for a provider on this machine (tests, a local IdP); anything else must be https. */
export function checkEndpoint(endpoint: string, what: string): { url: URL; insecure: boolean } {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`${what}: endpoint is not a URL`);
  }
  if (url.protocol === 'https:') return { url, insecure: false };
  if (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return { url, insecure: true };
  throw new Error(`${what}: endpoint ${url.origin} must use https (plain http only to 127.0.0.1, localhost or [::1])`);
}

/** What is safe to log about a failed request: never the token, never the client secret. */
export function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { errName: typeof err };
  const fields: Record<string, unknown> = { errName: err.name };
  const e = err as Error & { code?: unknown; status?: unknown; error?: unknown; cause?: unknown };
  if (typeof e.code === 'string') fields.errCode = e.code;
  if (typeof e.status === 'number') fields.status = e.status;
  if (typeof e.error === 'string') fields.oauthError = e.error;
  if (e.cause instanceof Error) fields.cause = e.cause.name;
  return fields;
}

/** Introspection requests in flight per provider: a flood of made-up opaque tokens cannot hammer the provider. */
export const DEFAULT_MAX_IN_FLIGHT = 64;

export interface CachedIntrospectorOptions {
  maxCacheSeconds: number;
  /** DEFAULT_MAX_ENTRIES when unset. */
  maxEntries?: number;
  /** DEFAULT_MAX_IN_FLIGHT when unset. */
  maxInFlight?: number;
  now: () => number;
  log: Logger;
  /** One request to the provider; must not throw. */
  ask(token: string): Promise<IntrospectionResult>;
  onClose?: () => void;
}

/** Wraps a provider request with the answer cache and single flight per digest. */
export function createCachedIntrospector(opts: CachedIntrospectorOptions): TokenIntrospector {
  const cache = createAnswerCache({ ...opts, maxEntries: opts.maxEntries ?? DEFAULT_MAX_ENTRIES });
  const maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const inFlight = new Map<string, Promise<IntrospectionResult>>();
  let closed = false;
  let refused = 0;

  async function askOnce(token: string): Promise<IntrospectionResult> {
    try {
      return await opts.ask(token);
    } catch (err) {
      opts.log.error({ errName: err instanceof Error ? err.name : typeof err }, 'introspection failed unexpectedly');
      return { kind: 'unavailable' };
    }
  }

  return {
    introspect(token, digest) {
      if (closed) return Promise.resolve({ kind: 'unavailable' });
      const cached = cache.get(digest);
      if (cached !== undefined) return Promise.resolve(cached);
      const pending = inFlight.get(digest);
      if (pending !== undefined) return pending;
      if (inFlight.size >= maxInFlight) {
        refused++;
        if (refused === 1 || refused % 1000 === 0) opts.log.warn({ refused, maxInFlight }, 'introspection requests at their limit: new opaque tokens are answered unavailable');
        return Promise.resolve({ kind: 'unavailable' });
      }
      const request = askOnce(token)
        .then((answer) => {
          if (!closed) cache.set(digest, answer);
          return answer;
        })
        .finally(() => inFlight.delete(digest));
      inFlight.set(digest, request);
      return request;
    },
    close() {
      closed = true;
      cache.clear();
      opts.onClose?.();
    },
  };
}
