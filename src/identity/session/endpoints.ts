// The gateway's own login endpoints: /.cortex/login starts the authorization code flow (PKCE,
// state, nonce kept server-side, bound to the browser by a signed cookie), /.cortex/callback ends
// it with a new session, /.cortex/logout ends the session, /.cortex/me shows who is logged in.
import {
  authorizationCodeGrant,
  buildAuthorizationUrl,
  buildEndSessionUrl,
  calculatePKCECodeChallenge,
  randomNonce,
  randomPKCECodeVerifier,
  randomState,
} from 'openid-client';
import type { Logger } from 'pino';
import type { SessionsConfig } from '../../config/schema.ts';
import type { FilterResult, HttpFilter, RequestContext } from '../../gateway/types.ts';
import type { SessionRecord, SessionStore } from '../../stores/session-store.ts';
import type { InternalEndpoint } from '../authenticator.ts';
import type { CompiledProvider } from '../provider.ts';
import {
  LOGIN_COOKIE,
  LOGIN_TTL_SECONDS,
  clearLoginCookie,
  clearSessionCookie,
  loginCookie,
  randomId,
  readCookie,
  safeReturnPath,
  sessionCookie,
} from './cookies.ts';
import type { CookieSigner } from './cookies.ts';
import { deriveClaims } from './oidc.ts';
import type { OidcClient } from './oidc.ts';
import type { Sessions } from './sessions.ts';

export interface EndpointDeps {
  cfg: SessionsConfig;
  store: SessionStore;
  signer: CookieSigner;
  client: OidcClient;
  sessions: Sessions;
  provider: () => CompiledProvider | undefined;
  origins: ReadonlySet<string>;
  log: Logger;
  now: () => number;
}

function write(ctx: RequestContext, status: number, headers: Record<string, string | string[]>, body?: string): FilterResult {
  ctx.res.writeHead(status, { ...headers, 'cache-control': 'no-store', [ctx.requestIdHeader]: ctx.id });
  ctx.res.end(body);
  return { action: 'handled' };
}

const unavailable: FilterResult = {
  action: 'reply',
  reply: { code: 'authn.provider_unavailable', detail: 'The identity provider or the session store cannot be reached yet.', headers: { 'retry-after': '5', 'cache-control': 'no-store' } },
};

function loginFailed(secure: boolean, detail: string): FilterResult {
  return { action: 'reply', reply: { code: 'authn.login_failed', detail, headers: { 'set-cookie': clearLoginCookie(secure), 'cache-control': 'no-store' } } };
}

