// One token exchange, start to end: the client, the agent's standing, the subject token (verified
// exactly as at a route), the person behind it, their consent, the intents, the lifetime, the mint.
// Re-delegation is refused: Cortex's own delegated tokens and nested act chains cannot be exchanged.
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Config } from '../../config/schema.ts';
import { authenticateBearer } from '../../identity/bearer.ts';
import type { BearerDeps, BearerPolicy } from '../../identity/bearer.ts';
import { clientIdOf } from '../../identity/claims-identity.ts';
import { CORTEX_PROVIDER } from '../../identity/cortex-provider.ts';
import type { CompiledProvider } from '../../identity/provider.ts';
import type { Identity } from '../../gateway/types.ts';
import type { ActiveSigner, AgentGrantStore } from '../types.ts';
import { authenticateClient } from './client-auth.ts';
import type { ActorVerifier } from './client-auth.ts';
import { exchangeError } from './request.ts';
import type { ExchangeError, ExchangeRequest } from './request.ts';
import { delegatedIntents, intentCatalog } from './scope.ts';

export interface ExchangeWorld {
  readonly config: Config;
  readonly providers: ReadonlyMap<string, CompiledProvider>;
}

export interface ExchangeDeps {
  world(): ExchangeWorld;
  issuer(): string;
  signer(): ActiveSigner;
  grants: AgentGrantStore;
  bearer: BearerDeps;
  now(): number;
}

/** What the audit event records of an exchange. */
export interface ExchangeRecord {
  agent?: string;
  person?: { issuer: string; subject: string };
  consent?: 'azp' | 'grant';
  intents?: string[];
  exp?: number;
  jti?: string;
  refused?: string;
}

export interface ExchangeAnswer {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly scope: string;
}

export type ExchangeOutcome = { ok: true; answer: ExchangeAnswer } | { ok: false; error: ExchangeError; clientId?: string };

/** Every configured provider but Cortex's own, with the audiences it is configured for. */
function upstreamProvidersPolicy(providers: ReadonlyMap<string, CompiledProvider>): BearerPolicy | undefined {
  const chosen = [...providers.values()].filter((p) => p.name !== CORTEX_PROVIDER);
  if (chosen.length === 0) return undefined;
  return {
    providers: chosen,
    audiences: new Map(chosen.map((p) => [p.name, p.audiences])),
    acceptIdTokens: false,
    maxTokenBytes: Math.max(...chosen.map((p) => p.maxTokenBytes)),
  };
}

/** The roles an agent client holds itself: from the subject's provider when it lists it, else the first that does. */
function agentRoles(providers: ReadonlyMap<string, CompiledProvider>, agent: string, preferred: string | undefined): readonly string[] | undefined {
  const first = preferred === undefined ? undefined : providers.get(preferred)?.agents.get(agent);
  if (first !== undefined) return first;
  for (const p of providers.values()) {
    if (p.name === CORTEX_PROVIDER) continue;
    const roles = p.agents.get(agent);
    if (roles !== undefined) return roles;
  }
  return undefined;
}

/**
 * The person behind a subject token, and whether the token itself shows consent: it was issued to
 * this agent (its client id, or an act the provider set naming this agent). Refused: Cortex's own
 * delegated tokens and nested act chains (no re-delegation in this version), tokens of another
 * agent, and tokens with no person behind them.
 */
function personOf(identity: Identity, provider: CompiledProvider | undefined, agent: string): { person: Identity; azp: boolean } | ExchangeError {
  const act = identity.claims.act as { act?: unknown } | undefined;
  if (identity.provider === CORTEX_PROVIDER || (act !== undefined && act.act !== undefined)) {
    return exchangeError('invalid_grant', 'A delegated token cannot be exchanged again (no re-delegation).');
  }
  if (identity.kind === 'user') {
    return { person: identity, azp: provider !== undefined && clientIdOf(provider, identity.claims) === agent };
  }
  if (identity.kind === 'agent' && identity.onBehalfOf !== undefined) {
    if (identity.subject !== agent) return exchangeError('invalid_grant', 'The subject token was issued to another agent.');
    return { person: identity.onBehalfOf, azp: true };
  }
  return exchangeError('invalid_grant', 'The subject token names no person (a service or an agent on its own).');
}

