// A session cookie → the session's record → its identity: signature, store lookup, idle and
// absolute timeouts, and token refresh (one per session in this process; compareAndSet across
// gateways so that only one of them rotates the refresh token).
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { refreshTokenGrant } from 'openid-client';
import type { Logger } from 'pino';
import type { SessionsConfig } from '../../config/schema.ts';
import type { Identity } from '../../gateway/types.ts';
import type { SessionRecord, SessionStore } from '../../stores/session-store.ts';
import { identityFromClaims } from '../claims-identity.ts';
import type { CompiledProvider } from '../provider.ts';
import { authnFailure } from '../types.ts';
import type { AuthnFailure } from '../types.ts';
import { readCookie } from './cookies.ts';
import type { CookieSigner } from './cookies.ts';
import { deriveClaims, isProviderRefusal, sessionTokens } from './oidc.ts';
import type { OidcClient } from './oidc.ts';

const TOUCH_INTERVAL_MS = 60_000;
const MAX_CACHED_IDENTITIES = 10_000;
const WAIT_FOR_OTHER_REFRESH_MS = 100;
const WAIT_FOR_OTHER_REFRESH_TRIES = 20;
const WRITE_RETRIES = 3;
// A session refreshed this recently is not refreshed again while its token is valid, even when
// refreshBeforeSeconds is longer than the provider's token lifetime (a refresh on every request).
const MIN_REFRESH_INTERVAL_MS = 30_000;

export type SessionLookup = { ok: true; identity: Identity; record: SessionRecord } | AuthnFailure;

type Refreshed = { kind: 'ok'; record: SessionRecord } | { kind: 'ended' } | { kind: 'unavailable' };

export interface SessionsDeps {
  cfg: SessionsConfig;
  store: SessionStore;
  signer: CookieSigner;
  client: OidcClient;
  provider: () => CompiledProvider | undefined;
  log: Logger;
  now: () => number;
}

export interface Sessions {
  /** The verified session id in the request's Cookie header, if any. */
  idFrom(cookieHeader: string | undefined): string | undefined;
  lookup(cookieHeader: string | undefined): Promise<SessionLookup>;
  /** Seconds the store keeps a record written now. */
  ttlSeconds(record: SessionRecord): number;
  forget(id: string): void;
}

const invalid = (why: string): AuthnFailure => authnFailure('authn.session_invalid', why);
const unavailable = (): AuthnFailure => authnFailure('authn.provider_unavailable', 'The session store or the identity provider cannot be reached.');

