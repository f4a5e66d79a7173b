// The admin credential as a browser carries it: POST /api/session { token } answers 204 with an
// HttpOnly, SameSite=Strict cookie `cortex_admin`, which /api/ then accepts like the bearer token
// (EventSource cannot send headers). The cookie is not the token: it is an expiry and an HMAC of it
// keyed by the token, so it lapses, and changing the token invalidates every cookie. A login session
// (admin.login, admin-login.ts) uses the same cookie to carry who logged in, under its own key.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { jsonReply, problemReply } from './replies.ts';
import type { AdminReply } from './replies.ts';

export const SESSION_PATH = '/api/session';
export const SESSION_COOKIE = 'cortex_admin';
const SESSION_SECONDS = 12 * 3600;
const MAX_BODY_BYTES = 4_096;

export type SessionCheck = 'ok' | 'missing' | 'invalid';

function sign(token: string, exp: number): Buffer {
  return createHmac('sha256', token).update(`cortex-admin-session:${exp}`).digest();
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The cookie's value from a Cookie header, when there is exactly one. */
function cookieValue(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const found = header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${SESSION_COOKIE}=`));
  return found.length === 1 ? found[0]?.slice(SESSION_COOKIE.length + 1) : undefined;
}

/** Who a login session is: what the admin listener shows and audits (the role was checked at login). */
export interface LoginPerson {
  subject: string;
  issuer: string;
  provider: string;
  roles: string[];
  username?: string;
  name?: string;
}

/** Longest a field of a login cookie may be, so the cookie stays well under 4 KB. */
const MAX_FIELD = 256;
const MAX_ROLES = 32;

function signLogin(key: string, exp: number, payload: string): Buffer {
  return createHmac('sha256', key).update(`cortex-admin-login:${exp}.${payload}`).digest();
}

function loginPersonFrom(value: unknown): LoginPerson | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const o = value as Record<string, unknown>;
  const str = (v: unknown): v is string => typeof v === 'string' && v !== '' && v.length <= MAX_FIELD;
  if (!str(o.s) || !str(o.i) || !str(o.p) || !Array.isArray(o.r) || !o.r.every(str)) return undefined;
  const person: LoginPerson = { subject: o.s, issuer: o.i, provider: o.p, roles: [...o.r] };
  if (str(o.u)) person.username = o.u;
  if (str(o.n)) person.name = o.n;
  return person;
}

/**
 * Login sessions (admin.login): the same cookie name, carrying who under an HMAC keyed by
 * admin.login.sessionSecret (or a random per-process key): `v2.<exp>.<payload>.<mac>`.
 */
export interface LoginSessions {
  /** The Set-Cookie header value of a new login session. */
  issue(person: LoginPerson, now?: number): string;
  /** The person of a valid, unexpired login cookie; undefined otherwise (constant time over the MAC). */
  check(cookieHeader: string | undefined, now?: number): LoginPerson | undefined;
}

export function createLoginSessions(key: () => string): LoginSessions {
  const cut = (v: string) => v.slice(0, MAX_FIELD);
  return {
    issue(person, now = Date.now()) {
      const exp = Math.floor(now / 1000) + SESSION_SECONDS;
      const body = {
        s: person.subject,
        i: person.issuer,
        p: person.provider,
        r: person.roles.slice(0, MAX_ROLES).map(cut),
        ...(person.username === undefined ? {} : { u: cut(person.username) }),
        ...(person.name === undefined ? {} : { n: cut(person.name) }),
      };
      const payload = Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
      const value = `v2.${exp}.${payload}.${signLogin(key(), exp, payload).toString('base64url')}`;
      return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_SECONDS}`;
    },
    check(cookieHeader, now = Date.now()) {
      const value = cookieValue(cookieHeader);
      if (value === undefined || value.length > 3_500) return undefined;
      const m = /^v2\.(\d{1,12})\.([A-Za-z0-9_-]{1,3400})\.([A-Za-z0-9_-]{43})$/.exec(value);
      if (m === null) return undefined;
      const exp = Number(m[1]);
      const payload = m[2] as string;
      const mac = Buffer.from(m[3] as string, 'base64url');
      if (mac.length !== 32 || !timingSafeEqual(mac, signLogin(key(), exp, payload))) return undefined;
      if (exp * 1000 <= now) return undefined;
      try {
        return loginPersonFrom(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
      } catch {
        return undefined;
      }
    },
  };
}

