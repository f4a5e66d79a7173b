// The admin listener's endpoint table. Adding an endpoint is one entry in ADMIN_ENDPOINTS:
// `open(...)` for unauthenticated probes and the login pages (/auth/*), `api(...)` for anything under
// /api/ (the admin token, a cookie opened with it, or an admin.login session).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { SystemAction } from '../audit/event.ts';
import type { SystemAudit } from '../audit/system-events.ts';
import type { Config } from '../config/schema.ts';
import type { RevocationStore } from '../credentials/types.ts';
import type { CompiledProvider } from '../identity/provider.ts';
import type { GatewayMetrics } from '../telemetry/metrics.ts';
import { apiKeyItem, apiKeysCollection } from './api-keys.ts';
import { createAdminSessions, sessionEndpoint } from './admin-session.ts';
import { auditEndpoint } from './audit-api.ts';
import { eventsEndpoint } from './events-stream.ts';
import type { AuditSubscribe } from './events-stream.ts';
import { agentItem, agentsCollection, keysEndpoint } from './keys-agents.ts';
import type { AgentGrantSource, KeyRingView } from './keys-agents.ts';
import type { AuditQuerySource } from './audit-api.ts';
import type { ApiKeyAdmin } from './api-keys.ts';
import type { AdminLogin } from './admin-login.ts';
import { explainEndpoint } from './explain.ts';
import type { ExplainWorldSource } from './explain.ts';
import { openApiDocument } from './openapi.ts';
import { peopleEndpoint } from './people.ts';
import { policiesView } from './policies-view.ts';
import { redactSecrets } from './redact.ts';
import { routesView } from './routes-view.ts';
import type { PolicyViewSource } from './routes-view.ts';
import { revocationsEndpoint } from './revocations.ts';
import { jsonReply, problemReply, type AdminReply } from './replies.ts';
import { statsEndpoint } from './traffic-stats.ts';
import type { TrafficStats } from './traffic-stats.ts';
import { whoamiEndpoint } from './whoami.ts';
import type { AdminCaller } from './whoami.ts';

export interface AdminDeps {
  metrics: GatewayMetrics;
  /** Resolved by the caller from admin.token or CORTEX_ADMIN_TOKEN; undefined locks /api/. */
  token: string | undefined;
  readiness(): { ready: boolean; components: Record<string, boolean> };
  config(): Config;
  status(): Record<string, unknown>;
  routes(): unknown[];
  /** The API key store and HMAC secret, when identity.apiKeys is configured. */
  apiKeys?(): ApiKeyAdmin | undefined;
  /** The current snapshot's config, stage, router, providers and policies, for POST /api/explain. */
  explainWorld?: ExplainWorldSource;
  /** The signing key ring's JWKS (the gateway's /.cortex/jwks.json), once the ring is open. */
  jwks?(): { body: string; cacheControl: string } | undefined;
  /** The delegated-token revocation store, when credentials.tokenExchange is configured (POST /api/revocations). */
  revocations?(): RevocationStore | undefined;
  /** The audit trail's query sink (the first sqlite or postgres sink), for GET /api/audit. */
  auditQuery?(): AuditQuerySource | undefined;
  /** Every audit record as it is chained (AuditLog.subscribe), for GET /api/events. */
  events?: AuditSubscribe;
  /** The signing key ring's keys (no private material) and the ring's clock, for GET /api/keys. */
  keys?(): KeyRingView;
  /** The delegation grants store, when credentials.tokenExchange is configured (/api/agents). */
  agentGrants?(): AgentGrantSource | undefined;
  /** Records admin calls and the changes they make (system audit events). */
  audit?: SystemAudit;
  /** The running snapshot, pending intent changes and the config source at any stage (GET /api/routes, /api/policies). */
  policyView?(): PolicyViewSource;
  /** The current snapshot's compiled identity provider of that name (admin.login checks roles with it). */
  identityProvider?(name: string): CompiledProvider | undefined;
  log: Logger;
}

export interface AdminContext {
  readonly req: IncomingMessage;
  /** For endpoints that stream (they write to it themselves and return 'handled'). */
  readonly res: ServerResponse;
  readonly deps: AdminDeps;
  readonly requestId: string;
  readonly query: URLSearchParams;
  /** Records a change this call made, as its caller (a system audit event). */
  readonly record?: (action: SystemAction, details: Record<string, unknown>, status: number) => void;
  /** Aborted when the admin listener closes (streams end then). */
  readonly closing?: AbortSignal;
  /** Who is calling (undefined: a stranger; /api/ has refused those already). */
  readonly caller?: AdminCaller | undefined;
  /** The admin login (admin.login) of this listener. */
  readonly login?: AdminLogin;
  /** Traffic counters fed by the audit subscription (GET /api/stats). */
  readonly stats?: TrafficStats | undefined;
}

export type AdminHandler = (ctx: AdminContext) => AdminReply | 'handled' | Promise<AdminReply | 'handled'>;

