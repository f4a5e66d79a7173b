// Small pure pieces of the Gateway, kept out of gateway.ts: what a reload cannot change, the route
// list and identity figures the admin listener and metrics show, and a problem string split back
// into its path and message.
import type { ConfigProblem } from '../config/problems.ts';
import type { Config } from '../config/schema.ts';
import type { IdentityRuntime } from '../identity/runtime.ts';
import type { Snapshot } from './snapshot.ts';

const RESTART_ONLY = ['gateway.listen', 'gateway.tls', 'credentials.signingKeys', 'admin', 'audit'] as const;

/** The config keys that differ between two configs but only take effect at the next restart. */
export function restartOnlyChanges(before: Config, after: Config): string[] {
  const pick = (c: Config, key: (typeof RESTART_ONLY)[number]): unknown =>
    key === 'gateway.listen' ? c.gateway.listen : key === 'gateway.tls' ? c.gateway.tls : key === 'credentials.signingKeys' ? c.credentials.signingKeys : c[key];
  return RESTART_ONLY.filter((key) => JSON.stringify(pick(before, key)) !== JSON.stringify(pick(after, key)));
}

export function routeListOf(snapshot: Snapshot): unknown[] {
  const cfg = snapshot.config;
  return [...snapshot.routes.values()].map((r) => ({ id: r.id, upstream: r.upstream, match: cfg.routes[r.id]?.match, filters: r.chain.map((f) => f.name) }));
}

export function identityStatsOf(identity: IdentityRuntime) {
  const c = identity.cache;
  const providers: Record<string, { ready: boolean; keys: number; fetches: number; failures: number }> = {};
  for (const [name, st] of Object.entries(identity.status())) providers[name] = { ready: st.ready, keys: st.keys, fetches: st.fetches, failures: st.failures };
  return { cache: { hits: c.hits, misses: c.misses, size: c.size }, providers };
}

/** 'routes.x.upstream: message' → { path, message } */
export function splitProblem(problem: string): ConfigProblem {
  const at = problem.indexOf(': ');
  return at === -1 ? { path: '', message: problem } : { path: problem.slice(0, at), message: problem.slice(at + 2) };
}
