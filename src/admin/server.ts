// The admin listener: a separate node:http server for health, readiness, metrics and the
// token-protected admin API. It never shares a port or a code path with the data plane.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_TOKEN_WHO, adminCallDetails } from '../audit/system-events.ts';
import { createAdminLogin } from './admin-login.ts';
import { createAdminSessions, SESSION_PATH } from './admin-session.ts';
import { createTokenCheck } from './bearer-token.ts';
import { createDashboardAssets } from './dashboard-assets.ts';
import { findEndpoint, isApiPath, type AdminContext, type AdminDeps } from './endpoints.ts';
import { problemReply, writeReply, type AdminReply } from './replies.ts';
import { createTrafficStats } from './traffic-stats.ts';
import { adminCallerOf, callerWho, type AdminCaller, type CallerChecks } from './whoami.ts';

export type { AdminDeps } from './endpoints.ts';

export interface AdminServer {
  readonly server: http.Server;
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

const WWW_AUTHENTICATE = 'Bearer realm="cortex-admin"';
/** How long close() lets in-flight admin requests finish before cutting their connections. */
const CLOSE_GRACE_MS = 2_000;

/** The reason code of a problem reply (its body's `code`). */
function problemCode(reply: AdminReply | 'handled'): string {
  if (reply === 'handled') return 'error';
  try {
    const code = (JSON.parse(reply.body) as { code?: unknown }).code;
    return typeof code === 'string' ? code : 'error';
  } catch {
    return 'error';
  }
}

export function createAdminServer(deps: AdminDeps): AdminServer {
  const checkToken = createTokenCheck(deps.token);
  const sessions = createAdminSessions(deps.token);
  const dashboard = createDashboardAssets();
  /** Aborted by close(): open event streams end then, so the drain never waits on them. */
  const closing = new AbortController();
  const log = deps.log;
  const login = createAdminLogin({ config: () => deps.config(), provider: (name) => deps.identityProvider?.(name), audit: deps.audit, log });
  // Since the process started: every request event the audit log records, counted for GET /api/stats.
  const stats = deps.events === undefined ? undefined : createTrafficStats();
  const unsubscribeStats = deps.events?.((record) => stats?.observe(record.event));
  /** The bearer token, else (from the admin's own pages, for changes) the cookie of POST /api/session or of a login. */
  const callerChecks: CallerChecks = {
    token: (authorization) => checkToken(authorization) === 'ok',
    tokenSession: (cookie) => sessions.check(cookie) === 'ok',
    loginPerson: (cookie) => login.person(cookie),
  };

  function authorize(req: http.IncomingMessage, requestId: string, caller: AdminCaller | undefined): AdminReply | undefined {
    if (caller !== undefined) return undefined;
    const result = checkToken(req.headers.authorization);
    if (result === 'invalid') log.warn({ requestId, peer: req.socket.remoteAddress }, 'admin API: wrong bearer token');
    const detail =
      result === 'not_configured'
        ? 'No admin token is configured; set admin.token or CORTEX_ADMIN_TOKEN to enable /api/.'
        : 'A valid admin bearer token (or the cookie of POST /api/session or of an admin login at /auth/login) is required.';
    return problemReply('admin.unauthorized', requestId, detail, { 'www-authenticate': WWW_AUTHENTICATE });
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse, requestId: string, caller: AdminCaller | undefined): Promise<AdminReply | 'handled'> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';

    // POST /api/session is the one /api/ call that carries its credential in the body.
    if (isApiPath(path) && path !== SESSION_PATH) {
      const denied = authorize(req, requestId, caller);
      if (denied !== undefined) return denied;
    }
    const page = dashboard.answer(method, path, requestId);
    if (page !== undefined) return page;
    const endpoint = findEndpoint(path);
    if (endpoint === undefined) return problemReply('admin.not_found', requestId, `No admin endpoint at ${path}.`);
    if (!endpoint.methods.includes(method)) {
      return problemReply('admin.method_not_allowed', requestId, `${method} is not allowed on ${path}.`, {
        allow: endpoint.methods.join(', '),
      });
    }
    const ctx: AdminContext = {
      req,
      res,
      deps,
      requestId,
      query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
      closing: closing.signal,
      caller,
      login,
      stats,
      record: (action, details, status) => deps.audit?.(action, endpoint.auth ? callerWho(caller) : null, details, { status, code: 'ok' }),
    };
    return endpoint.handle(ctx);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    // Only POST /api/api-keys and /api/explain read a body (16 KB at most); after a request with a
    // body the connection closes rather than draining an arbitrary upload.
    if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0) {
      res.setHeader('connection', 'close');
    }
    let reply: AdminReply | 'handled' = 'handled';
    const caller = adminCallerOf(req, callerChecks);
    try {
      reply = await route(req, res, requestId, caller);
      if (reply !== 'handled') writeReply(res, reply);
      log.debug({ requestId, method: req.method, url: req.url, status: res.statusCode }, 'admin request');
    } catch (err) {
      log.error({ err, requestId, method: req.method, url: req.url }, 'admin endpoint failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      reply = problemReply('filter.error', requestId, 'The admin endpoint failed; see the gateway log.');
      writeReply(res, reply);
    } finally {
      auditCall(req, res, requestId, reply, caller);
    }
  }

  /** Every /api/ call, authorized or not: who (the logged-in person or the admin token's holder, else null), what, and the status answered. */
  function auditCall(req: http.IncomingMessage, res: http.ServerResponse, requestId: string, reply: AdminReply | 'handled', caller: AdminCaller | undefined): void {
    const url = req.url ?? '/';
    if (deps.audit === undefined || !isApiPath(url.split('?')[0] ?? '')) return;
    const opened = url.split('?')[0] === SESSION_PATH && res.statusCode === 204 && req.method === 'POST';
    const who = opened ? ADMIN_TOKEN_WHO : callerWho(caller);
    const code = res.statusCode < 400 ? 'ok' : problemCode(reply);
    deps.audit('admin_call', who, adminCallDetails(req.method ?? 'GET', url, res.statusCode, requestId), { status: res.statusCode, code });
  }

  const server = http.createServer({ requestTimeout: 15_000, headersTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch(() => res.destroy());
  });

  return {
    server,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          const address = server.address() as AddressInfo;
          resolve({ host: address.address, port: address.port });
        });
      });
    },
    close() {
      unsubscribeStats?.();
      login.close();
      return new Promise((resolve, reject) => {
        if (!server.listening) {
          resolve();
          return;
        }
        closing.abort();
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        force.unref();
        server.close((err) => {
          clearTimeout(force);
          if (err !== undefined) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