export interface AdminSessions {
  /** The Set-Cookie header value of a new session. */
  issue(now?: number): string;
  /** Checks the Cookie header (constant time over the MAC). */
  check(cookieHeader: string | undefined, now?: number): SessionCheck;
  /** Whether a presented token is the admin token (constant time). */
  isToken(presented: string): boolean;
}

export function createAdminSessions(token: string | undefined): AdminSessions {
  const key = token === undefined || token === '' ? undefined : token;
  const expected = key === undefined ? undefined : sha256(key);
  return {
    issue(now = Date.now()) {
      if (key === undefined) throw new Error('no admin token');
      const exp = Math.floor(now / 1000) + SESSION_SECONDS;
      const value = `v1.${exp}.${sign(key, exp).toString('base64url')}`;
      return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_SECONDS}`;
    },
    check(cookieHeader, now = Date.now()) {
      const value = cookieValue(cookieHeader);
      if (key === undefined || value === undefined) return 'missing';
      const m = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
      if (m === null) return 'invalid';
      const exp = Number(m[1]);
      const mac = Buffer.from(m[2] as string, 'base64url');
      if (mac.length !== 32 || !timingSafeEqual(mac, sign(key, exp))) return 'invalid';
      return exp * 1000 > now ? 'ok' : 'invalid';
    },
    isToken(presented) {
      return expected !== undefined && timingSafeEqual(sha256(presented), expected);
    },
  };
}

/**
 * A cookie rides along on any request from the same site, other ports of this host included, so a
 * change made with it must come from the admin listener's own pages: Origin when sent, else
 * Sec-Fetch-Site. A client that sends neither is not a browser (and could not have the cookie by accident).
 */
export function cookieAllowed(req: IncomingMessage): boolean {
  const method = req.method ?? 'GET';
  if (method === 'GET' || method === 'HEAD') return true;
  const origin = req.headers.origin;
  if (typeof origin === 'string') return origin.toLowerCase() === `http://${(req.headers.host ?? '').toLowerCase()}`;
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin' || site === 'none';
  return true;
}

export interface SessionRequest {
  readonly req: IncomingMessage;
  readonly requestId: string;
  readonly deps: { readonly log: Logger };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** POST /api/session { token } → 204 + cookie; DELETE /api/session → 204, cookie cleared. */
export async function sessionEndpoint(ctx: SessionRequest, sessions: AdminSessions): Promise<AdminReply> {
  if (ctx.req.method === 'DELETE') {
    return { status: 204, contentType: 'text/plain', body: '', headers: { 'set-cookie': `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0` } };
  }
  if (!/^application\/json\s*(;|$)/i.test(ctx.req.headers['content-type'] ?? '')) {
    ctx.req.resume();
    return problemReply('request.malformed', ctx.requestId, 'Send { "token": "..." } as application/json.');
  }
  const body = await readJson(ctx.req);
  const token = typeof body === 'object' && body !== null ? (body as { token?: unknown }).token : undefined;
  if (typeof token !== 'string' || !sessions.isToken(token)) {
    if (typeof token === 'string') ctx.deps.log.warn({ requestId: ctx.requestId, peer: ctx.req.socket.remoteAddress }, 'admin API: wrong token for a session');
    return problemReply('admin.unauthorized', ctx.requestId, 'The admin token is required to open a session.');
  }
  const reply = jsonReply(204, {});
  return { ...reply, body: '', headers: { 'set-cookie': sessions.issue() } };
}
