// Cortex's own delegated tokens (RFC 8693 exchange at /.cortex/token) accepted like any provider's:
// a built-in provider named `cortex` whose keys are the signing ring's published ones. A token of
// it is an agent (act.sub) acting for a person (sub) with the person's `roles`; the agent's roles
// come from its identity-provider config at the time of the request, so a reload that narrows
// them applies at once (the token's `agent_roles` only records what they were at the exchange).
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import type { KeyObject } from 'node:crypto';
import type { Identity } from '../gateway/types.ts';
import { PRESETS } from './presets.ts';
import type { CompiledProvider } from './provider.ts';
import type { ProviderKeySource } from './types.ts';

export const CORTEX_PROVIDER = 'cortex';

export interface CortexKeys {
  jwks(): JSONWebKeySet;
  publicKey(kid: string): KeyObject | undefined;
}

function published(ring: CortexKeys, kid: string): boolean {
  return ring.jwks().keys.some((k) => k.kid === kid);
}

export function cortexKeySource(ring: CortexKeys, issuer: () => string): ProviderKeySource {
  const getKey: JWTVerifyGetKey = (header) => {
    const key = header.kid !== undefined && published(ring, header.kid) ? ring.publicKey(header.kid) : undefined;
    if (key === undefined) throw new Error('no such key');
    return key;
  };
  return {
    ready: () => true,
    getKey: () => getKey,
    hasKid: (kid) => published(ring, kid),
    metadata: () => ({ issuer: issuer(), jwks_uri: `${issuer()}/.cortex/jwks.json` }),
    refreshForUnknownKid: () => Promise.resolve('unchanged'),
    onKeysRemoved: () => undefined,
    status: () => {
      const kids = ring.jwks().keys.map((k) => k.kid ?? '');
      return { keys: kids.length, kids, lastFetchAt: undefined, lastError: undefined, fetches: 0, failures: 0 };
    },
  };
}

export interface CortexProviderOptions {
  /** Read per token: the default issuer names the port the gateway got, known only once it listens. */
  issuer: () => string;
  audience: string;
  ring: CortexKeys;
  /** Agent client id → its own roles (from identity.providers.*.agents). */
  agents: ReadonlyMap<string, readonly string[]>;
  maxLifetimeSeconds: number;
}

export function compileCortexProvider(o: CortexProviderOptions): CompiledProvider {
  const shape = { ...PRESETS.generic, rolesClaim: 'roles', tokenType: 'at+jwt', algorithms: ['ES256', 'EdDSA', 'RS256'] };
  const matches = (iss: string): boolean => iss === o.issuer();
  return Object.freeze({
    name: CORTEX_PROVIDER,
    get issuer() {
      return o.issuer();
    },
    shape,
    algorithms: Object.freeze(['ES256', 'EdDSA', 'RS256']),
    tokenType: 'at+jwt',
    clockSkewSeconds: 5,
    maxTokenLifetimeSeconds: o.maxLifetimeSeconds,
    maxTokenBytes: 8192,
    audiences: new Set([o.audience]),
    idTokenAudiences: new Set<string>(),
    roles: Object.freeze({ claim: 'roles', path: Object.freeze(['roles']), map: new Map<string, readonly string[]>(), keepUnmapped: true }),
    services: new Map<string, readonly string[]>(),
    agents: o.agents,
    keys: cortexKeySource(o.ring, o.issuer),
    introspector: undefined,
    rules: JSON.stringify({ cortex: o.issuer(), lifetime: o.maxLifetimeSeconds }),
    issuerMatches: matches,
  });
}

/** Agent client id → its roles, from every configured provider (the first that lists an agent wins). */
export function agentRolesOf(providers: ReadonlyMap<string, CompiledProvider>): Map<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  for (const p of providers.values()) for (const [id, roles] of p.agents) if (!out.has(id)) out.set(id, roles);
  return out;
}

/** True for an identity built from a Cortex delegated token. */
export function isDelegated(identity: Identity): boolean {
  return identity.provider === CORTEX_PROVIDER && identity.kind === 'agent';
}

/** The intents a delegated token carries (its scope). */
export function delegatedScope(identity: Identity): readonly string[] {
  const scope = identity.claims.scope;
  return typeof scope === 'string' ? scope.split(' ').filter((s) => s !== '') : [];
}

/** What revocations are checked against, from a delegated identity. */
export function delegatedRef(identity: Identity): { jti: string; agent: string; issuer: string; subject: string; iat: number } {
  const c = identity.claims;
  return {
    jti: typeof c.jti === 'string' ? c.jti : '',
    agent: identity.subject,
    issuer: typeof c.person_iss === 'string' ? c.person_iss : identity.issuer,
    subject: identity.onBehalfOf?.subject ?? '',
    iat: typeof c.iat === 'number' ? c.iat : 0,
  };
}
