// The two cookies of a browser login: the session cookie (a signed, opaque session id) and the
// short-lived login cookie that binds a login transaction to the browser that started it.
// Both carry `<id>.<HMAC-SHA-256(id)>`; the first secret signs, every secret verifies.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const LOGIN_COOKIE = 'cortex_login';
export const LOGIN_COOKIE_PATH = '/.cortex/';
export const LOGIN_TTL_SECONDS = 600;

export interface CookieSettings {
  name: string;
  domain?: string | undefined;
  secure: boolean;
}

/** 32 random bytes, base64url: a session id or a login transaction id. */
export function randomId(): string {
  return randomBytes(32).toString('base64url');
}

export interface CookieSigner {
  sign(id: string): string;
  /** The id inside a signed value, or undefined when no secret's signature matches. */
  verify(value: string): string | undefined;
}

export function createSigner(secrets: readonly string[]): CookieSigner {
  const mac = (secret: string, id: string) => createHmac('sha256', secret).update(id).digest();
  const [first] = secrets;
  if (first === undefined) throw new Error('sessions need at least one secret');
  return {
    sign: (id) => `${id}.${mac(first, id).toString('base64url')}`,
    verify(value) {
      const dot = value.lastIndexOf('.');
      if (dot <= 0 || value.length > 256) return undefined;
      const id = value.slice(0, dot);
      const given = Buffer.from(value.slice(dot + 1), 'base64url');
      let match = false;
      // Every secret is tried, matched or not, so timing does not tell which one signed.
      for (const secret of secrets) {
        const expected = mac(secret, id);
        if (given.length === expected.length && timingSafeEqual(given, expected)) match = true;
      }
      return match ? id : undefined;
    },
  };
}

/** The value of cookie `name` in a Cookie header (the first one when repeated), undefined when absent. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function hasCookie(header: string | undefined, name: string): boolean {
  return readCookie(header, name) !== undefined;
}

/** A Cookie header without the named cookies; undefined when nothing is left. */
export function withoutCookies(header: string, names: ReadonlySet<string>): string | undefined {
  const kept = header
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p !== '' && !names.has(p.slice(0, p.indexOf('=') === -1 ? p.length : p.indexOf('=')).trim()));
  return kept.length === 0 ? undefined : kept.join('; ');
}

interface CookieAttributes {
  path: string;
  maxAge: number;
  secure: boolean;
  domain?: string | undefined;
}

export function serializeCookie(name: string, value: string, a: CookieAttributes): string {
  return [
    `${name}=${value}`,
    `Path=${a.path}`,
    `Max-Age=${a.maxAge}`,
    ...(a.domain === undefined ? [] : [`Domain=${a.domain}`]),
    'HttpOnly',
    'SameSite=Lax',
    ...(a.secure ? ['Secure'] : []),
  ].join('; ');
}

export function sessionCookie(c: CookieSettings, value: string, maxAge: number): string {
  return serializeCookie(c.name, value, { path: '/', maxAge, secure: c.secure, domain: c.domain });
}

export function clearSessionCookie(c: CookieSettings): string {
  return serializeCookie(c.name, '', { path: '/', maxAge: 0, secure: c.secure, domain: c.domain });
}

export function loginCookie(secure: boolean, value: string): string {
  return serializeCookie(LOGIN_COOKIE, value, { path: LOGIN_COOKIE_PATH, maxAge: LOGIN_TTL_SECONDS, secure });
}

export function clearLoginCookie(secure: boolean): string {
  return serializeCookie(LOGIN_COOKIE, '', { path: LOGIN_COOKIE_PATH, maxAge: 0, secure });
}

const MAX_RETURN_LENGTH = 2048;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * A same-origin relative path to return to after login, or '/'. Refused: anything not starting
 * with exactly one '/', backslashes (browsers read '/\evil.com' as '//evil.com'), control
 * characters, and paths under /.cortex/ (a login that returns to login loops).
 */
export function safeReturnPath(raw: string | null | undefined): string {
  if (raw === null || raw === undefined || raw.length === 0 || raw.length > MAX_RETURN_LENGTH) return '/';
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\') || CONTROL.test(raw)) return '/';
  const path = raw.split(/[?#]/, 1)[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(path).toLowerCase();
  } catch {
    return '/';
  }
  if (decoded.startsWith('//') || decoded.includes('\\') || decoded === '/.cortex' || decoded.startsWith('/.cortex/')) return '/';
  const base = 'http://cortex.invalid';
  const url = new URL(raw, base);
  return url.origin === base ? url.pathname + url.search + url.hash : '/';
}
