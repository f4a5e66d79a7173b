// Explain one decision: who the caller is (a dev person, a claims object, or an unverified token),
// which route the request reaches after the gateway's own normalization, and what the policies
// decide, with the roles that hold the intent when it is denied. Shared by `cortex explain` and
// POST /api/explain; no network I/O (no keys are fetched: explain never verifies a token).
import { decodeJwt } from 'jose';
import type { Config, RouteConfig, Stage } from '../config/schema.ts';
import { person } from '../dev/idp/catalog.ts';
import { normalizeTarget } from '../gateway/normalize.ts';
import type { Router } from '../gateway/router.ts';
import type { Identity } from '../gateway/types.ts';
import { ANONYMOUS, claimAt, claimValues, identityFromClaims } from '../identity/claims-identity.ts';
import type { CompiledProvider } from '../identity/provider.ts';
import type { ProviderKeySource } from '../identity/types.ts';
import type { PolicyEngine } from './engine.ts';
import { typedAttributes } from './explain-resource.ts';
import type { ExplainedResource, ExplainResourceInput } from './explain-resource.ts';
import { patternCovers } from './schema.ts';

/** A dev person, a dev agent (acting for a dev person, or for no one), a claims object, or a token. */
export type ExplainWho = { as: string } | { agent: string; for?: string | undefined } | { claims: Record<string, unknown> } | { token: string };

export interface ExplainRequest {
  who: ExplainWho;
  method: string;
  /** The request target as sent (`/orders/42?x=1`); normalized as the gateway does. */
  path: string;
  host?: string | undefined;
  /** The resource attributes to decide with, when the route has an attribute source. */
  resource?: ExplainResourceInput | undefined;
}

/** What a decision is explained against: one stage's config, its router, providers and policies. */
export interface ExplainWorld {
  config: Config;
  stage: Stage;
  router: Router<{ readonly id: string }>;
  providers: ReadonlyMap<string, CompiledProvider>;
  engine: PolicyEngine | undefined;
}

export type ExplainReason = 'ok' | 'authz.denied' | 'authz.policy_error' | 'authz.no_intent' | 'authz.attribute_unavailable' | 'route.not_found' | 'request.malformed' | 'public' | 'no_policy';

export interface ExplainedIdentity {
  subject: string;
  kind: Identity['kind'];
  method: Identity['method'];
  provider: string;
  issuer: string;
  roles: readonly string[];
  /** Where the identity came from: the dev catalog (--as), a claims object, or a token (not verified). */
  source: 'dev' | 'claims' | 'token';
  verified: false;
  /** The roles claim and how its values mapped to roles ([] for a value that maps to nothing). */
  mapping: { claim: string; values: { value: string; roles: readonly string[] }[] };
  actingFor?: { subject: string; roles: readonly string[] };
}

export interface Explanation {
  decision: 'allow' | 'deny';
  reason: ExplainReason;
  method: string;
  path: string;
  stage: Stage;
  route?: string;
  intent?: string;
  tags?: readonly string[];
  mode?: 'enforce' | 'shadow';
  identity?: ExplainedIdentity;
  /** The resource attributes decided with, and where they came from (routes with an attribute source only). */
  resource?: ExplainedResource;
  /** The policies that decided (permits that allowed, forbids that denied, policies that errored). */
  policies: string[];
  /** For a deny naming an intent: the roles whose grants in this stage cover it. */
  heldBy?: string[];
  errors: string[];
  notes: string[];
}

export type ExplainResult = { ok: true; explanation: Explanation } | { ok: false; problem: string };

/** A key source that holds no keys: explain reads claims and never verifies a signature. */
export const NO_KEYS: ProviderKeySource = Object.freeze({
  ready: () => false,
  getKey: () => undefined,
  hasKid: () => false,
  metadata: () => undefined,
  refreshForUnknownKid: () => Promise.resolve('failed' as const),
  onKeysRemoved: () => {},
  status: () => ({ keys: 0, kids: [], lastFetchAt: undefined, lastError: 'explain fetches no keys', fetches: 0, failures: 0 }),
});