export interface AdminEndpoint {
  /** True when the endpoint needs the admin bearer token. */
  readonly auth: boolean;
  readonly methods: readonly string[];
  readonly handle: AdminHandler;
}

const READ_METHODS = ['GET', 'HEAD'] as const;

function open(handle: AdminHandler): AdminEndpoint {
  return { auth: false, methods: READ_METHODS, handle };
}

function api(handle: AdminHandler, methods: readonly string[] = READ_METHODS): AdminEndpoint {
  return { auth: true, methods, handle };
}

export const ADMIN_ENDPOINTS: Readonly<Record<string, AdminEndpoint>> = {
  '/healthz': open(() => jsonReply(200, { status: 'ok' })),
  '/readyz': open(({ deps }) => {
    const { ready, components } = deps.readiness();
    return jsonReply(ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready', ready, components });
  }),
  '/metrics': open(async ({ deps }) => {
    const { contentType, body } = await deps.metrics.render();
    return { status: 200, contentType, body };
  }),
  '/auth/options': open(({ deps, login }) => {
    const token = deps.token !== undefined && deps.token !== '';
    return jsonReply(200, login?.options(token) ?? { token, login: null });
  }),
  '/auth/login': open((ctx) => ctx.login?.start(ctx) ?? problemReply('admin.not_found', ctx.requestId, 'Admin login is not configured (admin.login).')),
  '/auth/callback': open((ctx) => ctx.login?.callback(ctx) ?? problemReply('admin.not_found', ctx.requestId, 'Admin login is not configured (admin.login).')),
  '/jwks.json': open(({ deps, requestId }) => {
    const doc = deps.jwks?.();
    if (doc === undefined) return problemReply('credentials.signing_unavailable', requestId, 'The signing keys are not loaded yet.');
    return { status: 200, contentType: 'application/jwk-set+json', body: doc.body, headers: { 'cache-control': doc.cacheControl } };
  }),
  '/api/status': api(({ deps }) => jsonReply(200, deps.status())),
  '/api/config': api(({ deps }) => jsonReply(200, redactSecrets(deps.config()))),
  '/api/routes': api(({ deps }) => {
    const source = deps.policyView?.();
    return jsonReply(200, { routes: source === undefined ? deps.routes() : routesView(source) });
  }),
  '/api/policies': api(({ deps, requestId }) => {
    const source = deps.policyView?.();
    if (source === undefined) return problemReply('admin.not_found', requestId, 'This gateway does not offer its policies.');
    return jsonReply(200, policiesView(source.snapshot));
  }),
  '/api/openapi.json': api(() => ({ status: 200, contentType: 'application/json; charset=utf-8', body: openApiDocument() })),
  '/api/api-keys': api((ctx) => apiKeysCollection(ctx, ctx.deps.apiKeys?.()), ['GET', 'HEAD', 'POST']),
  '/api/explain': api((ctx) => explainEndpoint(ctx, ctx.deps.explainWorld), ['POST']),
  '/api/revocations': api((ctx) => revocationsEndpoint(ctx, ctx.deps.revocations?.()), ['POST']),
  '/api/audit': api((ctx) => auditEndpoint(ctx, ctx.deps.auditQuery?.())),
  '/api/api-keys/*': api((ctx) => apiKeyItem(ctx, ctx.deps.apiKeys?.()), ['DELETE']),
  '/api/session': api((ctx) => sessionEndpoint(ctx, createAdminSessions(ctx.deps.token)), ['POST', 'DELETE']),
  '/api/events': api((ctx) => eventsEndpoint(ctx, ctx.deps.events)),
  '/api/keys': api((ctx) => keysEndpoint(ctx, ctx.deps.keys?.())),
  '/api/agents': api((ctx) => agentsCollection(ctx, ctx.deps.agentGrants?.()), ['GET', 'HEAD', 'POST']),
  '/api/agents/*': api((ctx) => agentItem(ctx, ctx.deps.agentGrants?.()), ['DELETE']),
  '/api/whoami': api((ctx) => whoamiEndpoint(ctx.caller)),
  '/api/stats': api((ctx) => statsEndpoint(ctx, ctx.stats)),
  '/api/people/*': api((ctx) => peopleEndpoint(ctx, ctx.deps.auditQuery?.(), ctx.deps.agentGrants?.())),
};

/** The endpoint for a path: an exact entry, else a `<parent>/*` entry for one segment below it. */
export function findEndpoint(path: string): AdminEndpoint | undefined {
  if (Object.hasOwn(ADMIN_ENDPOINTS, path)) return ADMIN_ENDPOINTS[path];
  const slash = path.lastIndexOf('/');
  const wildcard = `${path.slice(0, slash)}/*`;
  return slash > 0 && slash < path.length - 1 && Object.hasOwn(ADMIN_ENDPOINTS, wildcard) ? ADMIN_ENDPOINTS[wildcard] : undefined;
}

/** Paths under /api/ are authenticated before lookup, so unknown ones reveal nothing to strangers. */
export function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}
