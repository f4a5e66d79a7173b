// GET /api/people/<user>: one person (or agent) for the dashboard's person page: who the trail says
// they are (subject, username, kinds of caller, when last seen), and the agents that act for them:
// their delegation grants, plus agents seen acting for them in the recent trail.
import type { Logger } from 'pino';
import type { AuditEvent } from '../audit/event.ts';
import type { AgentGrant } from '../credentials/types.ts';
import type { AuditQuerySource } from './audit-api.ts';
import type { AgentGrantSource } from './keys-agents.ts';
import { jsonReply, problemReply } from './replies.ts';
import type { AdminReply } from './replies.ts';

export const PEOPLE_PATH = '/api/people';
/** How many of the person's newest events the page is built from. */
export const RECENT_EVENTS = 1_000;

export interface PeopleRequest {
  readonly req: { readonly url?: string | undefined };
  readonly requestId: string;
  readonly deps: { readonly log: Logger };
}

export interface PersonAgent {
  agent: string;
  grant: { createdAt: string; expiresAt: string | null; createdBy: string; expired: boolean } | null;
  lastSeen: string | null;
  intents: string[];
}

export interface PersonView {
  user: string;
  subject: string | null;
  username: string | null;
  kinds: string[];
  lastSeen: string | null;
  agents: PersonAgent[];
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** The page from the person's grants and their recent events (newest first), as the trail names them. */
export function personView(user: string, events: readonly AuditEvent[], grants: readonly AgentGrant[], now: number): PersonView {
  let subject: string | null = null;
  let username: string | null = null;
  let lastSeen: string | null = null;
  const kinds = new Set<string>();
  const seen = new Map<string, { lastSeen: string; intents: Set<string> }>();
  const note = (time: string) => {
    if (lastSeen === null || time > lastSeen) lastSeen = time;
  };
  for (const e of events) {
    const who = e.who;
    if (who === null) continue;
    if (who.subject === user || who.username === user) {
      subject ??= who.subject;
      username ??= who.username ?? null;
      kinds.add(who.kind);
      note(e.time);
    }
    const behalf = who.onBehalfOf;
    if (behalf !== undefined && (behalf.subject === user || behalf.username === user)) {
      subject ??= behalf.subject;
      username ??= behalf.username ?? null;
      kinds.add(behalf.kind);
      note(e.time);
      const agent = seen.get(who.subject) ?? { lastSeen: e.time, intents: new Set<string>() };
      if (e.time > agent.lastSeen) agent.lastSeen = e.time;
      if (e.type === 'request' && e.what.intent !== undefined) agent.intents.add(e.what.intent);
      seen.set(who.subject, agent);
    }
  }
  subject ??= grants[0]?.subject ?? null;
  const agents: PersonAgent[] = grants.map((g) => ({
    agent: g.agent,
    grant: { createdAt: iso(g.createdAt) as string, expiresAt: iso(g.expiresAt), createdBy: g.createdBy, expired: g.expiresAt !== undefined && g.expiresAt <= now },
    lastSeen: seen.get(g.agent)?.lastSeen ?? null,
    intents: [...(seen.get(g.agent)?.intents ?? [])].sort(),
  }));
  for (const [agent, s] of seen) {
    if (!agents.some((a) => a.agent === agent)) agents.push({ agent, grant: null, lastSeen: s.lastSeen, intents: [...s.intents].sort() });
  }
  agents.sort((a, b) => a.agent.localeCompare(b.agent));
  return { user, subject, username, kinds: [...kinds].sort(), lastSeen, agents };
}

export async function peopleEndpoint(ctx: PeopleRequest, trail: AuditQuerySource | undefined, grantSource: AgentGrantSource | undefined, now: number = Date.now()): Promise<AdminReply> {
  const path = (ctx.req.url ?? '').split('?')[0] ?? '';
  let user: string;
  try {
    user = decodeURIComponent(path.slice(PEOPLE_PATH.length + 1));
  } catch {
    return problemReply('request.malformed', ctx.requestId, 'The user in the path is not valid percent-encoding.');
  }
  if (user === '' || user.length > 256) return problemReply('request.malformed', ctx.requestId, 'Name a user: /api/people/<subject or username>.');
  let events: AuditEvent[] = [];
  if (trail !== undefined) {
    try {
      events = (await trail.query({ user, limit: RECENT_EVENTS })).events;
    } catch (err) {
      ctx.deps.log.error({ err: (err as Error).message }, 'audit query failed');
      return problemReply('admin.audit_unavailable', ctx.requestId, 'The audit store could not be queried.');
    }
  }
  let grants: AgentGrant[] = [];
  if (grantSource !== undefined) {
    try {
      // The trail's subject for a username (grants are kept by subject).
      grants = await grantSource.grants.list({ subject: personView(user, events, [], now).subject ?? user });
    } catch (err) {
      ctx.deps.log.error({ err: (err as Error).message }, 'agent grant store failed');
      return problemReply('admin.store_unavailable', ctx.requestId, 'The agent grant store could not be reached.');
    }
  }
  return jsonReply(200, personView(user, events, grants, now));
}