export function explain(world: ExplainWorld, req: ExplainRequest): ExplainResult {
  const method = req.method.toUpperCase();
  const base = { method, path: req.path, stage: world.stage, policies: [] as string[], errors: [] as string[], notes: [] as string[] };
  const target = normalizeTarget(req.path);
  if (!target.ok) return done({ ...base, decision: 'deny', reason: 'request.malformed', notes: [`the path is refused before routing: ${target.detail}`] });
  const match = world.router.find(method, target.path, req.host ?? '');
  const rc = match.found ? world.config.routes[match.route.id] : undefined;
  const who = resolveIdentity(world, req.who, rc);
  if (!who.ok) return who;
  const identity = who.identity;
  const out: Explanation = { ...base, path: target.path, decision: 'deny', reason: 'route.not_found', identity: describe(identity, who.source, who.provider) };
  if ('token' in req.who) out.notes.push('the token was decoded, not verified: its signature, expiry and audience were not checked');
  if (!match.found || rc === undefined) {
    if (match.found) out.notes.push(`${target.path} is one of Cortex's own endpoints (${match.route.id}), not a configured route`);
    else if (match.allow.length > 0) out.notes.push(`the path exists for ${match.allow.join(', ')}`);
    return done(out);
  }
  out.route = match.route.id;
  out.tags = [...rc.tags];
  if (rc.intent !== undefined) out.intent = rc.intent;
  const publicRoute = rc.auth === 'none' || (Array.isArray(rc.auth) && rc.auth.length === 0);
  const policy = world.config.policy;
  if (publicRoute && (rc.intent === undefined || world.engine === undefined)) return done({ ...out, decision: 'allow', reason: 'public' });
  if (policy === undefined || world.engine === undefined) {
    out.notes.push('no policy section: any authenticated caller may use every route');
    return done({ ...out, decision: 'allow', reason: 'no_policy' });
  }
  out.mode = rc.policyMode ?? policy.mode;
  if (rc.intent === undefined) return done({ ...out, reason: 'authz.no_intent', notes: [...out.notes, 'this route declares no intent, so no one may use it'] });
  const subject = publicRoute ? ANONYMOUS : identity;
  if (publicRoute) out.notes.push('a public route with an intent: decided for the anonymous caller, whoever is asking');
  const resourceAttributes = resourceFor(rc, req, out);
  if (out.resource?.error !== undefined) return done({ ...out, reason: 'authz.attribute_unavailable' });
  const d = world.engine.decide({
    identity: subject,
    intent: rc.intent,
    routeId: match.route.id,
    tags: rc.tags,
    params: match.params,
    ...(resourceAttributes === undefined ? {} : { resourceAttributes }),
    stage: world.stage,
    clientIp: '127.0.0.1',
    nowMs: Date.now(),
  });
  out.decision = d.allow ? 'allow' : 'deny';
  out.reason = d.reason;
  out.policies = d.policyIds;
  out.errors = d.errors;
  if (!d.allow) out.heldBy = holders(policy.grants, rc.intent);
  if (!d.allow && out.mode === 'shadow') out.notes.push('shadow mode: this deny is recorded and the request goes through');
  return done(out);
}

/** Fills out.resource for a route with an attribute source; the attributes to decide with, if any. */
function resourceFor(rc: RouteConfig, req: ExplainRequest, out: Explanation): ExplainedResource['attributes'] | undefined {
  const source = rc.resource?.attributes;
  if (source === undefined) {
    if (req.resource !== undefined && 'given' in req.resource) out.notes.push('this route has no attribute source: the given resource attributes are not used');
    return undefined;
  }
  const r = req.resource;
  if (r === undefined) {
    out.resource = { source: 'none', attributes: {} };
    out.notes.push(`decided without the route's resource attributes (${Object.keys(source.pick).join(', ')}): explain does not call the attribute source unless asked (--lookup, or give them with --resource), so rules that compare them (ownership) do not apply here`);
    return undefined;
  }
  if ('given' in r) {
    const attributes = typedAttributes(rc, r.given, out.notes);
    out.resource = { source: 'given', attributes };
    return attributes;
  }
  if (!r.lookup.ok) {
    out.resource = { source: 'lookup', attributes: {}, error: r.lookup.error };
    out.notes.push('the attribute lookup failed: the gateway denies such a request (authz.attribute_unavailable)');
    return undefined;
  }
  out.resource = { source: 'lookup', attributes: r.lookup.attributes, found: r.lookup.found };
  if (!r.lookup.found) out.notes.push('the attribute source answered 404: the object does not exist, its attributes are absent');
  return r.lookup.attributes;
}

function done(explanation: Explanation): ExplainResult {
  return { ok: true, explanation };
}

/** The roles whose grant patterns cover the intent. */
export function holders(grants: Readonly<Record<string, readonly string[]>>, intent: string): string[] {
  return Object.entries(grants)
    .filter(([, patterns]) => patterns.some((p) => patternCovers(p, intent)))
    .map(([role]) => role)
    .sort();
}

type Resolved = { ok: true; identity: Identity; source: ExplainedIdentity['source']; provider: CompiledProvider } | { ok: false; problem: string };

