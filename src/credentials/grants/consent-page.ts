// /.cortex/consent: where a signed-in person sees the agents they let act for them, allows one
// (?agent=<id>, an agent client of credentials.tokenExchange.clients) and withdraws any. It needs the
// browser session; a form post is refused unless it comes from this site (Origin, else
// Sec-Fetch-Site, as for logout) and answers 303 back to the page. Withdrawing a grant also revokes
// the delegated tokens that agent holds for the person, so it takes effect at once.
import type { SystemAudit } from '../../audit/system-events.ts';
import { auditWhoOf } from '../../gateway/audit-record.ts';
import type { FilterResult, Identity, RequestContext } from '../../gateway/types.ts';
import type { InternalEndpoint, SessionAuthenticator } from '../../identity/authenticator.ts';
import { revokedBeforeNow } from '../../stores/revocations/revocation-mirror.ts';
import type { AgentGrant, AgentGrantStore, RevocationStore } from '../types.ts';
import { renderConsentPage } from './consent-html.ts';

export const CONSENT_PATH = '/.cortex/consent';
const MAX_FORM_BYTES = 4_096;

export interface ConsentDeps {
  session: () => SessionAuthenticator | undefined;
  grants: AgentGrantStore;
  /** Revokes the agent's live delegated tokens for the person when a grant is withdrawn. */
  revocations?: RevocationStore;
  /** The agent clients of the serving config (credentials.tokenExchange.clients). */
  agents: () => readonly string[];
  now?: () => number;
  /** Records grants given and withdrawn (agent_grant_created, agent_grant_revoked). */
  audit?: SystemAudit;
}

function write(ctx: RequestContext, status: number, headers: Record<string, string>, body?: string): FilterResult {
  ctx.res.writeHead(status, { ...headers, 'cache-control': 'no-store', [ctx.requestIdHeader]: ctx.id });
  ctx.res.end(body);
  return { action: 'handled' };
}

const unavailable: FilterResult = {
  action: 'reply',
  reply: { code: 'authn.provider_unavailable', detail: 'The consent records cannot be reached right now.', headers: { 'retry-after': '5', 'cache-control': 'no-store' } },
};

export function createConsentEndpoint(d: ConsentDeps): InternalEndpoint {
  const now = d.now ?? Date.now;

  /** The signed-in person, or the reply that sends a browser to log in / refuses. */
  async function person(ctx: RequestContext): Promise<{ identity: Identity } | { result: FilterResult }> {
    const session = d.session();
    if (session === undefined) return { result: { action: 'reply', reply: { code: 'route.not_found', detail: 'Browser sessions are not configured (identity.sessions).' } } };
    if (!session.present(ctx)) {
      if (ctx.request.method === 'GET') return { result: write(ctx, 302, { location: session.loginLocation(ctx) }) };
      return { result: { action: 'reply', reply: { code: 'authn.session_invalid', detail: 'Log in to change what agents may do for you.' } } };
    }
    const found = await session.authenticate(ctx);
    if (!found.ok) {
      if (ctx.request.method === 'GET' && found.code === 'authn.session_invalid') return { result: write(ctx, 302, { location: session.loginLocation(ctx) }) };
      return { result: { action: 'reply', reply: { code: found.code, detail: found.description, headers: { 'cache-control': 'no-store' } } } };
    }
    return { identity: found.identity };
  }

  async function show(ctx: RequestContext, who: Identity): Promise<FilterResult> {
    let grants: AgentGrant[];
    try {
      grants = await d.grants.list({ issuer: who.issuer, subject: who.subject });
    } catch {
      return unavailable;
    }
    const at = now();
    const asked = new URLSearchParams(ctx.request.query).get('agent') ?? undefined;
    const agents = d.agents();
    const html = renderConsentPage({
      who: { subject: who.subject, name: typeof who.claims.name === 'string' ? who.claims.name : undefined },
      grants: grants.filter((g) => g.expiresAt === undefined || g.expiresAt > at),
      asked: asked === undefined ? undefined : { agent: asked, known: agents.includes(asked) },
      now: at,
    });
    return write(ctx, 200, { 'content-type': 'text/html; charset=utf-8', 'x-frame-options': 'DENY', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'" }, html);
  }

  async function change(ctx: RequestContext, who: Identity): Promise<FilterResult> {
    if (!fromThisSite(ctx, d.session()?.origins ?? new Set())) {
      ctx.req.resume();
      return { action: 'reply', reply: { code: 'authn.csrf_rejected', detail: 'Consent can only be changed from this site (Origin or Sec-Fetch-Site).' } };
    }
    const form = await readForm(ctx);
    if (form === undefined) return { action: 'reply', reply: { code: 'request.malformed', detail: `Send the form as application/x-www-form-urlencoded, at most ${MAX_FORM_BYTES} bytes.` } };
    const action = form.get('action');
    const agent = form.get('agent') ?? '';
    const personRef = { issuer: who.issuer, subject: who.subject };
    try {
      if (action === 'grant') {
        if (!d.agents().includes(agent)) return { action: 'reply', reply: { code: 'request.malformed', detail: 'No such agent client.' } };
        await d.grants.grant({ ...personRef, agent, createdBy: 'self', createdAt: now() });
        ctx.log.info({ subject: who.subject, issuer: who.issuer, agent }, 'consent: agent granted by the person');
        d.audit?.('agent_grant_created', auditWhoOf(who), { agent, person: personRef, createdBy: 'self', requestId: ctx.id }, { status: 303, code: 'ok' });
      } else if (action === 'revoke') {
        const removed = await d.grants.revoke(personRef, agent);
        if (removed) {
          await d.revocations?.revoke({ kind: 'grant', ...personRef, agent, at: revokedBeforeNow(now()) });
          ctx.log.info({ subject: who.subject, issuer: who.issuer, agent }, 'consent: grant withdrawn by the person');
          d.audit?.('agent_grant_revoked', auditWhoOf(who), { agent, person: personRef, tokensRevoked: d.revocations !== undefined, requestId: ctx.id }, { status: 303, code: 'ok' });
        }
      } else {
        return { action: 'reply', reply: { code: 'request.malformed', detail: 'action must be grant or revoke.' } };
      }
    } catch {
      return unavailable;
    }
    return write(ctx, 303, { location: CONSENT_PATH });
  }

  return {
    id: 'cortex.consent',
    path: CONSENT_PATH,
    methods: ['GET', 'POST'],
    filter: {
      name: 'consent',
      async onRequest(ctx) {
        const found = await person(ctx);
        if ('result' in found) {
          ctx.req.resume();
          return found.result;
        }
        ctx.identity = found.identity;
        return ctx.request.method === 'POST' ? change(ctx, found.identity) : show(ctx, found.identity);
      },
    },
  };
}

/** The same test as logout's: Origin when sent, else Sec-Fetch-Site; a client that sends neither is not a browser. */
function fromThisSite(ctx: RequestContext, origins: ReadonlySet<string>): boolean {
  const origin = ctx.req.headers.origin;
  if (typeof origin === 'string') return origins.has(origin.toLowerCase());
  const site = ctx.req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin' || site === 'none';
  return true;
}

async function readForm(ctx: RequestContext): Promise<URLSearchParams | undefined> {
  const type = ctx.req.headers['content-type'] ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type)) {
    ctx.req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) {
      ctx.req.resume();
      return undefined;
    }
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
