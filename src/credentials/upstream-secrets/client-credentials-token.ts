// An OAuth2 client-credentials token from an upstream's own IdP, sent as `Authorization: Bearer`.
// Fetched once at start, cached, and refreshed in the background `refreshBeforeSeconds` before it
// expires, so requests rarely wait. One fetch at a time (single flight). A failed refresh keeps the
// cached token while it is still valid and retries with backoff; with no valid token, a request
// waits for a fetch already running, or starts one (at most one a second), and gets nothing when
// it fails: the filter then answers 503 and forwards nothing.
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { SecretSource, UpstreamCredential } from './types.ts';

export interface ClientCredentialsOptions {
  upstream: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: SecretSource;
  scope?: string | undefined;
  audience?: string | undefined;
  refreshBeforeSeconds: number;
  log: Logger;
  now?: () => number;
  /** Seconds allowed for a token request. */
  timeoutSeconds?: number;
}

interface CachedToken {
  readonly headerValue: string;
  readonly expiresAt: number;
  /** After this, the token is not sent: it could expire on its way to the upstream. */
  readonly usableUntil: number;
}

/** Lifetime assumed when the IdP's answer has no expires_in. */
const DEFAULT_LIFETIME_S = 300;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;
/** A request finding no token starts a fetch only if the last one failed longer ago than this. */
const ON_DEMAND_INTERVAL_MS = 1_000;
/** RFC 6750 b64token, the only shape a bearer token can take in a header. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export class ClientCredentialsToken implements UpstreamCredential {
  readonly header = 'authorization';
  private readonly o: ClientCredentialsOptions;
  private readonly now: () => number;
  private readonly label: string;
  private token: CachedToken | undefined;
  private inflight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastFailureAt = Number.NEGATIVE_INFINITY;
  private closed = false;
  /** Token endpoint requests made (for status and tests). */
  fetches = 0;

  constructor(o: ClientCredentialsOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.label = `credential for upstream ${o.upstream}`;
    const url = new URL(o.tokenUrl);
    if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
      o.log.warn({ upstream: o.upstream, tokenUrl: o.tokenUrl }, `${this.label}: the token endpoint is plain http; the client secret and tokens cross the network unencrypted`);
    }
    // A rotated client secret does not invalidate the cached token; it matters at the next fetch,
    // or now if fetching has been failing (perhaps because the old secret was refused).
    o.clientSecret.onChange(() => {
      if (this.failures > 0) void this.refresh('client secret changed');
    });
    void this.refresh('start');
  }

  valueNow(): string | undefined {
    const t = this.token;
    return t !== undefined && this.now() < t.usableUntil ? t.headerValue : undefined;
  }

  async value(): Promise<string | undefined> {
    const ready = this.valueNow();
    if (ready !== undefined || this.closed) return ready;
    if (this.inflight === undefined && this.now() - this.lastFailureAt < ON_DEMAND_INTERVAL_MS) return undefined;
    await this.refresh('no valid token');
    return this.valueNow();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private refresh(reason: string): Promise<void> {
    this.inflight ??= this.fetch(reason).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetch(reason: string): Promise<void> {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.fetches++;
    const started = this.now();
    try {
      const response = await client.clientCredentialsGrant(this.configuration(), this.parameters());
      if (this.closed) return;
      const access = response.access_token;
      if (!B64TOKEN.test(access)) throw new Error('the token endpoint returned an access token a header cannot carry');
      const lifetimeMs = Math.max(1, response.expiresIn() ?? DEFAULT_LIFETIME_S) * 1000;
      const expiresAt = started + lifetimeMs;
      this.token = { headerValue: `Bearer ${access}`, expiresAt, usableUntil: expiresAt - Math.min(5_000, lifetimeMs / 10) };
      this.failures = 0;
      // refreshBeforeSeconds at or beyond the lifetime would refetch at every request: wait at least a tenth of it.
      const refreshInMs = Math.max(lifetimeMs - this.o.refreshBeforeSeconds * 1000, lifetimeMs / 10);
      this.schedule(refreshInMs);
      this.o.log.info({ upstream: this.o.upstream, expiresInSeconds: Math.round(lifetimeMs / 1000), reason }, `${this.label} refreshed (token fetched)`);
    } catch (err) {
      if (this.closed) return;
      this.failures++;
      this.lastFailureAt = this.now();
      const retryMs = Math.min(RETRY_MIN_MS * 2 ** Math.min(this.failures - 1, 10), RETRY_MAX_MS);
      this.schedule(retryMs);
      const cached = this.valueNow() !== undefined;
      this.o.log.warn(
        { upstream: this.o.upstream, reason, failures: this.failures, retryInSeconds: retryMs / 1000, ...describe(err) },
        cached ? `${this.label}: token refresh failed; the cached token is used until it expires` : `${this.label}: token fetch failed; requests to the upstream get 503 until one succeeds`,
      );
    }
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh('refresh due'), ms);
    this.timer.unref();
  }

  /** Built per fetch: the client secret may have changed since the last one. */
  private configuration(): client.Configuration {
    const url = new URL(this.o.tokenUrl);
    const config = new client.Configuration(
      { issuer: url.origin, token_endpoint: this.o.tokenUrl },
      this.o.clientId,
      undefined,
      client.ClientSecretBasic(this.o.clientSecret.current() ?? ''),
    );
    config.timeout = this.o.timeoutSeconds ?? 10;
    if (url.protocol === 'http:') client.allowInsecureRequests(config);
    return config;
  }

  private parameters(): Record<string, string> {
    const p: Record<string, string> = {};
    if (this.o.scope !== undefined) p.scope = this.o.scope;
    if (this.o.audience !== undefined) p.audience = this.o.audience;
    return p;
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** What a log line may say about a failure: the OAuth error code and status, never a response body. */
function describe(err: unknown): Record<string, unknown> {
  if (err instanceof client.ResponseBodyError) return { status: err.status, error: err.error };
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown } };
  return { code: typeof e.code === 'string' ? e.code : e.cause?.code, message: typeof e.message === 'string' ? e.message : 'unknown error' };
}
