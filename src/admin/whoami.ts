// Who is calling the admin API: the bearer token, a cookie opened with it (POST /api/session), or a
// person logged in with admin.login. GET /api/whoami tells the dashboard which, and audit records
// the logged-in person as the caller.
import type { IncomingMessage } from 'node:http';
import type { AuditWho } from '../audit/event.ts';
import { adminCallerWho } from '../audit/system-events.ts';
import type { LoginPerson } from './admin-session.ts';
import { cookieAllowed } from './admin-session.ts';
import { jsonReply } from './replies.ts';
import type { AdminReply } from './replies.ts';

export type AdminCaller = { readonly via: 'token' } | { readonly via: 'session' } | { readonly via: 'login'; readonly person: LoginPerson };

export interface CallerChecks {
  /** The Authorization header holds the admin token. */
  token(authorization: string | undefined): boolean;
  /** The Cookie header holds a cookie opened with the admin token. */
  tokenSession(cookie: string | undefined): boolean;
  /** The person of a valid login cookie. */
  loginPerson(cookie: string | undefined): LoginPerson | undefined;
}

/**
 * The caller of an admin request, or undefined for a stranger. A cookie counts only for a request
 * the admin listener's own pages could have made (cookieAllowed: same origin for changes).
 */
export function adminCallerOf(req: IncomingMessage, checks: CallerChecks): AdminCaller | undefined {
  if (checks.token(req.headers.authorization)) return { via: 'token' };
  const cookie = req.headers.cookie;
  if (cookie === undefined || !cookieAllowed(req)) return undefined;
  if (checks.tokenSession(cookie)) return { via: 'session' };
  const person = checks.loginPerson(cookie);
  return person === undefined ? undefined : { via: 'login', person };
}

/** The audit `who` of a caller: the logged-in person, else the admin token's holder; null for a stranger. */
export function callerWho(caller: AdminCaller | undefined): AuditWho | null {
  if (caller === undefined) return null;
  return adminCallerWho(caller.via === 'login' ? caller.person : undefined);
}

/** GET /api/whoami: `{ via, who }`; who is null for the token (it names no person). */
export function whoamiEndpoint(caller: AdminCaller | undefined): AdminReply {
  if (caller === undefined || caller.via !== 'login') return jsonReply(200, { via: caller?.via ?? 'token', who: null });
  const p = caller.person;
  return jsonReply(200, { via: 'login', who: { subject: p.subject, username: p.username ?? null, name: p.name ?? null, roles: p.roles } });
}
