// A provider as compiled into a snapshot: its config resolved against its preset, once. The
// long-lived parts (key set, introspection client) come from the IdentityRuntime and outlive it.
import type { ProviderConfig } from '../config/schema-identity.ts';
import { PRESETS } from './presets.ts';
import type { PresetShape } from './presets.ts';
import type { ProviderKeySource, TokenIntrospector } from './types.ts';

export interface CompiledProvider {
  readonly name: string;
  readonly issuer: string;
  readonly shape: PresetShape;
  readonly algorithms: readonly string[];
  readonly tokenType: string;
  readonly clockSkewSeconds: number;
  readonly maxTokenLifetimeSeconds: number;
  readonly maxTokenBytes: number;
  readonly audiences: ReadonlySet<string>;
  readonly idTokenAudiences: ReadonlySet<string>;
  readonly roles: { readonly claim: string; readonly path: readonly string[]; readonly map: ReadonlyMap<string, readonly string[]>; readonly keepUnmapped: boolean };
  readonly services: ReadonlyMap<string, readonly string[]>;
  readonly agents: ReadonlyMap<string, readonly string[]>;
  readonly keys: ProviderKeySource;
  /** Checks opaque tokens; undefined when the provider has no introspection configured. */
  readonly introspector: (() => TokenIntrospector | undefined) | undefined;
  /** The settings that decide whether a token is accepted; a cached token checked under other rules is checked again. */
  readonly rules: string;
  /** Whether `iss` names this provider (exactly, or an accepted tenant of a {tenantid} issuer). */
  issuerMatches(iss: string): boolean;
}

export interface ProviderRuntimeParts {
  keys: ProviderKeySource;
  introspector: (() => TokenIntrospector | undefined) | undefined;
}

const TENANT = '{tenantid}';

export function compileProvider(name: string, cfg: ProviderConfig, parts: ProviderRuntimeParts): CompiledProvider {
  const shape = PRESETS[cfg.preset];
  const claim = cfg.roles.claim ?? shape.rolesClaim;
  return Object.freeze({
    name,
    issuer: cfg.issuer,
    shape,
    algorithms: Object.freeze([...(cfg.algorithms ?? shape.algorithms)]),
    tokenType: normalizeTyp(cfg.tokenType ?? shape.tokenType),
    clockSkewSeconds: cfg.clockSkewSeconds,
    maxTokenLifetimeSeconds: cfg.maxTokenLifetimeSeconds,
    maxTokenBytes: cfg.maxTokenBytes,
    audiences: new Set(cfg.audiences),
    idTokenAudiences: new Set(cfg.idTokenAudiences),
    roles: Object.freeze({
      claim,
      path: Object.freeze(claim.split('.')),
      map: new Map(Object.entries(cfg.roles.map).map(([k, v]) => [k, Object.freeze([...v])])),
      keepUnmapped: cfg.roles.keepUnmapped,
    }),
    services: new Map(Object.entries(cfg.services).map(([k, v]) => [k, Object.freeze([...v.roles])])),
    agents: new Map(Object.entries(cfg.agents).map(([k, v]) => [k, Object.freeze([...v.roles])])),
    keys: parts.keys,
    introspector: parts.introspector,
    issuerMatches: issuerMatcher(cfg.issuer, cfg.tenants),
    rules: checkingRules(cfg),
  });
}

/**
 * What decides whether a token is accepted. Left out: what a cache hit takes from the current
 * provider anyway (roles, services, agents, audiences), introspection (opaque tokens are not in
 * the token cache), and where keys come from (a key set leaving out a kid drops its tokens).
 */
function checkingRules(cfg: ProviderConfig): string {
  const { roles: _roles, services: _services, agents: _agents, audiences: _audiences, introspection: _introspection, keys: _keys, discoveryUrl: _discoveryUrl, jwksUri: _jwksUri, ...rules } = cfg;
  return JSON.stringify(rules);
}

/** RFC 9068 §4: `at+jwt` and `application/at+jwt` are the same media type; compared without case. */
export function normalizeTyp(typ: string): string {
  const t = typ.toLowerCase();
  return t.startsWith('application/') ? t.slice('application/'.length) : t;
}

export function issuerMatcher(issuer: string, tenants: readonly string[] | undefined): (iss: string) => boolean {
  const at = issuer.indexOf(TENANT);
  if (at === -1) return (iss) => iss === issuer;
  const before = issuer.slice(0, at);
  const after = issuer.slice(at + TENANT.length);
  const accepted = new Set(tenants ?? []);
  return (iss) => {
    if (!iss.startsWith(before) || !iss.endsWith(after) || iss.length <= before.length + after.length) return false;
    return accepted.has(iss.slice(before.length, iss.length - after.length));
  };
}

/** Entra's multi-tenant tokens also carry the tenant in tid: it must agree with the issuer's. */
export function tenantAgrees(provider: CompiledProvider, claims: Readonly<Record<string, unknown>>): boolean {
  const at = provider.issuer.indexOf(TENANT);
  if (at === -1) return true;
  const iss = claims.iss as string;
  const tenant = iss.slice(at, iss.length - (provider.issuer.length - at - TENANT.length));
  return claims.tid === undefined || claims.tid === tenant;
}