export function createSessions(d: SessionsDeps): Sessions {
  const inflight = new Map<string, Promise<Refreshed>>();
  const refreshedAt = new Map<string, number>();
  const identities = new Map<string, { provider: CompiledProvider; accessToken: string; identity: Identity }>();
  const ttlSeconds = (r: SessionRecord) => Math.max(1, Math.ceil((r.expiresAt - d.now()) / 1000));
  const stillValid = (r: SessionRecord) => r.tokens.accessTokenExpiresAt > d.now();
  const idFrom = (header: string | undefined) => {
    const value = readCookie(header, d.cfg.cookie.name);
    return value === undefined ? undefined : d.signer.verify(value);
  };

  const end = (id: string): Refreshed => {
    identities.delete(id);
    refreshedAt.delete(id);
    d.store.delete(id).catch((err: unknown) => d.log.warn({ err: (err as Error).message }, 'sessions: could not delete an ended session'));
    return { kind: 'ended' };
  };

  /** Another gateway claimed the refresh: use its result, or the current token while it is still good. */
  const awaitOther = async (mine: SessionRecord): Promise<Refreshed> => {
    for (let i = 0; i < WAIT_FOR_OTHER_REFRESH_TRIES; i++) {
      const now = await d.store.get(mine.id);
      if (now === undefined) return { kind: 'ended' };
      if (now.tokens.accessToken !== mine.tokens.accessToken || stillValid(now)) return { kind: 'ok', record: now };
      await new Promise((r) => setTimeout(r, WAIT_FOR_OTHER_REFRESH_MS));
    }
    return { kind: 'unavailable' };
  };

  /** Writes the refreshed tokens over whatever else changed meanwhile (lastSeenAt), never over another refresh. */
  const writeRefreshed = async (claimed: SessionRecord, fresh: Omit<SessionRecord, 'version'>): Promise<Refreshed> => {
    let base = claimed;
    for (let i = 0; i < WRITE_RETRIES; i++) {
      const next: SessionRecord = { ...fresh, lastSeenAt: Math.max(base.lastSeenAt, fresh.lastSeenAt), version: base.version + 1 };
      if (await d.store.compareAndSet(next, base.version, ttlSeconds(next))) return { kind: 'ok', record: next };
      const reread = await d.store.get(claimed.id);
      if (reread === undefined) return { kind: 'ended' };
      if (reread.tokens.accessToken !== claimed.tokens.accessToken) return { kind: 'ok', record: reread };
      base = reread;
    }
    return { kind: 'unavailable' };
  };

  const refresh = async (record: SessionRecord): Promise<Refreshed> => {
    const config = d.client.config();
    const provider = d.provider();
    const refreshToken = record.tokens.refreshToken;
    if (config === undefined || provider === undefined) return stillValid(record) ? { kind: 'ok', record } : { kind: 'unavailable' };
    if (refreshToken === undefined) return stillValid(record) ? { kind: 'ok', record } : end(record.id);
    // Claim the refresh first: a gateway whose claim loses does not spend the refresh token.
    const claimed: SessionRecord = { ...record, version: record.version + 1 };
    if (!(await d.store.compareAndSet(claimed, record.version, ttlSeconds(record)))) return awaitOther(record);
    let res;
    try {
      res = await refreshTokenGrant(config, refreshToken, d.cfg.resource === undefined ? undefined : { resource: d.cfg.resource });
    } catch (err) {
      if (isProviderRefusal(err)) {
        d.log.info({ session: record.id.slice(0, 8) }, 'sessions: refresh refused by the provider; session ended');
        return end(record.id);
      }
      d.log.warn({ err: (err as Error).message }, 'sessions: refresh failed (provider unreachable)');
      return stillValid(record) ? { kind: 'ok', record: claimed } : { kind: 'unavailable' };
    }
    const now = d.now();
    if (refreshedAt.size >= MAX_CACHED_IDENTITIES) refreshedAt.clear();
    refreshedAt.set(record.id, now);
    const tokens = sessionTokens(res, now, record.tokens);
    const derived = await deriveClaims(provider, tokens.accessToken, res.claims() ?? undefined, now);
    if (derived === undefined || derived.claims.sub !== record.subject) return end(record.id);
    const { version: _v, ...rest } = claimed;
    return writeRefreshed(claimed, { ...rest, tokens, claims: derived.claims });
  };

  const refreshOnce = (record: SessionRecord): Promise<Refreshed> => {
    let p = inflight.get(record.id);
    if (p === undefined) {
      p = refresh(record)
        .catch((err: unknown): Refreshed => {
          d.log.warn({ err: (err as Error).message }, 'sessions: refresh could not complete');
          return { kind: 'unavailable' };
        })
        .finally(() => inflight.delete(record.id));
      inflight.set(record.id, p);
    }
    return p;
  };

  const touch = (record: SessionRecord): void => {
    if (d.now() - record.lastSeenAt < TOUCH_INTERVAL_MS) return;
    const next = { ...record, lastSeenAt: d.now(), version: record.version + 1 };
    d.store.compareAndSet(next, record.version, ttlSeconds(next)).catch((err: unknown) => d.log.warn({ err: (err as Error).message }, 'sessions: could not record activity'));
  };

  const identityOf = (record: SessionRecord, provider: CompiledProvider): Identity | AuthnFailure => {
    const cached = identities.get(record.id);
    if (cached !== undefined && cached.provider === provider && cached.accessToken === record.tokens.accessToken) return cached.identity;
    const identity = identityFromClaims(provider, record.claims, 'session', keyIdOf(record));
    if ('ok' in identity) return identity;
    if (identities.size >= MAX_CACHED_IDENTITIES) identities.clear();
    identities.set(record.id, { provider, accessToken: record.tokens.accessToken, identity });
    return identity;
  };

  return {
    idFrom,
    ttlSeconds,
    forget(id) {
      identities.delete(id);
      refreshedAt.delete(id);
    },
    async lookup(header) {
      const id = idFrom(header);
      if (id === undefined) return invalid('The session cookie is not one this gateway signed.');
      let record: SessionRecord | undefined;
      try {
        record = await d.store.get(id);
      } catch {
        return unavailable();
      }
      const now = d.now();
      if (record === undefined || record.expiresAt <= now) return invalid('The session has ended; log in again.');
      if (now - record.lastSeenAt > d.cfg.idleTimeoutSeconds * 1000) {
        end(id);
        return invalid('The session was idle too long; log in again.');
      }
      const recent = now - (refreshedAt.get(id) ?? -Infinity) < MIN_REFRESH_INTERVAL_MS && stillValid(record);
      if (!recent && record.tokens.accessTokenExpiresAt - now <= d.cfg.refreshBeforeSeconds * 1000) {
        const r = await refreshOnce(record);
        if (r.kind === 'ended') return invalid('The session could not be renewed; log in again.');
        if (r.kind === 'unavailable') return unavailable();
        record = r.record;
      }
      const provider = d.provider();
      if (provider === undefined) return unavailable();
      touch(record);
      const identity = identityOf(record, provider);
      return 'ok' in identity ? identity : { ok: true, identity, record };
    },
  };
}

/** The access token's key id when the session's claims are that token's (a JWT with the same exp and jti). */
function keyIdOf(record: SessionRecord): string | undefined {
  try {
    const payload = decodeJwt(record.tokens.accessToken);
    if (payload.exp !== record.claims.exp || payload.jti !== record.claims.jti) return undefined;
    return decodeProtectedHeader(record.tokens.accessToken).kid;
  } catch {
    return undefined;
  }
}
