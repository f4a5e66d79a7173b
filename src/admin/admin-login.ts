// Logging in to the admin listener with Cortex's own authentication (admin.login): GET /auth/login
// starts the authorization code flow with PKCE, state and nonce at the configured provider;
// GET /auth/callback ends it. A person whose roles (the provider's claim-to-role mapping, applied as
// the gateway applies it) include admin.login.role gets the `cortex_admin` cookie carrying who they
// are, then is sent to `/` (never elsewhere: there is no return-to parameter). Every success and
// refusal is an `admin_login` system event.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { authorizationCodeGrant, buildAuthorizationUrl, calculatePKCECodeChallenge, randomNonce, randomPKCECodeVerifier, randomState } from 'openid-client';
import type { Logger } from 'pino';
import type { AuditWho } from '../audit/event.ts';
import { usernameFrom } from '../audit/event.ts';
import { adminCallerWho } from '../audit/system-events.ts';
import type { SystemAudit } from '../audit/system-events.ts';
import type { Config } from '../config/schema.ts';
import type { ReasonCode } from '../gateway/reason-codes.ts';
import { identityFromClaims } from '../identity/claims-identity.ts';
import type { CompiledProvider } from '../identity/provider.ts';
import { readCookie } from '../identity/session/cookies.ts';
import { createOidcClient, deriveClaims } from '../identity/session/oidc.ts';
import type { OidcClient } from '../identity/session/oidc.ts';
import { createLoginSessions } from './admin-session.ts';
import type { LoginPerson, LoginSessions } from './admin-session.ts';
import { problemReply } from './replies.ts';
import type { AdminReply } from './replies.ts';

export const LOGIN_TX_COOKIE = 'cortex_admin_login';
const TX_SECONDS = 600;
/** How long /auth/login waits for the provider's discovery document before answering 503. */
const DISCOVERY_WAIT_MS = 3_000;

type LoginConfig = NonNullable<Config['admin']['login']>;

export interface AdminLoginDeps {
  config(): Config;
  /** The current snapshot's compiled identity provider of that name. */
  provider?(name: string): CompiledProvider | undefined;
  audit?: SystemAudit;
  log: Logger;
}

export interface LoginRequest {
  readonly req: IncomingMessage;
  readonly requestId: string;
  readonly query: URLSearchParams;
}

export interface AdminLogin {
  /** GET /auth/options: which credentials the dashboard may offer. */
  options(tokenConfigured: boolean): { token: boolean; login: { provider: string; url: string } | null };
  start(ctx: LoginRequest): Promise<AdminReply>;
  callback(ctx: LoginRequest): Promise<AdminReply>;
  /** The person of a valid login cookie while admin.login is configured and its role is still theirs. */
  person(cookieHeader: string | undefined, now?: number): LoginPerson | undefined;
  readonly sessions: LoginSessions;
  close(): void;
}

export interface LoginTransaction {
  state: string;
  nonce: string;
  verifier: string;
  exp: number;
}

