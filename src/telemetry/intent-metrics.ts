// Intents-plane metrics, read from the imported APIs' runtime (intents/runtime.ts) when Prometheus
// scrapes: document refreshes, operations by state, changes waiting for approval.
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

export interface ImportedApiStats {
  refreshes: { ok: number; unchanged: number; failed: number };
  operations: { served: number; no_intent: number; unsupported: number };
  pending: number;
}

export function registerIntentMetrics(registry: Registry, stats: () => Record<string, ImportedApiStats> | undefined): void {
  new Counter({
    name: 'cortex_openapi_refresh_total',
    help: "Fetches of imported APIs' OpenAPI documents, by api and result: ok (a new document), unchanged (same digest), failed (the last good one keeps serving).",
    labelNames: ['api', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [api, s] of Object.entries(stats() ?? {})) {
        for (const result of ['ok', 'unchanged', 'failed'] as const) this.inc({ api, result }, s.refreshes[result]);
      }
    },
  });
  new Gauge({
    name: 'cortex_openapi_operations',
    help: "Operations of imported APIs' documents, by api and state: served (with an intent), no_intent (denied, authz.no_intent), unsupported (cannot be a route; denied).",
    labelNames: ['api', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [api, s] of Object.entries(stats() ?? {})) {
        for (const state of ['served', 'no_intent', 'unsupported'] as const) this.set({ api, state }, s.operations[state]);
      }
    },
  });
  new Gauge({
    name: 'cortex_intent_changes_pending',
    help: "Changes to an imported operation's intent or tags held until approved (cortex intents approve) in this protected stage.",
    labelNames: ['api'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [api, s] of Object.entries(stats() ?? {})) this.set({ api }, s.pending);
    },
  });
}
