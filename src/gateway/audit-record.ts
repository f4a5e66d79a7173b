// Maps what the data plane knows at completion onto the audit module's plain input.
import { buildAuditEvent, usernameFrom, whoFrom } from '../audit/event.ts';
import { exchangeRecords } from '../credentials/exchange/endpoint.ts';
import type { AuditInput, AuditWho, RequestAuditEvent } from '../audit/event.ts';
import type { CompletedRequest } from './handler.ts';
import { REASONS } from './reason-codes.ts';
import { normalizePeer } from './handler.ts';
import type { RejectedConnection } from './listener.ts';
import type { Snapshot } from './snapshot.ts';
import type { Identity } from './types.ts';

/** An identity as the audit input carries it: plain data, no claims but the subject's username. */
export function auditIdentity(identity: Identity): NonNullable<AuditInput['identity']> {
  const behalf = identity.onBehalfOf;
  const behalfName = behalf === undefined ? undefined : usernameFrom(behalf.claims, behalf.subject);
  const username = usernameFrom(identity.claims, identity.subject);
  return {
    subject: identity.subject,
    issuer: identity.issuer,
    provider: identity.provider,
    kind: identity.kind,
    method: identity.method,
    roles: identity.roles,
    fingerprint: identity.fingerprint,
    onBehalfOf: behalf ? { subject: behalf.subject, kind: behalf.kind, ...(behalfName === undefined ? {} : { username: behalfName }) } : undefined,
    keyId: identity.keyId,
    ...(username === undefined ? {} : { username }),
  };
}

/** The audit `who` of an identity (system events: the person on the consent page). */
export function auditWhoOf(identity: Identity): AuditWho {
  return whoFrom(auditIdentity(identity));
}

// An identity comes from the verified-token cache (or is the frozen anonymous one), the same object
// on many requests: its audit input is made once. buildAuditEvent copies what it keeps (whoFrom).
const auditIdentities = new WeakMap<Identity, NonNullable<AuditInput['identity']>>();

function cachedAuditIdentity(identity: Identity): NonNullable<AuditInput['identity']> {
  let found = auditIdentities.get(identity);
  if (found === undefined) auditIdentities.set(identity, (found = auditIdentity(identity)));
  return found;
}

export function auditEventFor(done: CompletedRequest): RequestAuditEvent {
  const ctx = done.ctx;
  const input: AuditInput = {
    id: done.id,
    time: done.time,
    stage: done.snapshot.stage,
    request: {
      method: done.method,
      host: done.host,
      path: done.path,
      clientIp: done.clientIp,
      userAgent: done.userAgent,
      traceparent: done.traceparent,
    },
    outcome: done.outcome,
  };
  if (done.route) input.route = { id: done.route.id, upstream: done.route.upstream };
  const identity = ctx?.identity;
  if (identity) input.identity = cachedAuditIdentity(identity);
  const exchange = ctx === undefined ? undefined : exchangeRecords.get(ctx);
  if (exchange !== undefined) {
    const { exp, intents, person, ...rest } = exchange;
    input.exchange = {
      ...rest,
      ...(person === undefined ? {} : { person: { ...person } }),
      ...(intents === undefined ? {} : { intents: [...intents] }),
      ...(exp === undefined ? {} : { expiresAt: new Date(exp * 1000).toISOString() }),
    };
  }
  const decision = ctx?.decision;
  if (decision) input.decision = { ...decision, reason: String(decision.reason) };
  return buildAuditEvent(input);
}

/** A connection the HTTP parser rejected: no method or path could be read. */
export function rejectionEvent(snapshot: Snapshot, r: RejectedConnection): RequestAuditEvent {
  return buildAuditEvent({
    id: r.id,
    time: Date.now(),
    stage: snapshot.stage,
    request: { method: '-', host: '', path: '-', clientIp: normalizePeer(r.peer) },
    outcome: { status: statusOf(r.code), code: r.code, durationMs: 0, bytesIn: 0, bytesOut: 0 },
  });
}

function statusOf(code: RejectedConnection['code']): number {
  return REASONS[code].status;
}
