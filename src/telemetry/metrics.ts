// Prometheus metrics for the gateway. Each GatewayMetrics owns its Registry so that several
// gateways in one process (tests, `cortex dev`) never share or collide on series. Per-request
// metrics use the Map-backed families in metric-families.ts; rare ones use prom-client directly.
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { registerAuditMetrics } from './audit-metrics.ts';
import type { SinkStats } from '../audit/sink.ts';
import { registerIdentityMetrics, registerPolicyMetrics } from './identity-metrics.ts';
import type { IdentityStats, PolicyCacheStats } from './identity-metrics.ts';
import { registerIntentMetrics } from './intent-metrics.ts';
import type { ImportedApiStats } from './intent-metrics.ts';
import { CounterFamily, HistogramFamily } from './metric-families.ts';
import { registerSigningKeyMetrics } from './signing-key-metrics.ts';
import type { SigningKeyInfo } from './signing-key-metrics.ts';

export type UpstreamOutcome = 'ok' | 'error' | 'timeout';

export interface GatewayMetrics {
  readonly registry: Registry;
  /** One finished data-plane request. `kind` is the identity kind, 'none' when unauthenticated. */
  request(route: string, method: string, status: number, code: string, seconds: number, kind?: string): void;
  upstream(upstream: string, outcome: UpstreamOutcome, seconds: number): void;
  /** A request retried on another target of `upstream` after a connect failure. */
  upstreamRetry(upstream: string): void;
  /** A request rejected by the HTTP parser before it became a request (malformed, header too large). */
  clientError(code: string): void;
  configReload(result: 'ok' | 'error'): void;
  setSnapshotGeneration(n: number): void;
  auditEvent(sink: string, result: 'ok' | 'dropped'): void;
  /** Where scrapes read the audit sinks' queues, spools, drops and batches from. */
  setAuditStats(source: () => Record<string, SinkStats>): void;
  setInflight(n: number): void;
  /** One authentication attempt: the provider and 'ok', or '-' and the failure's reason code. */
  authn(provider: string, result: string): void;
  /**
   * One authorization decision: allow, deny, shadow_deny (shadow mode let it through), error, no_intent,
   * undeclared (an imported API's catch-all); `seconds` is how long deciding took (attribute lookup included).
   */
  authz(route: string, intent: string, result: string, seconds?: number): void;
  /** Where scrapes read the identity plane's counters from. */
  setIdentityStats(source: () => IdentityStats): void;
  /** Where scrapes read the decision cache's counters from. */
  setPolicyStats(source: () => PolicyCacheStats | undefined): void;
  /** Where scrapes read the imported APIs' refreshes, operations and pending changes from. */
  setIntentStats(source: () => Record<string, ImportedApiStats>): void;
  /** Where scrapes read the signing key ring's keys from (undefined until the ring is open). */
  setSigningKeys(source: () => readonly SigningKeyInfo[] | undefined): void;
  render(): Promise<{ contentType: string; body: string }>;
}

export const METRIC_PREFIX = 'cortex_';

