// The audit event model, version 1 (docs/audit-event.md). One event per request, built once when the
// request completes. This module sits below the data plane: it never imports from src/gateway/, so
// the gateway maps its own context onto AuditInput.
//
// Versioning: adding an optional field keeps `v`; removing a field or changing what one means bumps it.

export const AUDIT_EVENT_VERSION = 1;

export interface AuditWho {
  subject: string;
  issuer: string;
  provider: string;
  kind: string;
  method: string;
  roles: string[];
  fingerprint?: string;
  onBehalfOf?: { subject: string; kind: string; username?: string };
  /** Id of the key that signed the credential, beside (not in) the fingerprint. */
  keyId?: string;
  /**
   * The name the credential's issuer gives `subject` (preferred_username, else username, else email),
   * when it gives one (cortex audit --user matches it). See usernameFrom.
   */
  username?: string;
}

export interface AuditWhat {
  method: string;
  host: string;
  /** Normalized path, never with a query string. */
  path: string;
  /** Path sent upstream after the route's rewrite. */
  upstreamPath?: string;
  route?: string;
  upstream?: string;
  intent?: string;
}

export interface AuditDecision {
  allow: boolean;
  mode: string;
  policyIds: string[];
  reason: string;
}

export interface AuditOutcome {
  status: number;
  code: string;
  upstreamStatus?: number;
  durationMs: number;
  upstreamMs?: number;
  bytesIn: number;
  bytesOut: number;
}

/** A token exchange at /.cortex/token: who delegated what to which agent, until when, or why not. */
export interface AuditExchange {
  agent?: string;
  person?: { issuer: string; subject: string };
  /** How the person's consent was shown: the subject token was issued to the agent, or a recorded grant. */
  consent?: 'azp' | 'grant';
  intents?: string[];
  /** exp of the delegated token, ISO 8601 UTC. */
  expiresAt?: string;
  jti?: string;
  /** The OAuth error answered (invalid_grant, invalid_scope, ...). */
  refused?: string;
}

export interface RequestAuditEvent {
  v: typeof AUDIT_EVENT_VERSION;
  type: 'request';
  /** The request id (the x-request-id the client saw). */
  id: string;
  /** ISO 8601 UTC start time. */
  time: string;
  stage: string;
  /** null until authentication ran and produced an identity. */
  who: AuditWho | null;
  what: AuditWhat;
  /** null when no authorization decision was made. */
  decision: AuditDecision | null;
  outcome: AuditOutcome;
  client: { ip: string; userAgent?: string };
  /** From a valid W3C traceparent only. */
  traceId?: string;
  /** Only on /.cortex/token requests. */
  exchange?: AuditExchange;
}

/** Something the gateway did or was told to do besides serving a request (system-events.ts, docs/audit-event.md). */
export type SystemAction =
  | 'key_rotation'
  | 'config_reload'
  | 'intent_approval'
  | 'intent_change_pending'
  | 'api_key_created'
  | 'api_key_revoked'
  | 'agent_grant_created'
  | 'agent_grant_revoked'
  | 'token_revoked'
  | 'admin_call'
  | 'admin_login';

export interface SystemAuditEvent {
  v: typeof AUDIT_EVENT_VERSION;
  type: 'system';
  /** A random UUID. */
  id: string;
  /** ISO 8601 UTC. */
  time: string;
  stage: string;
  action: SystemAction;
  /** The admin caller, the person on the consent page, or null when the gateway acted on its own. */
  who: AuditWho | null;
  /** Action-specific, plain data; never a secret or a token. */
  details: Record<string, unknown>;
  /** status: the HTTP status of the call that caused it, else 200 done / 202 pending / 422 rejected; code: 'ok' or why not. */
  outcome: { status: number; code: string };
}

export type AuditEvent = RequestAuditEvent | SystemAuditEvent;

/** What the gateway hands the builder. Plain data: no headers map, no query, no credentials. */
export interface AuditInput {
  id: string;
  /** Start time, epoch milliseconds. */
  time: number;
  stage: string;
  identity?: {
    subject: string;
    issuer: string;
    provider: string;
    kind: string;
    method: string;
    roles: readonly string[];
    fingerprint?: string;
    onBehalfOf?: { subject: string; kind: string; username?: string };
    keyId?: string;
    username?: string;
  };
  request: {
    method: string;
    host: string;
    /** Normalized path. Anything from '?' or '#' on is dropped anyway. */
    path: string;
    clientIp: string;
    userAgent?: string | readonly string[];
    traceparent?: string | readonly string[];
  };
  route?: { id: string; upstream: string; intent?: string };
  exchange?: AuditExchange;
  decision?: { allow: boolean; mode: string; policyIds: readonly string[]; reason: string; intent?: string };
  outcome: {
    status: number;
    code: string;
    upstreamPath?: string;
    upstreamStatus?: number;
    durationMs: number;
    upstreamMs?: number;
    bytesIn: number;
    bytesOut: number;
  };
}

