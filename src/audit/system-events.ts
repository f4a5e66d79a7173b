// Audit events for what happens besides requests (docs/audit-event.md, "System events"): key
// rotations, config reloads, intent changes waiting for and getting approval, API keys and agent
// grants created or revoked, revocations, and every admin API call. The Gateway hands its parts a
// SystemAudit (systemAuditor) that stamps the stage and time and writes to the AuditLog; the parts
// only name the action, who, and plain details. Like event.ts, nothing here imports the data plane.
import { randomUUID } from 'node:crypto';
import { AUDIT_EVENT_VERSION } from './event.ts';
import type { AuditWho, SystemAction, SystemAuditEvent } from './event.ts';

export type SystemOutcome = SystemAuditEvent['outcome'];

/** What the Gateway gives its parts: record one system event (never throws). */
export type SystemAudit = (action: SystemAction, who: AuditWho | null, details: Record<string, unknown>, outcome?: SystemOutcome) => void;

export const DONE: SystemOutcome = { status: 200, code: 'ok' };
export const PENDING: SystemOutcome = { status: 202, code: 'pending' };
export const REJECTED: SystemOutcome = { status: 422, code: 'rejected' };

/** The admin API's caller when it holds the admin bearer token (or a cookie opened with it). */
export const ADMIN_TOKEN_WHO: AuditWho = Object.freeze({
  subject: 'admin-token',
  issuer: 'cortex',
  provider: 'admin',
  kind: 'admin',
  method: 'admin_token',
  roles: [],
});

/** A person logged in to the admin listener (admin.login), as the who of their admin calls. */
export interface AdminLoginPerson {
  subject: string;
  issuer: string;
  provider: string;
  roles: readonly string[];
  username?: string | undefined;
}

/** Who made an admin call: the logged-in person, else (no person given) the admin token's holder. */
export function adminCallerWho(person?: AdminLoginPerson): AuditWho {
  if (person === undefined) return ADMIN_TOKEN_WHO;
  const who: AuditWho = { subject: person.subject, issuer: person.issuer, provider: person.provider, kind: 'user', method: 'admin_login', roles: [...person.roles] };
  if (person.username !== undefined) who.username = person.username;
  return who;
}

export function systemEvent(
  action: SystemAction,
  who: AuditWho | null,
  details: Record<string, unknown>,
  outcome: SystemOutcome,
  stage: string,
  now: number,
): SystemAuditEvent {
  return {
    v: AUDIT_EVENT_VERSION,
    type: 'system',
    id: randomUUID(),
    time: new Date(now).toISOString(),
    stage,
    action,
    who: who === null ? null : { ...who, roles: [...who.roles] },
    details,
    outcome: { status: outcome.status, code: outcome.code },
  };
}

/** The SystemAudit the Gateway hands out: `write` is the AuditLog's, `stage` the serving snapshot's. */
export function systemAuditor(write: (event: SystemAuditEvent) => void, stage: () => string, now: () => number = Date.now): SystemAudit {
  return (action, who, details, outcome = DONE) => {
    try {
      write(systemEvent(action, who, details, outcome, stage(), now()));
    } catch {
      // Like AuditLog.write, recording must never break what is being recorded.
    }
  };
}

/** A config reload that was applied (problems: undefined) or rejected (the problems' count only: their text may quote values). */
export function auditConfigReload(audit: SystemAudit, generation: number, problems?: readonly unknown[]): void {
  if (problems === undefined) audit('config_reload', null, { generation }, DONE);
  else audit('config_reload', null, { servingGeneration: generation, problems: problems.length }, REJECTED);
}

/** Query parameters of admin calls whose values are recorded (the audit filters); any other value is left out. */
const PLAIN_QUERY = new Set(['user', 'agent', 'kind', 'intent', 'route', 'status', 'requestId', 'denied', 'type', 'since', 'until', 'limit']);

/** method, path (no query), and the query's parameter names, with values only for the known-plain ones. */
export function adminCallDetails(method: string, url: string, status: number, requestId: string): Record<string, unknown> {
  const q = url.indexOf('?');
  const details: Record<string, unknown> = { method, path: q === -1 ? url : url.slice(0, q), status, requestId };
  if (q !== -1) {
    const query: Record<string, string> = {};
    for (const [name, value] of new URLSearchParams(url.slice(q + 1))) query[name] = PLAIN_QUERY.has(name) ? value : '[redacted]';
    details.query = query;
  }
  return details;
}

/** Records every change of the key that signs: the new kid and alg, and the kid it replaced. */
export function auditKeyRotations(
  ring: { signer(): { kid: string; alg: string }; onRotate(listener: (signer: { kid: string; alg: string }) => void): () => void },
  audit: SystemAudit,
): () => void {
  let previous: string | undefined;
  try {
    previous = ring.signer().kid;
  } catch {
    previous = undefined;
  }
  return ring.onRotate((signer) => {
    audit('key_rotation', null, { kid: signer.kid, alg: signer.alg, ...(previous === undefined ? {} : { previousKid: previous }) });
    previous = signer.kid;
  });
}

interface IntentState {
  readonly intent: string | null;
  readonly tags: readonly string[];
}
interface Pending {
  readonly key: string;
  readonly approved: IntentState;
  readonly proposed: IntentState;
}
interface Served {
  readonly key: string;
  readonly intent?: string;
  readonly tags: readonly string[];
}

const plain = (s: IntentState) => ({ intent: s.intent, tags: [...s.tags].sort() });
const same = (a: IntentState, b: IntentState) => JSON.stringify(plain(a)) === JSON.stringify(plain(b));

/**
 * An imported API's pending intent changes, before and after one refresh: a new one is
 * intent_change_pending; one that went away because the operation now serves the proposed intent
 * (the lock holds it: `cortex intents approve`) is intent_approval. One that went away otherwise
 * (the document went back, the operation was removed) records nothing.
 */
export function auditIntentChanges(audit: SystemAudit | undefined, api: string, before: readonly Pending[], after: readonly Pending[], served: readonly Served[]): void {
  if (audit === undefined) return;
  const id = (p: Pending) => `${p.key} ${JSON.stringify(plain(p.proposed))}`;
  const was = new Set(before.map(id));
  const is = new Set(after.map(id));
  for (const p of after) {
    if (!was.has(id(p))) audit('intent_change_pending', null, { api, operation: p.key, approved: plain(p.approved), proposed: plain(p.proposed) }, PENDING);
  }
  const serving = new Map(served.map((op) => [op.key, { intent: op.intent ?? null, tags: op.tags }]));
  for (const p of before) {
    if (is.has(id(p)) || after.some((a) => a.key === p.key)) continue;
    const now = serving.get(p.key);
    if (now !== undefined && same(now, p.proposed)) audit('intent_approval', null, { api, operation: p.key, previous: plain(p.approved), approved: plain(p.proposed) });
  }
}