export function createEndpoints(d: EndpointDeps): InternalEndpoint[] {
  const secure = d.cfg.cookie.secure;
  const endpoint = (id: string, name: string, methods: readonly ('GET' | 'POST')[], onRequest: HttpFilter['onRequest']): InternalEndpoint => ({
    id,
    path: `/.cortex/${name}`,
    methods,
    filter: { name: `session-${name}`, onRequest },
  });

  const login = async (ctx: RequestContext): Promise<FilterResult> => {
    const config = d.client.config();
    if (config === undefined) return unavailable;
    const returnTo = safeReturnPath(new URLSearchParams(ctx.request.query).get('return'));
    const codeVerifier = randomPKCECodeVerifier();
    const state = randomState();
    const nonce = randomNonce();
    const txId = randomId();
    try {
      await d.store.putTransaction(txId, { state, nonce, codeVerifier, returnTo, createdAt: d.now() }, LOGIN_TTL_SECONDS);
    } catch {
      return unavailable;
    }
    const url = buildAuthorizationUrl(config, {
      redirect_uri: d.cfg.redirectUri,
      scope: d.cfg.scopes.join(' '),
      code_challenge: await calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(d.cfg.resource === undefined ? {} : { resource: d.cfg.resource }),
    });
    return write(ctx, 302, { location: url.href, 'set-cookie': loginCookie(secure, d.signer.sign(txId)) });
  };

  const callback = async (ctx: RequestContext): Promise<FilterResult> => {
    const cookieHeader = ctx.req.headers.cookie;
    const signed = readCookie(cookieHeader, LOGIN_COOKIE);
    const txId = signed === undefined ? undefined : d.signer.verify(signed);
    if (txId === undefined) return loginFailed(secure, 'No login was started in this browser.');
    let tx;
    try {
      tx = await d.store.takeTransaction(txId);
    } catch {
      return unavailable;
    }
    if (tx === undefined) return loginFailed(secure, 'This login has expired or was already completed.');
    const query = new URLSearchParams(ctx.request.query);
    if (query.get('state') !== tx.state) return loginFailed(secure, 'This login answer belongs to another login.');
    const config = d.client.config();
    const provider = d.provider();
    if (config === undefined || provider === undefined) return unavailable;
    // The URL the provider sent the browser back to, rebuilt from config (never from Host).
    const currentUrl = new URL(d.cfg.redirectUri);
    currentUrl.search = ctx.request.query;
    let res;
    try {
      res = await authorizationCodeGrant(config, currentUrl, { pkceCodeVerifier: tx.codeVerifier, expectedState: tx.state, expectedNonce: tx.nonce, idTokenExpected: true });
    } catch (err) {
      d.log.info({ err: (err as Error).message }, 'sessions: login refused');
      return loginFailed(secure, 'The identity provider did not confirm this login.');
    }
    const now = d.now();
    const idClaims = res.claims();
    const derived = await deriveClaims(provider, res.access_token, idClaims === undefined ? undefined : { ...idClaims }, now);
    const subject = derived?.claims.sub;
    if (derived === undefined || typeof subject !== 'string' || subject === '') return loginFailed(secure, 'The tokens from the identity provider name nobody.');
    const expiresIn = res.expiresIn() ?? 300;
    const record: SessionRecord = {
      id: randomId(),
      subject,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + d.cfg.absoluteTimeoutSeconds * 1000,
      tokens: {
        accessToken: res.access_token,
        ...(res.refresh_token === undefined ? {} : { refreshToken: res.refresh_token }),
        ...(res.id_token === undefined ? {} : { idToken: res.id_token }),
        accessTokenExpiresAt: now + expiresIn * 1000,
      },
      claims: derived.claims,
      version: 1,
    };
    // Whatever session this browser had before is dropped: the new one gets a new id (no fixation).
    const previous = d.sessions.idFrom(cookieHeader);
    try {
      if (previous !== undefined) {
        d.sessions.forget(previous);
        await d.store.delete(previous);
      }
      await d.store.set(record, d.cfg.absoluteTimeoutSeconds);
    } catch {
      return unavailable;
    }
    return write(ctx, 302, {
      location: tx.returnTo,
      'set-cookie': [sessionCookie(d.cfg.cookie, d.signer.sign(record.id), d.cfg.absoluteTimeoutSeconds), clearLoginCookie(secure)],
    });
  };

  const logout = async (ctx: RequestContext): Promise<FilterResult> => {
    ctx.req.resume();
    if (!fromThisSite(ctx, d.origins)) {
      return { action: 'reply', reply: { code: 'authn.csrf_rejected', detail: 'Logging out must be asked for by this site (Origin or Sec-Fetch-Site).' } };
    }
    const id = d.sessions.idFrom(ctx.req.headers.cookie);
    let idToken: string | undefined;
    if (id !== undefined) {
      d.sessions.forget(id);
      try {
        idToken = (await d.store.get(id))?.tokens.idToken;
        await d.store.delete(id);
      } catch {
        return unavailable;
      }
    }
    const config = d.client.config();
    let location = '/';
    if (config?.serverMetadata().end_session_endpoint !== undefined) {
      location = buildEndSessionUrl(config, {
        ...(idToken === undefined ? {} : { id_token_hint: idToken }),
        ...(d.cfg.postLogoutRedirectUri === undefined ? {} : { post_logout_redirect_uri: d.cfg.postLogoutRedirectUri }),
      }).href;
    }
    return write(ctx, 303, { location, 'set-cookie': clearSessionCookie(d.cfg.cookie) });
  };

  const me = async (ctx: RequestContext): Promise<FilterResult> => {
    const found = await d.sessions.lookup(ctx.req.headers.cookie);
    if (!found.ok) return { action: 'reply', reply: { code: found.code, detail: found.description, headers: { 'cache-control': 'no-store' } } };
    const { identity, record } = found;
    const body = JSON.stringify({
      subject: identity.subject,
      kind: identity.kind,
      roles: identity.roles,
      provider: identity.provider,
      expiresAt: new Date(record.expiresAt).toISOString(),
    });
    return write(ctx, 200, { 'content-type': 'application/json' }, body);
  };

  return [
    endpoint('cortex.login', 'login', ['GET'], login),
    endpoint('cortex.callback', 'callback', ['GET'], callback),
    endpoint('cortex.logout', 'logout', ['POST'], logout),
    endpoint('cortex.me', 'me', ['GET'], me),
  ];
}

/** The same test as the authn filter's for unsafe session requests: Origin, else Sec-Fetch-Site. */
function fromThisSite(ctx: RequestContext, origins: ReadonlySet<string>): boolean {
  const origin = ctx.req.headers.origin;
  if (typeof origin === 'string') return origins.has(origin.toLowerCase());
  const site = ctx.req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin' || site === 'none';
  return true;
}
