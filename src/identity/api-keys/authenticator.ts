// Checking a presented API key, per request: parse, look up by keyId, compare the HMAC of the
// secret in constant time, then revoked / expired. Only a key whose secret matches learns
// whether it was revoked or expired; every other failure is the same authn.api_key_invalid.
import type { Logger } from 'pino';
import type { Identity, RequestContext } from '../../gateway/types.ts';
import type { Authenticator } from '../authenticator.ts';
import { fingerprint } from '../claims-identity.ts';
import { authnFailure } from '../types.ts';
import type { AuthnResult } from '../types.ts';
import { KEY_PREFIX, parseKey, secretMatches } from './keys.ts';
import type { ApiKeyStore, ParsedKey, StoredApiKey } from './keys.ts';

export const PROVIDER = 'api-keys';
export const ISSUER = 'cortex';
const CACHE_MAX = 10_000;

const INVALID = authnFailure('authn.api_key_invalid', 'The API key is not valid.');
const REVOKED = authnFailure('authn.api_key_revoked', 'The API key has been revoked.');
const EXPIRED = authnFailure('authn.api_key_expired', 'The API key has expired.');
const UNAVAILABLE = authnFailure('authn.provider_unavailable', 'API keys cannot be checked right now; try again shortly.');

export interface ApiKeyAuthOptions {
  store: ApiKeyStore;
  hmacSecret: string;
  /** Lower-case header name. */
  header: string;
  log: Logger;
  now: () => number;
  /** How long a looked-up record is reused (0 = every request reads the store). */
  cacheTtlMs: number;
  /** How often last-used times are written (each key's at most once a minute). */
  usageFlushMs: number;
}

export interface ApiKeyAuthenticator extends Authenticator {
  readonly method: 'api_key';
  readonly usage: UsageRecorder;
}

type Lookup = StoredApiKey | undefined;

export function createApiKeyAuthenticator(o: ApiKeyAuthOptions): ApiKeyAuthenticator {
  const cache = new Map<string, { record: Lookup; until: number }>();
  const inflight = new Map<string, Promise<Lookup>>();
  // Bumped on every change notice, so a lookup that started before a revocation is not cached after it.
  let epoch = 0;
  o.store.onChange((keyId) => {
    epoch++;
    if (keyId === undefined) cache.clear();
    else cache.delete(keyId);
  });
  const usage = createUsageRecorder({ store: o.store, log: o.log, now: o.now, flushMs: o.usageFlushMs });

  function lookup(keyId: string): Lookup | Promise<Lookup> {
    const caching = o.cacheTtlMs > 0 && o.store.ready();
    if (caching) {
      const hit = cache.get(keyId);
      if (hit !== undefined && hit.until > o.now()) return hit.record;
      const pending = inflight.get(keyId);
      if (pending !== undefined) return pending;
    }
    const found = o.store.find(keyId);
    if (!(found instanceof Promise) || !caching) return found;
    const started = epoch;
    const p = found.then(
      (record) => {
        inflight.delete(keyId);
        if (epoch === started) {
          if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
          cache.set(keyId, { record, until: o.now() + o.cacheTtlMs });
        }
        return record;
      },
      (err: unknown) => {
        inflight.delete(keyId);
        throw err;
      },
    );
    inflight.set(keyId, p);
    return p;
  }

  function decide(ctx: RequestContext, parsed: ParsedKey, record: Lookup, fromAuthorization: boolean): AuthnResult {
    if (record === undefined || !secretMatches(o.hmacSecret, parsed.secret, record.secretHash)) return INVALID;
    const now = o.now();
    if (record.revokedAt !== undefined) return REVOKED;
    if (record.expiresAt !== undefined && now >= record.expiresAt) return EXPIRED;
    usage.used(record.keyId, record.lastUsedAt);
    // The upstream learns who called from the identity, never from the key itself.
    if (fromAuthorization) delete ctx.upstreamHeaders.authorization;
    else delete ctx.upstreamHeaders[o.header];
    return { ok: true, identity: toIdentity(record) };
  }

  function unavailable(err: unknown, keyId: string): AuthnResult {
    o.log.warn({ err: err instanceof Error ? err.message : String(err), keyId }, 'api keys: the store did not answer');
    return UNAVAILABLE;
  }

  return {
    method: 'api_key',
    usage,
    present(ctx) {
      return ctx.req.headers[o.header] !== undefined || bearerKey(ctx.req.headers.authorization) !== undefined;
    },
    authenticate(ctx) {
      const own = ctx.req.headers[o.header];
      const fromAuthorization = own === undefined;
      const value = fromAuthorization ? bearerKey(ctx.req.headers.authorization) : own;
      const parsed = typeof value === 'string' ? parseKey(value) : undefined;
      if (parsed === undefined) return INVALID;
      let found: Lookup | Promise<Lookup>;
      try {
        found = lookup(parsed.keyId);
      } catch (err) {
        return unavailable(err, parsed.keyId);
      }
      if (found instanceof Promise) {
        return found.then(
          (record) => decide(ctx, parsed, record, fromAuthorization),
          (err: unknown) => unavailable(err, parsed.keyId),
        );
      }
      return decide(ctx, parsed, found, fromAuthorization);
    },
  };
}

