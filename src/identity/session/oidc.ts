// The OpenID client behind browser logins (openid-client): discovery beside the data plane,
// retried until it works, and the verified claims a session's identity is derived from.
import * as oidc from 'openid-client';
import type { Logger } from 'pino';
import type { SessionsConfig } from '../../config/schema.ts';
import type { SessionTokens } from '../../stores/session-store.ts';
import { decodeUntrusted, verifySignedJwt } from '../jwt-verify.ts';
import type { CompiledProvider } from '../provider.ts';

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;
const TIMEOUT_SECONDS = 5;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface OidcClient {
  /** The discovered configuration; undefined until discovery has worked once. */
  config(): oidc.Configuration | undefined;
  close(): void;
}

export interface OidcClientDeps {
  log: Logger;
  provider: () => CompiledProvider | undefined;
}

function isLoopbackHttp(issuer: string): boolean {
  const url = new URL(issuer);
  return url.protocol === 'http:' && LOOPBACK.has(url.hostname);
}

export function createOidcClient(cfg: Pick<SessionsConfig, 'provider' | 'clientId' | 'clientSecret'>, deps: OidcClientDeps): OidcClient {
  let current: oidc.Configuration | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let delay = RETRY_MIN_MS;

  const attempt = async (): Promise<void> => {
    timer = undefined;
    let issuer: string | undefined;
    try {
      issuer = deps.provider()?.issuer;
      if (issuer === undefined) throw new Error(`identity provider '${cfg.provider}' is not compiled yet`);
      const auth = cfg.clientSecret === undefined ? oidc.None() : oidc.ClientSecretBasic(cfg.clientSecret);
      const insecure = isLoopbackHttp(issuer);
      const config = await oidc.discovery(new URL(issuer), cfg.clientId, undefined, auth, {
        timeout: TIMEOUT_SECONDS,
        ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
      });
      config.timeout = TIMEOUT_SECONDS;
      if (closed) return;
      current = config;
      deps.log.info({ issuer }, 'sessions: provider metadata discovered');
    } catch (err) {
      if (closed) return;
      deps.log.warn({ issuer, err: (err as Error).message, retryInMs: delay }, 'sessions: discovery failed; retrying');
      timer = setTimeout(() => void attempt(), delay);
      timer.unref();
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  };
  // The gateway compiles its first snapshot after building this: look the provider up once it has.
  timer = setTimeout(() => void attempt(), 0);
  timer.unref();

  return {
    config: () => current,
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

export type TokenResponse = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

export interface DerivedClaims {
  claims: Record<string, unknown>;
  /** The signing key id when the claims are the access token's. */
  keyId: string | undefined;
}

/**
 * The claims a session's identity comes from: the access token's when it is a JWT from this
 * provider that verifies with its keys, else the ID token's (already verified by openid-client).
 */
export async function deriveClaims(provider: CompiledProvider, accessToken: string, idClaims: Record<string, unknown> | undefined, nowMs: number): Promise<DerivedClaims | undefined> {
  if (accessToken.split('.').length === 3) {
    const jwt = decodeUntrusted(accessToken);
    if (!('ok' in jwt) && provider.issuerMatches(jwt.payload.iss as string)) {
      const verified = await verifySignedJwt(accessToken, jwt, provider, nowMs);
      if (verified.ok) return { claims: { ...verified.claims }, keyId: verified.keyId };
    }
  }
  return idClaims === undefined ? undefined : { claims: idClaims, keyId: undefined };
}

/** Tokens as a session keeps them; a refresh that returns no new refresh or ID token keeps the old ones. */
export function sessionTokens(res: TokenResponse, nowMs: number, previous?: SessionTokens): SessionTokens {
  const expiresIn = res.expiresIn() ?? 300;
  const refreshToken = res.refresh_token ?? previous?.refreshToken;
  const idToken = res.id_token ?? previous?.idToken;
  return {
    accessToken: res.access_token,
    ...(refreshToken === undefined ? {} : { refreshToken }),
    ...(idToken === undefined ? {} : { idToken }),
    accessTokenExpiresAt: nowMs + expiresIn * 1000,
  };
}

/** An OAuth error answer from the provider (invalid_grant and the like), as opposed to a network failure. */
export function isProviderRefusal(err: unknown): boolean {
  return err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError;
}
