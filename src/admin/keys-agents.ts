// The identity side of the admin API. GET /api/keys: the signing key ring (public facts only).
// /api/agents: people's delegation grants to agents: GET lists (?user=&agent=&issuer=), POST records
// one on a person's behalf, DELETE /api/agents/<agent>?subject=&issuer= withdraws it and revokes the
// delegated tokens that agent holds for the person, as the consent page does.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { SystemAction } from '../audit/event.ts';
import { ADMIN_TOKEN_WHO } from '../audit/system-events.ts';
import type { Config } from '../config/schema.ts';
import type { AgentGrant, AgentGrantStore, KeyInfo, RevocationStore } from '../credentials/types.ts';
import { revokedBeforeNow } from '../stores/revocations/revocation-mirror.ts';
import { jsonReply, problemReply } from './replies.ts';
import type { AdminReply } from './replies.ts';

export const AGENTS_PATH = '/api/agents';
const MAX_BODY_BYTES = 4_096;
const CREATED_BY = `admin:${ADMIN_TOKEN_WHO.subject}`;

/** The ring's keys (undefined until it opens) and the ring's clock. */
export interface KeyRingView {
  keys: readonly KeyInfo[] | undefined;
  now: number;
}

/** The token exchange's stores (TokenExchangeRuntime has both). */
export interface AgentGrantSource {
  readonly grants: AgentGrantStore;
  readonly revocations: RevocationStore;
}

export interface AgentsRequest {
  readonly req: IncomingMessage;
  readonly requestId: string;
  readonly query: URLSearchParams;
  readonly deps: { readonly log: Logger; config(): Config };
  readonly record?: (action: SystemAction, details: Record<string, unknown>, status: number) => void;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export function keysEndpoint(ctx: { requestId: string }, view: KeyRingView | undefined): AdminReply {
  if (view?.keys === undefined) return problemReply('credentials.signing_unavailable', ctx.requestId, 'The signing keys are not loaded yet.');
  // Field by field: nothing else of a key (its sealed private half above all) can reach the reply.
  const keys = view.keys.map((k) => ({
    kid: k.kid,
    alg: k.alg,
    state: k.state,
    createdAt: iso(k.createdAt),
    activatesAt: iso(k.activatesAt),
    retiresAt: iso(k.retiresAt),
    published: k.published,
    ageSeconds: Math.max(0, Math.floor((view.now - k.createdAt) / 1000)),
  }));
  return jsonReply(200, { keys });
}

function grantView(g: AgentGrant, now: number): Record<string, unknown> {
  return {
    issuer: g.issuer,
    subject: g.subject,
    agent: g.agent,
    createdAt: iso(g.createdAt),
    expiresAt: iso(g.expiresAt),
    expired: g.expiresAt !== undefined && g.expiresAt <= now,
    createdBy: g.createdBy,
  };
}

/** The issuer a person is named at when none is given: the session provider's, else the only provider's. */
function defaultIssuer(config: Config): string | undefined {
  const providers = config.identity.providers;
  const names = Object.keys(providers);
  const name = config.identity.sessions?.provider ?? (names.length === 1 ? names[0] : undefined);
  return name === undefined ? undefined : providers[name]?.issuer;
}

function notConfigured(requestId: string): AdminReply {
  return problemReply('admin.not_found', requestId, 'Token exchange is not configured (credentials.tokenExchange).');
}

function unavailable(ctx: AgentsRequest, err: unknown): AdminReply {
  ctx.deps.log.error({ err: (err as Error).message }, 'agent grant store failed');
  return problemReply('admin.store_unavailable', ctx.requestId, 'The agent grant store could not be reached.');
}

async function readJson(req: IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; problem: string }> {
  if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
    req.resume();
    return { ok: false, problem: 'Send the grant as application/json.' };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) return { ok: false, problem: `The body must be at most ${MAX_BODY_BYTES} bytes.` };
    chunks.push(chunk);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { ok: false, problem: 'The body is not valid JSON.' };
  }
}

type GrantInput = { issuer: string; subject: string; agent: string; expiresAt?: number };

/** The grant a POST asks for, checked against the serving config; a problem sentence otherwise. */
function grantInput(value: unknown, config: Config, now: number): GrantInput | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the body must be an object';
  const { issuer, subject, agent, expiresAt, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) return `unknown field "${extra}"`;
  if (typeof subject !== 'string' || subject === '') return 'subject (the person) is required';
  if (typeof agent !== 'string' || agent === '') return 'agent is required';
  const clients = Object.keys(config.credentials.tokenExchange?.clients ?? {});
  if (!clients.includes(agent)) return `"${agent}" is not an agent client of credentials.tokenExchange.clients (${clients.join(', ') || 'none'})`;
  if (issuer !== undefined && (typeof issuer !== 'string' || issuer === '')) return 'issuer must be a URL';
  const at = typeof issuer === 'string' ? issuer.replace(/\/+$/, '') : defaultIssuer(config);
  if (at === undefined) return 'several identity providers are configured: give the person\'s issuer';
  const input: GrantInput = { issuer: at, subject, agent };
  if (expiresAt !== undefined) {
    const ms = typeof expiresAt === 'string' ? Date.parse(expiresAt) : NaN;
    if (Number.isNaN(ms)) return 'expiresAt must be an ISO 8601 time';
    if (ms <= now) return 'expiresAt must be in the future';
    input.expiresAt = ms;
  }
  return input;
}