/** The key in `Authorization: Bearer ctx_...`, or undefined for any other Authorization. */
function bearerKey(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 7 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = header.slice(7).trim();
  return token.startsWith(KEY_PREFIX) ? token : undefined;
}

export function toIdentity(record: StoredApiKey): Identity {
  const identity: Identity = {
    subject: record.subject,
    issuer: ISSUER,
    provider: PROVIDER,
    kind: record.kind,
    method: 'api_key',
    roles: Object.freeze([...record.roles]),
    claims: Object.freeze({ keyId: record.keyId }),
    fingerprint: fingerprint(ISSUER, record.subject, '', 'api_key'),
    keyId: record.keyId,
    ...(record.expiresAt === undefined ? {} : { expiresAt: Math.floor(record.expiresAt / 1000) }),
  };
  return Object.freeze(identity);
}

// Last-used times, off the request path: a request only notes the time in memory; a timer writes
// the notes in one batch. Each key is written at most once a minute, and a failed write is logged
// and dropped, never failing a request.
export const USAGE_RESOLUTION_MS = 60_000;

export interface UsageRecorder {
  /** Notes a successful use; `lastUsedAt` is what the store last said. */
  used(keyId: string, lastUsedAt: number | undefined): void;
  /** Writes what is pending now. */
  flush(): Promise<void>;
  /** Stops the timer after a last flush. */
  close(): Promise<void>;
}

export function createUsageRecorder(o: { store: ApiKeyStore; log: Logger; now: () => number; flushMs: number }): UsageRecorder {
  const written = new Map<string, number>();
  let pending = new Map<string, number>();
  let flushing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function write(batch: Map<string, number>): Promise<void> {
    try {
      await o.store.touch(batch);
    } catch (err) {
      o.log.warn({ err: err instanceof Error ? err.message : String(err), keys: batch.size }, 'api keys: could not record when keys were last used');
    }
  }

  function flush(): Promise<void> {
    if (flushing !== undefined) return flushing.then(flush);
    if (pending.size === 0) return Promise.resolve();
    const batch = pending;
    pending = new Map();
    flushing = write(batch).finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  function schedule(): void {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, o.flushMs);
    timer.unref();
  }

  return {
    used(keyId, lastUsedAt) {
      const now = o.now();
      const last = Math.max(written.get(keyId) ?? 0, lastUsedAt ?? 0);
      if (now - last < USAGE_RESOLUTION_MS) return;
      if (written.size >= 100_000) written.clear();
      written.set(keyId, now);
      pending.set(keyId, now);
      schedule();
    },
    flush,
    async close() {
      clearTimeout(timer);
      timer = undefined;
      await flush();
    },
  };
}