export async function runExchange(
  req: ExchangeRequest,
  authorization: string | undefined,
  deps: ExchangeDeps,
  record: ExchangeRecord,
): Promise<ExchangeOutcome> {
  const world = deps.world();
  const cfg = world.config.credentials.tokenExchange;
  if (cfg === undefined) return { ok: false, error: exchangeError('invalid_request', 'Token exchange is not configured.') };
  const policy = upstreamProvidersPolicy(world.providers);
  const verifyActor: ActorVerifier = async (token) => {
    if (policy === undefined) return { ok: false };
    const r = await authenticateBearer(`Bearer ${token}`, policy, deps.bearer);
    if (!r.ok) return { ok: false };
    const id = r.identity;
    const provider = world.providers.get(id.provider);
    const forItself = (id.kind === 'agent' || id.kind === 'service') && id.onBehalfOf === undefined && id.claims.act === undefined;
    return { ok: true, clientId: provider === undefined ? undefined : clientIdOf(provider, id.claims), provider: id.provider, forItself };
  };
  const client = await authenticateClient(authorization, req, cfg.clients, verifyActor);
  if (!client.ok) return { ok: false, error: client.error, ...(client.clientId === undefined ? {} : { clientId: client.clientId }) };
  const agent = client.clientId;
  record.agent = agent;

  if (agentRoles(world.providers, agent, undefined) === undefined) {
    return { ok: false, error: exchangeError('unauthorized_client', 'This client is not an agent client of any identity provider, so it may not act for people.') };
  }
  if (req.audience !== undefined && req.audience !== cfg.audience) {
    return { ok: false, error: exchangeError('invalid_target', 'Delegated tokens are issued for this gateway\'s audience only.') };
  }
  if (policy === undefined) return { ok: false, error: exchangeError('invalid_grant', 'No identity provider here can verify the subject token.') };
  const verified = await authenticateBearer(`Bearer ${req.subjectToken}`, policy, deps.bearer);
  if (!verified.ok) {
    if (verified.code === 'authn.provider_unavailable') return { ok: false, error: exchangeError('temporarily_unavailable', 'The subject token cannot be checked now; try again shortly.') };
    return { ok: false, error: exchangeError('invalid_grant', `The subject token is not accepted (${verified.code}).`) };
  }
  const subjectProvider = world.providers.get(verified.identity.provider);
  const found = personOf(verified.identity, subjectProvider, agent);
  if ('error' in found) return { ok: false, error: found };
  const person = found.person;
  record.person = { issuer: person.issuer, subject: person.subject };
  const nowMs = deps.now();
  let consent: 'azp' | 'grant' | undefined = found.azp ? 'azp' : undefined;
  if (consent === undefined) {
    let granted: boolean;
    try {
      granted = await deps.grants.has({ issuer: person.issuer, subject: person.subject }, agent, nowMs);
    } catch {
      return { ok: false, error: exchangeError('temporarily_unavailable', 'Consent cannot be checked now; try again shortly.') };
    }
    if (!granted) return { ok: false, error: exchangeError('invalid_grant', `${person.subject} has not authorized ${agent} to act for them.`) };
    consent = 'grant';
  }
  record.consent = consent;

  const catalog = intentCatalog(world.config);
  const ownRoles = agentRoles(world.providers, agent, verified.identity.provider) ?? [];
  const intents = catalog === undefined ? [] : delegatedIntents(catalog, req.scope, ownRoles, person.roles);
  if (intents.length === 0) return { ok: false, error: exchangeError('invalid_scope', 'No requested intent is held by both the agent and the person (destructive intents are never delegated).') };

  const nowS = Math.floor(nowMs / 1000);
  const subjectExp = verified.identity.expiresAt ?? person.expiresAt ?? nowS;
  const lifetime = Math.min(cfg.lifetimeSeconds, subjectExp - nowS);
  if (lifetime <= 0) return { ok: false, error: exchangeError('invalid_grant', 'The subject token has expired.') };
  const minted = await mintDelegatedToken(deps.signer(), {
    issuer: deps.issuer(),
    audience: cfg.audience,
    person: { issuer: person.issuer, subject: person.subject, roles: person.roles },
    agent: { id: agent, roles: ownRoles },
    intents,
    iat: nowS,
    exp: nowS + lifetime,
  });
  record.intents = intents;
  record.exp = nowS + lifetime;
  record.jti = minted.jti;
  return { ok: true, answer: { accessToken: minted.token, expiresIn: lifetime, scope: intents.join(' ') } };
}

// A delegated token: an RFC 9068 access token (typ at+jwt) whose sub is the person and whose act
// (RFC 8693 §4.1) names the agent, signed with the ring's active key.
export interface DelegatedTokenInput {
  readonly issuer: string;
  readonly audience: string;
  readonly person: { readonly issuer: string; readonly subject: string; readonly roles: readonly string[] };
  readonly agent: { readonly id: string; readonly roles: readonly string[] };
  readonly intents: readonly string[];
  /** Epoch seconds. */
  readonly iat: number;
  readonly exp: number;
}

export interface MintedToken {
  readonly token: string;
  readonly jti: string;
}

export async function mintDelegatedToken(signer: ActiveSigner, t: DelegatedTokenInput): Promise<MintedToken> {
  const jti = randomUUID();
  const token = await new SignJWT({
    act: { sub: t.agent.id },
    client_id: t.agent.id,
    azp: t.agent.id,
    scope: t.intents.join(' '),
    roles: [...t.person.roles],
    agent_roles: [...t.agent.roles],
    // The person's own issuer: revocations by person name it (DelegatedTokenRef.issuer).
    person_iss: t.person.issuer,
  })
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt' })
    .setIssuer(t.issuer)
    .setAudience(t.audience)
    .setSubject(t.person.subject)
    .setIssuedAt(t.iat)
    .setExpirationTime(t.exp)
    .setJti(jti)
    .sign(signer.privateKey);
  return { token, jti };
}
