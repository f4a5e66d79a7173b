// The admin credential as a browser carries it: POST /api/session { token } answers 204 with an
// HttpOnly, SameSite=Strict cookie `cortex_admin`, which /api/ then accepts like the bearer token
// (EventSource cannot send headers). The cookie is not the token: it is an expiry and an HMAC of it
// keyed by the token, so it lapses, and changing the token invalidates every cookie.
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