/** Latency buckets in seconds: sub-millisecond local replies up to slow upstreams. */
export const DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Decision buckets in seconds: a cached decision takes microseconds, an attribute lookup milliseconds. */
export const DECISION_BUCKETS: readonly number[] = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

  const requests = new CounterFamily(
    registry,
    'cortex_requests_total',
    'Requests answered by the gateway, by route, method, status, reason code and identity kind.',
    ['route', 'method', 'status', 'code', 'kind'],
  );
  const requestDuration = new HistogramFamily(
    registry,
    'cortex_request_duration_seconds',
    'Time from accepting a request to finishing its response, by route.',
    ['route'],
    DURATION_BUCKETS,
  );
  const upstreamRequests = new CounterFamily(
    registry,
    'cortex_upstream_requests_total',
    'Requests sent to upstreams, by upstream and outcome.',
    ['upstream', 'outcome'],
  );
  const upstreamDuration = new HistogramFamily(
    registry,
    'cortex_upstream_duration_seconds',
    'Time from sending a request upstream to its response finishing, by upstream.',
    ['upstream'],
    DURATION_BUCKETS,
  );
  const upstreamRetries = new CounterFamily(
    registry,
    'cortex_upstream_retries_total',
    'Requests retried on another target after a connect failure, by upstream.',
    ['upstream'],
  );
  const auditEvents = new CounterFamily(
    registry,
    'cortex_audit_events_total',
    'Audit events handed to sinks, by sink and result.',
    ['sink', 'result'],
  );
  const clientErrors = new CounterFamily(
    registry,
    'cortex_client_errors_total',
    'Connections rejected by the HTTP parser before routing, by reason code.',
    ['code'],
  );
  const configReloads = new CounterFamily(registry, 'cortex_config_reloads_total', 'Config reload attempts, by result.', [
    'result',
  ]);
  const lastReloadSuccess = new Gauge({
    name: 'cortex_config_last_reload_success_timestamp_seconds',
    help: 'Unix time of the last successful config load or reload.',
    registers: [registry],
  });
  const generation = new Gauge({
    name: 'cortex_config_generation',
    help: 'Generation number of the config snapshot currently serving.',
    registers: [registry],
  });
  const authnResults = new CounterFamily(registry, 'cortex_authn_total', 'Authentication attempts, by provider and result (ok or a reason code).', [
    'provider',
    'result',
  ]);
  const authzDecisions = new CounterFamily(registry, 'cortex_authz_decisions_total', 'Authorization decisions, by route, intent and result (allow, deny, shadow_deny, error, no_intent, undeclared).', [
    'route',
    'intent',
    'result',
  ]);
  const decisionDuration = new HistogramFamily(
    registry,
    'cortex_decision_duration_seconds',
    'Time the authz filter took to decide a request, attribute lookups included.',
    [],
    DECISION_BUCKETS,
  );
  const decisionSeries = decisionDuration.create('', []);
  let signingKeys: (() => readonly SigningKeyInfo[] | undefined) | undefined;
  registerSigningKeyMetrics(registry, () => signingKeys?.());
  let auditStats: (() => Record<string, SinkStats>) | undefined;
  registerAuditMetrics(registry, () => auditStats?.());
  let identityStats: (() => IdentityStats) | undefined;
  registerIdentityMetrics(registry, () => identityStats?.());
  let policyStats: (() => PolicyCacheStats | undefined) | undefined;
  registerPolicyMetrics(registry, () => policyStats?.());
  let intentStats: (() => Record<string, ImportedApiStats>) | undefined;
  registerIntentMetrics(registry, () => intentStats?.());
  // Set twice per request, so it is a plain variable read only when scraped.
  let inflight = 0;
  new Gauge({
    name: 'cortex_requests_in_flight',
    help: 'Requests accepted and not yet finished.',
    registers: [registry],
    collect() {
      this.set(inflight);
    },
  });

  return {
    registry,
    request(route, method, status, code, seconds, kind = 'none') {
      const key = `${route}\u0000${method}\u0000${status}\u0000${code}\u0000${kind}`;
      (requests.find(key) ?? requests.create(key, [route, method, String(status), code, kind])).value++;
      requestDuration.observe(requestDuration.find(route) ?? requestDuration.create(route, [route]), seconds);
    },
    upstream(upstream, outcome, seconds) {
      const key = `${upstream}\u0000${outcome}`;
      (upstreamRequests.find(key) ?? upstreamRequests.create(key, [upstream, outcome])).value++;
      upstreamDuration.observe(upstreamDuration.find(upstream) ?? upstreamDuration.create(upstream, [upstream]), seconds);
    },
    upstreamRetry(upstream) {
      upstreamRetries.inc([upstream]);
    },
    clientError(code) {
      clientErrors.inc([code]);
    },
    configReload(result) {
      configReloads.inc([result]);
      if (result === 'ok') lastReloadSuccess.set(Date.now() / 1000);
    },
    setSnapshotGeneration(n) {
      generation.set(n);
    },
    auditEvent(sink, result) {
      const key = `${sink}\u0000${result}`;
      (auditEvents.find(key) ?? auditEvents.create(key, [sink, result])).value++;
    },
    setInflight(n) {
      inflight = n;
    },
    authn(provider, result) {
      const key = `${provider}\u0000${result}`;
      (authnResults.find(key) ?? authnResults.create(key, [provider, result])).value++;
    },
    authz(route, intent, result, seconds) {
      const key = `${route}\u0000${intent}\u0000${result}`;
      (authzDecisions.find(key) ?? authzDecisions.create(key, [route, intent, result])).value++;
      if (seconds !== undefined) decisionDuration.observe(decisionSeries, seconds);
    },
    setAuditStats(source) {
      auditStats = source;
    },
    setIdentityStats(source) {
      identityStats = source;
    },
    setPolicyStats(source) {
      policyStats = source;
    },
    setIntentStats(source) {
      intentStats = source;
    },
    setSigningKeys(source) {
      signingKeys = source;
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