export const USER_AGENT_MAX = 256;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_PARENT = '0'.repeat(16);

/** The trace id of a valid W3C traceparent header (Trace Context level 1), else undefined. */
export function traceIdFrom(traceparent: string | undefined): string | undefined {
  if (traceparent === undefined) return undefined;
  const m = TRACEPARENT.exec(traceparent);
  if (m === null) return undefined;
  const [, version, traceId, parentId, , rest] = m;
  if (version === undefined || traceId === undefined || parentId === undefined) return undefined;
  if (version === 'ff') return undefined;
  // Version 00 has exactly four fields; later versions may append more, which we ignore.
  if (version === '00' && rest !== undefined) return undefined;
  if (traceId === ZERO_TRACE || parentId === ZERO_PARENT) return undefined;
  return traceId;
}

export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function first(value: string | readonly string[] | undefined): string | undefined {
  return value === undefined || typeof value === 'string' ? value : value[0];
}

// Trace Context: a repeated traceparent makes the whole trace context invalid.
function only(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  return value.length === 1 ? value[0] : undefined;
}

function stripQuery(path: string): string {
  const cut = path.search(/[?#]/);
  return cut === -1 ? path : path.slice(0, cut);
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max);
}

/** The audit `who` of an identity as AuditInput carries it (also used by system events). */
export function whoFrom(identity: NonNullable<AuditInput['identity']>): AuditWho {
  const who: AuditWho = {
    subject: identity.subject,
    issuer: identity.issuer,
    provider: identity.provider,
    kind: identity.kind,
    method: identity.method,
    roles: [...identity.roles],
  };
  if (identity.fingerprint !== undefined) who.fingerprint = identity.fingerprint;
  if (identity.onBehalfOf !== undefined) {
    const { subject, kind, username } = identity.onBehalfOf;
    who.onBehalfOf = username === undefined ? { subject, kind } : { subject, kind, username };
  }
  if (identity.keyId !== undefined) who.keyId = identity.keyId;
  if (identity.username !== undefined) who.username = identity.username;
  return who;
}

export const USERNAME_MAX = 256;

/**
 * The name an issuer gives the token's subject: preferred_username (OIDC), else username (Cognito),
 * else email only when it is the only name there is. Undefined unless `subject` is the claims' sub:
 * an agent's token names the person in sub, so the name belongs to who.onBehalfOf, not the agent.
 */
export function usernameFrom(claims: Readonly<Record<string, unknown>>, subject: string): string | undefined {
  if (claims.sub !== subject) return undefined;
  for (const name of ['preferred_username', 'username', 'email']) {
    const v = claims[name];
    if (typeof v === 'string' && v !== '') return truncate(v, USERNAME_MAX);
  }
  return undefined;
}

export function buildAuditEvent(input: AuditInput): RequestAuditEvent {
  const { request, outcome, identity, route, decision } = input;

  const what: AuditWhat = { method: request.method, host: request.host, path: stripQuery(request.path) };
  if (outcome.upstreamPath !== undefined) what.upstreamPath = stripQuery(outcome.upstreamPath);
  if (route !== undefined) {
    what.route = route.id;
    what.upstream = route.upstream;
  }
  const intent = decision?.intent ?? route?.intent;
  if (intent !== undefined) what.intent = intent;

  const who = identity === undefined ? null : whoFrom(identity);

  const out: AuditOutcome = {
    status: outcome.status,
    code: outcome.code,
    durationMs: roundMs(outcome.durationMs),
    bytesIn: outcome.bytesIn,
    bytesOut: outcome.bytesOut,
  };
  if (outcome.upstreamStatus !== undefined) out.upstreamStatus = outcome.upstreamStatus;
  if (outcome.upstreamMs !== undefined) out.upstreamMs = roundMs(outcome.upstreamMs);

  const client: RequestAuditEvent['client'] = { ip: request.clientIp };
  const ua = first(request.userAgent);
  if (ua !== undefined && ua !== '') client.userAgent = truncate(ua, USER_AGENT_MAX);

  const event: RequestAuditEvent = {
    v: AUDIT_EVENT_VERSION,
    type: 'request',
    id: input.id,
    time: new Date(input.time).toISOString(),
    stage: input.stage,
    who,
    what,
    decision:
      decision === undefined
        ? null
        : { allow: decision.allow, mode: decision.mode, policyIds: [...decision.policyIds], reason: decision.reason },
    outcome: out,
    client,
  };
  const traceId = traceIdFrom(only(request.traceparent));
  if (traceId !== undefined) event.traceId = traceId;
  if (input.exchange !== undefined) event.exchange = input.exchange;
  return event;
}