function resolveIdentity(world: ExplainWorld, who: ExplainWho, rc: RouteConfig | undefined): Resolved {
  let claims: Record<string, unknown>;
  let provider: CompiledProvider | undefined;
  let source: ExplainedIdentity['source'];
  if ('as' in who || 'agent' in who) {
    const name = 'as' in who ? who.as : who.for;
    const p = name === undefined ? undefined : person(name);
    if (name !== undefined && p === undefined) return { ok: false, problem: `"${name}" is not a dev person (alice, bob, carol, or user-0001 ...); use a claims file or a token for anyone else` };
    provider = world.providers.get('dev') ?? (world.providers.size === 1 ? [...world.providers.values()][0] : undefined);
    if (provider === undefined) return { ok: false, problem: 'a dev person needs a provider named dev (or a single provider) in identity.providers' };
    claims = p === undefined ? {} : { sub: p.sub, groups: p.groups, name: p.name, email: p.email };
    // The dev identity provider's agent token: the person's claims, with the agent as the client and in act.
    if ('agent' in who) claims = p === undefined ? { sub: who.agent, client_id: who.agent } : { ...claims, client_id: who.agent, act: { sub: who.agent } };
    claims = { iss: provider.issuer, ...claims };
    source = 'dev';
  } else {
    if ('token' in who) {
      try {
        claims = decodeJwt(who.token);
      } catch (err) {
        return { ok: false, problem: `the token is not a JWT (${(err as Error).message})` };
      }
      source = 'token';
    } else {
      if (who.claims === null || typeof who.claims !== 'object' || Array.isArray(who.claims)) return { ok: false, problem: 'the claims must be a JSON object' };
      claims = who.claims;
      source = 'claims';
    }
    const iss = claims.iss;
    if (typeof iss !== 'string') return { ok: false, problem: 'the claims name no issuer (iss)' };
    provider = [...world.providers.values()].find((p) => p.issuerMatches(iss));
    if (provider === undefined) return { ok: false, problem: `no provider in identity.providers has the issuer ${iss}` };
  }
  const identity = identityFromClaims(provider, claims, methodFor(rc, source), undefined);
  if ('ok' in identity) return { ok: false, problem: `${identity.code}: ${identity.description}` };
  return { ok: true, identity, source, provider };
}

/** A dev person or claims reach a session-only route through a browser session, anything else as a bearer token. */
function methodFor(rc: RouteConfig | undefined, source: ExplainedIdentity['source']): Identity['method'] {
  if (source === 'token' || rc === undefined) return 'jwt';
  const methods = typeof rc.auth === 'string' ? [rc.auth] : rc.auth;
  return !methods.includes('bearer') && methods.includes('session') ? 'session' : 'jwt';
}

function describe(identity: Identity, source: ExplainedIdentity['source'], provider: CompiledProvider): ExplainedIdentity {
  const claim = provider.roles.claim;
  const values = claimValues(claimAt(identity.onBehalfOf?.claims ?? identity.claims, provider.roles.path, claim), provider.roles.path.at(-1) ?? '') ?? [];
  const mapping = { claim, values: values.map((value) => ({ value, roles: provider.roles.map.get(value) ?? (provider.roles.keepUnmapped ? [value] : []) })) };
  const out: ExplainedIdentity = {
    subject: identity.subject,
    kind: identity.kind,
    method: identity.method,
    provider: identity.provider,
    issuer: identity.issuer,
    roles: identity.roles,
    source,
    verified: false,
    mapping,
  };
  if (identity.onBehalfOf) out.actingFor = { subject: identity.onBehalfOf.subject, roles: identity.onBehalfOf.roles };
  return out;
}

/** The human form: a headline, who, and what decided. */
export function formatExplanation(e: Explanation): string {
  const where = e.route === undefined ? '' : `  →  route ${e.route}${e.intent === undefined ? '' : `, intent ${e.intent}`}`;
  const lines = [`${e.decision}  ${e.method} ${e.path}${where}`];
  const id = e.identity;
  if (id !== undefined) {
    const mapped = id.mapping.values.map((v) => `${v.value} → ${v.roles.join(', ') || '(nothing)'}`).join(', ');
    const via = `[provider ${id.provider}${mapped === '' ? '' : `, mapped from ${id.mapping.claim}: ${mapped}`}]`;
    const acting = id.actingFor === undefined ? '' : `, acting for ${id.actingFor.subject} (roles ${id.actingFor.roles.join(', ') || 'none'})`;
    lines.push(`  who: ${id.subject} (${id.kind}) via ${id.method}, roles ${id.roles.join(', ') || 'none'}${acting}  ${via}`);
  }
  if (e.decision === 'allow') lines.push(`  decided by: ${e.policies.join(', ') || reasonText(e)}`);
  else {
    lines.push(`  reason: ${e.reason}${e.intent === undefined || e.reason === 'authz.no_intent' ? '' : ` (needs ${e.intent})`}${e.policies.length > 0 ? `, by ${e.policies.join(', ')}` : ''}`);
    if (e.heldBy !== undefined) lines.push(`  held by: ${e.heldBy.length > 0 ? e.heldBy.map((r) => `role ${r}`).join(', ') : 'no role in this stage'}`);
  }
  if (e.resource !== undefined) lines.push(`  resource: ${describeResource(e.resource)}`);
  for (const err of e.errors) lines.push(`  error: ${err}`);
  for (const note of e.notes) lines.push(`  note: ${note}`);
  return `${lines.join('\n')}\n`;
}

function describeResource(r: ExplainedResource): string {
  const attrs = Object.entries(r.attributes).map(([k, v]) => `${k}=${typeof v === 'string' ? v : `[${v.join(',')}]`}`).join(', ') || 'no attributes';
  if (r.source === 'none') return 'attributes not looked up';
  if (r.source === 'given') return `${attrs} (given)`;
  if (r.error !== undefined) return `lookup failed: ${r.error}`;
  return `${attrs} (looked up${r.found === false ? ': not found' : ''})`;
}

function reasonText(e: Explanation): string {
  return e.reason === 'public' ? 'public route: no decision needed' : e.reason === 'no_policy' ? 'no policy: authentication only' : e.reason;
}
