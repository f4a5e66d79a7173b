// Maps what the data plane knows at completion onto the audit module's plain input.
import { buildAuditEvent } from '../audit/event.ts';
import { exchangeRecords } from '../credentials/exchange/endpoint.ts';
import type { AuditEvent, AuditInput } from '../audit/event.ts';
import type { CompletedRequest } from './handler.ts';
import { REASONS } from './reason-codes.ts';
import { normalizePeer } from './handler.ts';
import type { RejectedConnection } from './listener.ts';
import type { Snapshot } from './snapshot.ts';

export function auditEventFor(done: CompletedRequest): AuditEvent {
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
  if (identity) {
    input.identity = {
      subject: identity.subject,
      issuer: identity.issuer,
      provider: identity.provider,
      kind: identity.kind,
      method: identity.method,
      roles: identity.roles,
      fingerprint: identity.fingerprint,
      onBehalfOf: identity.onBehalfOf ? { subject: identity.onBehalfOf.subject, kind: identity.onBehalfOf.kind } : undefined,
      keyId: identity.keyId,
    };
  }
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
export function rejectionEvent(snapshot: Snapshot, r: RejectedConnection): AuditEvent {
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
