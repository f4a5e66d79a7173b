// Verified claims → an Identity: the kind of caller (a person, a service, an agent acting for a
// person), its roles under this stage's mapping, and its fingerprint.
import { createHash } from 'node:crypto';
import type { Identity } from '../gateway/types.ts';
import type { CompiledProvider } from './provider.ts';
import { authnFailure } from './types.ts';
import type { AuthnFailure } from './types.ts';

type Claims = Readonly<Record<string, unknown>>;

export const ANONYMOUS: Identity = Object.freeze({
  subject: 'anonymous',
  issuer: 'cortex',
  provider: 'none',
  kind: 'anonymous',
  method: 'none',
  roles: Object.freeze([]),
  claims: Object.freeze({}),
  fingerprint: fingerprint('cortex', 'anonymous', '', 'none'),
});

/** A stable digest of who the caller is: the same person through the same method, whatever key signed. */
export function fingerprint(issuer: string, subject: string, onBehalfOf: string, method: string): string {
  // JSON, not a separator: a subject may contain any character, and two callers must never collide.
  return createHash('sha256').update(JSON.stringify([issuer, subject, onBehalfOf, method])).digest('base64url').slice(0, 22);
}

/** The value at a dotted claim path ('realm_access.roles'); a whole claim name containing dots wins. */
export function claimAt(claims: Claims, path: readonly string[], whole: string): unknown {
  if (Object.hasOwn(claims, whole)) return claims[whole];
  let v: unknown = claims;
  for (const part of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

// OAuth sends scopes as one space-separated string (RFC 6749 §3.3); any other roles claim sent as a
// string is refused rather than split, so '"not admins"' can never become the role 'admins'.
const SPACE_SEPARATED_CLAIMS = new Set(['scope', 'scp']);

/** The role claim's values: a list of strings, or for scope/scp a space-separated string. Undefined = wrong type. */
export function claimValues(value: unknown, claimName: string): readonly string[] | undefined {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return SPACE_SEPARATED_CLAIMS.has(claimName) ? value.split(' ').filter((s) => s !== '') : undefined;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  return undefined;
}

export function mapRoles(provider: CompiledProvider, values: readonly string[], own: readonly string[] = []): readonly string[] {
  const roles = new Set(own);
  for (const v of values) {
    const mapped = provider.roles.map.get(v);
    if (mapped) for (const r of mapped) roles.add(r);
    else if (provider.roles.keepUnmapped) roles.add(v);
  }
  return Object.freeze([...roles].sort());
}

export function clientIdOf(provider: CompiledProvider, claims: Claims): string | undefined {
  for (const name of provider.shape.clientIdClaims) {
    const v = claims[name];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}

/**
 * Builds the caller's Identity from verified claims. Kinds:
 * - agent: the token has an RFC 8693 `act` claim (act.sub is the agent, sub the person), or was
 *   issued to a client listed under agents; it acts for the person in `sub` unless it is a
 *   client-credentials token of its own;
 * - service: a token with no person behind it (the preset says how to tell);
 * - user: everything else.
 */
export function identityFromClaims(
  provider: CompiledProvider,
  claims: Claims,
  method: Identity['method'],
  keyId: string | undefined,
): Identity | AuthnFailure {
  const values = claimValues(claimAt(claims, provider.roles.path, provider.roles.claim), provider.roles.path.at(-1) ?? '');
  if (values === undefined) return authnFailure('authn.bad_claims', `The ${provider.roles.claim} claim must be a list of strings.`);
  const clientId = clientIdOf(provider, claims);
  const sub = typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : undefined;
  const act = claims.act as { sub?: unknown } | undefined;
  const actor = act !== undefined && typeof act.sub === 'string' && act.sub !== '' ? act.sub : undefined;
  const service = provider.shape.isServiceToken(claims, clientId);
  const issuer = claims.iss as string;
  const expiresAt = typeof claims.exp === 'number' ? claims.exp : undefined;
  const base = { issuer, provider: provider.name, method, claims, keyId, expiresAt };

  const agentId = actor ?? (clientId !== undefined && provider.agents.has(clientId) ? clientId : undefined);
  if (agentId !== undefined) {
    const own = provider.agents.get(agentId) ?? [];
    const person = !service && sub !== undefined && sub !== agentId ? sub : undefined;
    const onBehalfOf: Identity | undefined =
      person === undefined
        ? undefined
        : Object.freeze({ ...base, subject: person, kind: 'user' as const, roles: mapRoles(provider, values), fingerprint: fingerprint(issuer, person, '', method) });
    return Object.freeze({
      ...base,
      subject: agentId,
      kind: 'agent' as const,
      onBehalfOf,
      roles: person === undefined ? mapRoles(provider, values, own) : Object.freeze([...own].sort()),
      fingerprint: fingerprint(issuer, agentId, person ?? '', method),
    });
  }
  if (service) {
    const subject = clientId ?? sub;
    if (subject === undefined) return authnFailure('authn.bad_claims', 'The token names neither a subject nor a client.');
    const own = provider.services.get(subject) ?? [];
    return Object.freeze({ ...base, subject, kind: 'service' as const, roles: mapRoles(provider, values, own), fingerprint: fingerprint(issuer, subject, '', method) });
  }
  if (sub === undefined) return authnFailure('authn.bad_claims', 'The token has no subject (sub).');
  return Object.freeze({ ...base, subject: sub, kind: 'user' as const, roles: mapRoles(provider, values), fingerprint: fingerprint(issuer, sub, '', method) });
}