/** The login transaction rides in its own cookie, sealed (AES-256-GCM): PKCE's verifier must not be readable. */
export function transactionSealer(key: () => string) {
  const aesKey = () => createHash('sha256').update(`cortex-admin-login-transaction:${key()}`).digest();
  return {
    seal(tx: LoginTransaction): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', aesKey(), iv);
      const data = Buffer.concat([cipher.update(JSON.stringify(tx), 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64url');
    },
    open(value: string | undefined, now: number): LoginTransaction | undefined {
      if (value === undefined || value.length > 1_024 || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
      const raw = Buffer.from(value, 'base64url');
      if (raw.length < 29) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', aesKey(), raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        const tx = JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')) as LoginTransaction;
        const fields = [tx.state, tx.nonce, tx.verifier];
        return fields.every((f) => typeof f === 'string' && f !== '') && typeof tx.exp === 'number' && tx.exp * 1000 > now ? tx : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** Path=/auth/ and SameSite=Lax: it must come back on the provider's (cross-site) redirect to the callback. */
function txCookie(value: string, maxAge: number): string {
  return `${LOGIN_TX_COOKIE}=${value}; Path=/auth/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}`;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);

/** A refusal: a small page for a browser, problem+json for anything else; the transaction cookie is cleared. */
function refusal(ctx: LoginRequest, code: ReasonCode, detail: string): AdminReply {
  const reply = problemReply(code, ctx.requestId, detail, { 'set-cookie': txCookie('', 0) });
  if (!(ctx.req.headers.accept ?? '').includes('text/html')) return reply;
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Cortex admin: not logged in</title></head><body><h1>Not logged in</h1><p>${escapeHtml(detail)}</p><p>Reason: <code>${code}</code> · request ${escapeHtml(ctx.requestId)}</p><p><a href="/">Back to the dashboard</a></p></body></html>`;
  return {
    status: reply.status,
    contentType: 'text/html; charset=utf-8',
    body,
    headers: { 'set-cookie': txCookie('', 0), 'content-security-policy': "default-src 'none'; frame-ancestors 'none'", 'x-frame-options': 'DENY' },
  };
}

export function createAdminLogin(deps: AdminLoginDeps): AdminLogin {
  const processKey = randomBytes(32).toString('base64url');
  const key = () => deps.config().admin.login?.sessionSecret ?? processKey;
  const sessions = createLoginSessions(key);
  const tx = transactionSealer(key);
  let current: { id: string; client: OidcClient } | undefined;

  /** One OpenID client per (provider, client) setting, made again when a reload changes them. */
  function oidcClient(cfg: LoginConfig): OidcClient {
    const id = JSON.stringify([cfg.provider, cfg.clientId, cfg.clientSecret ?? '', deps.provider?.(cfg.provider)?.issuer ?? '']);
    if (current?.id !== id) {
      current?.client.close();
      current = { id, client: createOidcClient(cfg, { log: deps.log.child({ component: 'admin-login' }), provider: () => deps.provider?.(cfg.provider) }) };
    }
    return current.client;
  }
  const initial = deps.config().admin.login;
  if (initial !== undefined) oidcClient(initial);

  function audit(who: AuditWho | null, details: Record<string, unknown>, status: number, code: string): void {
    deps.audit?.('admin_login', who, details, { status, code });
  }

  function refuse(ctx: LoginRequest, code: ReasonCode, detail: string, reason: string, who: AuditWho | null = null): AdminReply {
    const reply = refusal(ctx, code, detail);
    audit(who, { reason, requestId: ctx.requestId }, reply.status, code);
    deps.log.info({ requestId: ctx.requestId, reason, subject: who?.subject }, 'admin login refused');
    return reply;
  }

  async function discovered(cfg: LoginConfig) {
    const client = oidcClient(cfg);
    const deadline = Date.now() + DISCOVERY_WAIT_MS;
    while (client.config() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return client.config();
  }

  return {
    sessions,
    options(tokenConfigured) {
      const cfg = deps.config().admin.login;
      return { token: tokenConfigured, login: cfg === undefined ? null : { provider: cfg.provider, url: '/auth/login' } };
    },

    async start(ctx) {
      const cfg = deps.config().admin.login;
      if (cfg === undefined) return problemReply('admin.not_found', ctx.requestId, 'Admin login is not configured (admin.login).');
      const config = await discovered(cfg);
      if (config === undefined) return problemReply('admin.login_unavailable', ctx.requestId, 'The identity provider cannot be reached yet.', { 'retry-after': '5' });
      const verifier = randomPKCECodeVerifier();
      const state = randomState();
      const nonce = randomNonce();
      const url = buildAuthorizationUrl(config, {
        redirect_uri: cfg.redirectUri,
        scope: cfg.scopes.join(' '),
        code_challenge: await calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      const sealed = tx.seal({ state, nonce, verifier, exp: Math.floor(Date.now() / 1000) + TX_SECONDS });
      return { status: 302, contentType: 'text/plain; charset=utf-8', body: '', headers: { location: url.href, 'set-cookie': txCookie(sealed, TX_SECONDS) } };
    },

    async callback(ctx) {
      const cfg = deps.config().admin.login;
      if (cfg === undefined) return problemReply('admin.not_found', ctx.requestId, 'Admin login is not configured (admin.login).');
      const now = Date.now();
      const started = tx.open(readCookie(ctx.req.headers.cookie, LOGIN_TX_COOKIE), now);
      if (started === undefined) return refuse(ctx, 'admin.login_failed', 'No login was started in this browser, or it has expired.', 'no_transaction');
      if (ctx.query.get('state') !== started.state) return refuse(ctx, 'admin.login_failed', 'This login answer belongs to another login.', 'state_mismatch');
      const config = oidcClient(cfg).config();
      const provider = deps.provider?.(cfg.provider);
      if (config === undefined || provider === undefined) return problemReply('admin.login_unavailable', ctx.requestId, 'The identity provider cannot be reached yet.', { 'retry-after': '5' });
      // The URL the provider sent the browser back to, rebuilt from config (never from Host).
      const currentUrl = new URL(cfg.redirectUri);
      currentUrl.search = ctx.query.toString();
      let res;
      try {
        res = await authorizationCodeGrant(config, currentUrl, { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce, idTokenExpected: true });
      } catch (err) {
        deps.log.info({ requestId: ctx.requestId, err: (err as Error).message }, 'admin login: the provider did not confirm the code');
        return refuse(ctx, 'admin.login_failed', 'The identity provider did not confirm this login.', 'code_exchange');
      }
      const idClaims = res.claims();
      const derived = await deriveClaims(provider, res.access_token, idClaims === undefined ? undefined : { ...idClaims }, now);
      const identity = derived === undefined ? undefined : identityFromClaims(provider, derived.claims, 'session', derived.keyId);
      if (derived === undefined || identity === undefined || 'ok' in identity || identity.kind !== 'user') {
        return refuse(ctx, 'admin.login_failed', 'The tokens from the identity provider name no person.', 'no_person');
      }
      const username = usernameFrom(derived.claims, identity.subject) ?? (typeof idClaims?.preferred_username === 'string' ? idClaims.preferred_username : undefined);
      const name = typeof derived.claims.name === 'string' ? derived.claims.name : typeof idClaims?.name === 'string' ? idClaims.name : undefined;
      const person: LoginPerson = { subject: identity.subject, issuer: identity.issuer, provider: provider.name, roles: [...identity.roles] };
      if (username !== undefined) person.username = username;
      if (name !== undefined) person.name = name;
      const who = adminCallerWho(person);
      if (!identity.roles.includes(cfg.role)) {
        return refuse(ctx, 'admin.forbidden', `You are logged in as ${identity.subject}, who does not hold the role ${cfg.role} this admin listener requires.`, 'missing_role', who);
      }
      audit(who, { provider: provider.name, role: cfg.role, requestId: ctx.requestId }, 303, 'ok');
      deps.log.info({ requestId: ctx.requestId, subject: person.subject }, 'admin login');
      return { status: 303, contentType: 'text/plain; charset=utf-8', body: '', headers: { location: '/', 'set-cookie': [sessions.issue(person, now), txCookie('', 0)] } };
    },

    person(cookieHeader, now = Date.now()) {
      const cfg = deps.config().admin.login;
      if (cfg === undefined) return undefined;
      const person = sessions.check(cookieHeader, now);
      return person !== undefined && person.provider === cfg.provider && person.roles.includes(cfg.role) ? person : undefined;
    },

    close() {
      current?.client.close();
    },
  };
}
