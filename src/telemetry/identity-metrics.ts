// Identity-plane metrics, read from the plane's own counters when Prometheus scrapes (nothing is
// counted twice on the request path): token cache lookups and size, key set fetches per provider.
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

export interface IdentityStats {
  cache: { hits: number; misses: number; size: number };
  providers: Record<string, { ready: boolean; keys: number; fetches: number; failures: number }>;
}

export interface PolicyCacheStats {
  hits: number;
  misses: number;
  size: number;
}

/** The decision cache of the serving snapshot's policies (a reload starts a new cache). */
export function registerPolicyMetrics(registry: Registry, stats: () => PolicyCacheStats | undefined): void {
  new Counter({
    name: 'cortex_decision_cache_lookups_total',
    help: 'Policy decisions, by result: hit (answered from the decision cache) or miss (decided by the engine: its fast path or Cedar), since the serving config was loaded.',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      const s = stats();
      this.reset();
      if (!s) return;
      this.inc({ result: 'hit' }, s.hits);
      this.inc({ result: 'miss' }, s.misses);
    },
  });
  new Gauge({
    name: 'cortex_decision_cache_entries',
    help: 'Decisions held in the decision cache.',
    registers: [registry],
    collect() {
      this.set(stats()?.size ?? 0);
    },
  });
}

export function registerIdentityMetrics(registry: Registry, stats: () => IdentityStats | undefined): void {
  new Counter({
    name: 'cortex_token_cache_lookups_total',
    help: 'Bearer token cache lookups, by result (hit: no signature check was needed).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      const s = stats();
      if (!s) return;
      this.reset();
      this.inc({ result: 'hit' }, s.cache.hits);
      this.inc({ result: 'miss' }, s.cache.misses);
    },
  });
  new Gauge({
    name: 'cortex_token_cache_entries',
    help: 'Verified tokens held in the cache.',
    registers: [registry],
    collect() {
      this.set(stats()?.cache.size ?? 0);
    },
  });
  new Counter({
    name: 'cortex_jwks_fetches_total',
    help: "Fetches of identity providers' key sets, by provider and result.",
    labelNames: ['provider', 'result'],
    registers: [registry],
    collect() {
      const s = stats();
      if (!s) return;
      this.reset();
      for (const [provider, p] of Object.entries(s.providers)) {
        this.inc({ provider, result: 'ok' }, Math.max(0, p.fetches - p.failures));
        this.inc({ provider, result: 'error' }, p.failures);
      }
    },
  });
  new Gauge({
    name: 'cortex_jwks_keys',
    help: "Signing keys held for each identity provider (last known good).",
    labelNames: ['provider'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [provider, p] of Object.entries(stats()?.providers ?? {})) this.set({ provider }, p.keys);
    },
  });
}