/** GET (list) and POST (record a grant) on /api/agents. */
export async function agentsCollection(ctx: AgentsRequest, source: AgentGrantSource | undefined): Promise<AdminReply> {
  if (source === undefined) return notConfigured(ctx.requestId);
  const now = Date.now();
  if (ctx.req.method !== 'POST') {
    const filter: { issuer?: string; subject?: string; agent?: string } = {};
    for (const [param, field] of [['user', 'subject'], ['agent', 'agent'], ['issuer', 'issuer']] as const) {
      const v = ctx.query.get(param);
      if (v !== null && v !== '') filter[field] = v;
    }
    try {
      return jsonReply(200, { grants: (await source.grants.list(filter)).map((g) => grantView(g, now)) });
    } catch (err) {
      return unavailable(ctx, err);
    }
  }
  const body = await readJson(ctx.req);
  if (!body.ok) return problemReply('request.malformed', ctx.requestId, body.problem);
  const input = grantInput(body.value, ctx.deps.config(), now);
  if (typeof input === 'string') return problemReply('request.malformed', ctx.requestId, `Cannot record the grant: ${input}.`);
  let grant: AgentGrant;
  try {
    grant = await source.grants.grant({ ...input, createdAt: now, createdBy: CREATED_BY });
  } catch (err) {
    return unavailable(ctx, err);
  }
  const person = { issuer: grant.issuer, subject: grant.subject };
  ctx.deps.log.info({ ...person, agent: grant.agent }, 'agent grant recorded by an admin');
  ctx.record?.('agent_grant_created', { agent: grant.agent, person, createdBy: CREATED_BY, ...(grant.expiresAt === undefined ? {} : { expiresAt: iso(grant.expiresAt) }), requestId: ctx.requestId }, 201);
  return jsonReply(201, { grant: grantView(grant, now) });
}

/** DELETE /api/agents/<agent>?subject=&issuer=: withdraw the grant and revoke the agent's tokens for the person. */
export async function agentItem(ctx: AgentsRequest, source: AgentGrantSource | undefined): Promise<AdminReply> {
  if (source === undefined) return notConfigured(ctx.requestId);
  const path = (ctx.req.url ?? '').split('?')[0] ?? '';
  let agent: string;
  try {
    agent = decodeURIComponent(path.slice(AGENTS_PATH.length + 1));
  } catch {
    return problemReply('request.malformed', ctx.requestId, 'The agent in the path is not valid percent-encoding.');
  }
  const subject = ctx.query.get('subject') ?? ctx.query.get('user');
  if (subject === null || subject === '') return problemReply('request.malformed', ctx.requestId, 'Name the person: ?subject=SUBJECT (and &issuer= when several providers are configured).');
  const given = ctx.query.get('issuer');
  const issuer = given !== null && given !== '' ? given.replace(/\/+$/, '') : defaultIssuer(ctx.deps.config());
  if (issuer === undefined) return problemReply('request.malformed', ctx.requestId, 'Several identity providers are configured: give &issuer=.');
  const person = { issuer, subject };
  let removed: boolean;
  try {
    removed = await source.grants.revoke(person, agent);
  } catch (err) {
    return unavailable(ctx, err);
  }
  if (!removed) return problemReply('admin.not_found', ctx.requestId, `${subject} (${issuer}) has no grant to ${agent}.`);
  let tokensRevoked = true;
  try {
    await source.revocations.revoke({ kind: 'grant', ...person, agent, at: revokedBeforeNow(Date.now()) });
  } catch (err) {
    tokensRevoked = false;
    ctx.deps.log.error({ err: (err as Error).message }, 'grant withdrawn, but the revocation of its tokens was not stored');
  }
  ctx.deps.log.info({ ...person, agent }, 'agent grant withdrawn by an admin');
  ctx.record?.('agent_grant_revoked', { agent, person, tokensRevoked, requestId: ctx.requestId }, tokensRevoked ? 200 : 503);
  if (!tokensRevoked) return problemReply('admin.store_unavailable', ctx.requestId, 'The grant is withdrawn, but the revocation store could not be reached: tokens already issued stay valid on other instances until they expire.');
  return jsonReply(200, { revoked: { agent, ...person }, tokensRevoked });
}
