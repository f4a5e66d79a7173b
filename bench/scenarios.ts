// Bench scenarios. A scenario is a name, a Cortex config, which baselines to run beside it, and the
// targets it is judged against. Add TLS, bearer-path or policy scenarios here as more entries: the
// runner and the report pick them up (one section per scenario, one row per proxy).
import { join } from 'node:path';
import { auditDbFile, prepareAuditSqlite } from './lib/audit-sqlite.ts';
import { bearerConfig, prepareBearer } from './lib/bearer.ts';
import { policyConfig, preparePolicy } from './lib/policy-scenario.ts';

export type Baseline = 'nginx' | 'bare';
/** 'direct' is the calibration row: the load generators straight at the upstream, no proxy. */
export type ProxyId = Baseline | 'cortex' | 'direct';

export const PROXY_LABEL: Record<ProxyId, string> = {
  nginx: 'nginx (1 worker)',
  bare: 'bare undici proxy',
  cortex: 'Cortex',
  direct: 'no proxy (calibration)',
};

export interface ScenarioContext {
  /** Directory for this scenario's files (configs, keys, audit log), under bench/.work/. */
  dir: string;
  upstreamUrl: string;
  gatewayPort: number;
  adminPort: number;
  auditFile: string;
  /** Set by a bearer scenario's prepare: the provider the gateway accepts tokens from. */
  identity?: { issuer: string; audience: string };
}

export type Target =
  | { kind: 'ratio'; to: Baseline; atLeast: number; label: string }
  /** Cortex's maximum here over Cortex's maximum in another scenario of the same run. */
  | { kind: 'scenario-ratio'; scenario: string; atLeast: number; label: string }
  | { kind: 'half-load-p99'; atMostMs: number; label: string };

export interface Prepared {
  /** Extra request headers for every load generator (and the sanity request). */
  headers?: Record<string, string>;
  /** Access tokens, one a line: each request carries the next as `Authorization: Bearer`. */
  tokensFile?: string;
  /** A token from the file, for the sanity request. */
  sanityToken?: string;
  /** Lines for the report's notes (how the tokens were made, what the run measures). */
  notes?: string[];
  /** How fast the provider minted the tokens (tokens/s). */
  mintPerSecond?: number;
  /** Runs after Cortex's last load, before it stops (scrape its admin /metrics into notes). */
  beforeCortexStops?(): Promise<void>;
  /** Stops what prepare started (an identity provider), after the scenario's last proxy. */
  close?(): Promise<void>;
}

export interface Scenario {
  name: string;
  title: string;
  description: string;
  /** Request path sent through every proxy. */
  path: string;
  /** Baselines measured beside Cortex (each gets the same path and headers). */
  baselines: readonly Baseline[];
  /** Cortex's config for this scenario, as a plain object (written out as YAML). */
  cortexConfig(ctx: ScenarioContext): Record<string, unknown>;
  /** Optional async setup (start an IdP, mint tokens, write keys). */
  prepare?(ctx: ScenarioContext): Promise<Prepared>;
  targets: readonly Target[];
  /** Scenarios whose Cortex figures this one's targets compare with; the runner runs them too. */
  comparesWith?: readonly string[];
  /** The "no proxy" calibration row; true unless set (TLS scenarios never have one). */
  calibrate?: boolean;
  /**
   * Served over TLS with the certificate in tlsFiles(ctx) (made by the runner for the run), by
   * Cortex and nginx alike. http2: false is HTTP/1.1 (wrk), true is HTTP/2 by ALPN (h2load). TLS
   * scenarios measure the maximum only (no half-load runs: autocannon and the paced wrk script speak
   * neither HTTP/2 nor, here, TLS) and have no calibration row (the upstream is plain HTTP).
   */
  tls?: { http2: boolean };
}

/** Where a TLS scenario's certificate and key are (a local CA's leaf for localhost/127.0.0.1). */
export function tlsFiles(ctx: ScenarioContext): { dir: string; cert: string; key: string; ca: string } {
  const dir = join(ctx.dir, 'tls');
  return { dir, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), ca: join(dir, 'ca.pem') };
}

/** One prefix route `/` to the upstream, with the given audit sinks. */
function passthroughConfig(ctx: ScenarioContext, sinks: Record<string, unknown>[]): Record<string, unknown> {
  return {
    version: 1,
    gateway: { listen: { host: '127.0.0.1', port: ctx.gatewayPort } },
    admin: { listen: { host: '127.0.0.1', port: ctx.adminPort } },
    upstreams: { origin: { url: ctx.upstreamUrl } },
    routes: { all: { match: { prefix: '/' }, upstream: 'origin', auth: 'none' } },
    audit: { sinks },
    log: { level: 'warn' },
  };
}

/** passthroughConfig with the audit trail on, served over TLS (HTTP/2 by ALPN or HTTP/1.1 only). */
function tlsConfig(ctx: ScenarioContext, http2: boolean): Record<string, unknown> {
  const base = passthroughConfig(ctx, [{ type: 'jsonl', path: ctx.auditFile }]);
  const { cert, key } = tlsFiles(ctx);
  const gateway = base.gateway as Record<string, unknown>;
  return { ...base, gateway: { ...gateway, tls: { certificates: [{ cert, key }], minVersion: 'TLSv1.2', http2 } } };
}

export const scenarios: readonly Scenario[] = [
  {
    name: 'passthrough',
    title: 'Passthrough (no auth, no policy)',
    description: 'One prefix route `/` to the upstream; audit to a JSON-lines file; log level warn.',
    path: '/',
    baselines: ['nginx', 'bare'],
    cortexConfig: (ctx) => passthroughConfig(ctx, [{ type: 'jsonl', path: ctx.auditFile }]),
    targets: [
      { kind: 'ratio', to: 'bare', atLeast: 0.9, label: 'Cortex passthrough ≥ 0.9× bare undici proxy' },
      { kind: 'half-load-p99', atMostMs: 2, label: 'Cortex p99 at half load ≤ 2 ms' },
      { kind: 'ratio', to: 'nginx', atLeast: 0.45, label: 'Moonshot: Cortex ≥ 0.45× nginx' },
    ],
  },
  {
    name: 'passthrough-no-audit',
    title: 'Passthrough with the audit trail off (what the audit costs)',
    description: 'As passthrough, with `audit.sinks: []`. Compare with the passthrough section: the difference is the cost of one JSON-lines audit event per request.',
    path: '/',
    baselines: ['bare'],
    cortexConfig: (ctx) => passthroughConfig(ctx, []),
    targets: [
      { kind: 'ratio', to: 'bare', atLeast: 0.9, label: 'Cortex passthrough without audit ≥ 0.9× bare undici proxy' },
      { kind: 'half-load-p99', atMostMs: 2, label: 'Cortex p99 at half load ≤ 2 ms' },
    ],
  },
  {
    name: 'audit-sqlite',
    title: 'Passthrough with the durable audit trail (SQLite)',
    description:
      'As passthrough, with the audit trail in the default SQLite sink (WAL, synchronous=NORMAL, batched transactions of up to ' +
      '1,000 events or 200 ms, written off the request path, hash-chained) instead of a JSON-lines file. Admin /metrics is ' +
      'sampled every second (queue depth, records committed); after the last load the rows are counted against the requests ' +
      'Cortex counted.',
    path: '/',
    baselines: [],
    calibrate: false,
    cortexConfig: (ctx) => ({
      ...passthroughConfig(ctx, [{ type: 'sqlite', path: auditDbFile(ctx) }]),
      audit: { sinks: [{ type: 'sqlite', path: auditDbFile(ctx) }], spool: { dir: join(ctx.dir, 'audit-spool') } },
    }),
    prepare: (ctx) => prepareAuditSqlite(ctx),
    comparesWith: ['passthrough'],
    targets: [{ kind: 'scenario-ratio', scenario: 'passthrough', atLeast: 0.9, label: 'Cortex with the SQLite audit trail ≥ 0.9× Cortex passthrough (JSON lines)' }],
  },
  {
    name: 'tls-http1',
    title: 'HTTP/1.1 over TLS (passthrough)',
    description:
      'As passthrough (audit on), with `gateway.tls` and `http2: false`: TLS 1.2+ (ECDHE with AEAD ciphers for 1.2), one ECDSA P-256 ' +
      'certificate made for the run; nginx `listen ssl` with the same certificate and TLS settings. wrk over https, keep-alive; ' +
      'the upstream is plain HTTP for both. Maximum throughput only; no targets are set for TLS (report only).',
    path: '/',
    baselines: ['nginx'],
    cortexConfig: (ctx) => tlsConfig(ctx, false),
    targets: [],
    tls: { http2: false },
  },
  {
    name: 'tls-http2',
    title: 'HTTP/2 over TLS (passthrough)',
    description:
      'As tls-http1 with `http2: true` (the default with TLS); nginx `listen ssl http2`. Load: h2load (nghttp2-client), 1 thread, ' +
      'the same connections as wrk with 10 concurrent streams each; HTTP/1.1 to the plain-HTTP upstream. Maximum throughput only; ' +
      'report only (no targets).',
    path: '/',
    baselines: ['nginx'],
    cortexConfig: (ctx) => tlsConfig(ctx, true),
    targets: [],
    tls: { http2: true },
  },
  {
    name: 'bearer-1000-users',
    title: 'Bearer tokens, 1,000 users (the token cache warm)',
    description:
      'As passthrough (audit on), with `auth: bearer` on the route and one identity provider: the dev IdP (a real oidc-provider, ' +
      'RS256) in the bench process. Before the gateway starts, the provider mints one access token for each of 1,000 users ' +
      '(user-0000 … user-0999); wrk (a Lua `request()` hook) and autocannon (`setupRequest`) send them in turn, a different ' +
      'token on each request. Each token is verified once (RS256) and then answered from the verified-token cache, so this ' +
      'measures the per-request bearer path: the token digest, the cache lookup, the identity, the audit event with it. ' +
      'Load starts once the admin `/readyz` answers 200 (the key set fetched).',
    path: '/',
    baselines: [],
    calibrate: false,
    cortexConfig: (ctx) => bearerConfig(passthroughConfig(ctx, [{ type: 'jsonl', path: ctx.auditFile }]), ctx),
    prepare: (ctx) => prepareBearer(ctx, { cache: true }),
    comparesWith: ['passthrough'],
    targets: [{ kind: 'scenario-ratio', scenario: 'passthrough', atLeast: 0.85, label: 'Cortex bearer (1,000 users) ≥ 0.85× Cortex passthrough' }],
  },
  {
    name: 'bearer-new-token-every-request',
    title: 'Bearer tokens, a new token on every request (signature check each time)',
    description:
      'As bearer-1000-users with `identity.tokenCache.maxEntries: 0`: the verified-token cache is off, so every request pays ' +
      'the full verification (parse, RS256 signature, claims), exactly as a token the gateway has never seen would. Tokens are ' +
      'not minted for every request: the provider mints about 1,000 a second (see the notes), far below the rate the gateway ' +
      'is driven at, so the run would need minutes of minting and hundreds of thousands of tokens in the load generators. ' +
      'Bound by RS256 verification (~15k verifies/s per core); report only.',
    path: '/',
    baselines: [],
    calibrate: false,
    cortexConfig: (ctx) => bearerConfig(passthroughConfig(ctx, [{ type: 'jsonl', path: ctx.auditFile }]), ctx, { maxEntries: 0 }),
    prepare: (ctx) => prepareBearer(ctx, { cache: false }),
    comparesWith: ['passthrough'],
    targets: [{ kind: 'scenario-ratio', scenario: 'passthrough', atLeast: 0, label: 'Cortex bearer, no token cache, × Cortex passthrough (report only)' }],
  },
  {
    name: 'policy',
    title: 'Policy: ~1,000 policies, 1,000 users over 20 routes (the decision cache warm)',
    description:
      'As bearer-1000-users (audit on, the dev IdP, one token per user in turn), with a policy section: grants for ~100 roles and ' +
      'a hand-written Cedar file, ~1,000 policies in all, and 20 routes with intents (5 resources × read, list, create, update; ' +
      'update tagged destructive, customers tagged pii). orders-read checks ownership: its attribute source asks the bench ' +
      'upstream for the order\'s owner. Each request line names a token, a method and a path; wrk and autocannon send them ' +
      'in turn. Notes: the in-process uncached decision latencies (before and after the per-intent split and the fast path) ' +
      'and the decision-cache hit rate Cortex counted during the run.',
    path: '/orders',
    baselines: [],
    calibrate: false,
    cortexConfig: (ctx) => policyConfig(passthroughConfig(ctx, [{ type: 'jsonl', path: ctx.auditFile }]), ctx),
    prepare: (ctx) => preparePolicy(ctx),
    comparesWith: ['passthrough'],
    targets: [{ kind: 'scenario-ratio', scenario: 'passthrough', atLeast: 0.85, label: 'Cortex with policy (1,000 policies, 20 routes) ≥ 0.85× Cortex passthrough' }],
  },
];
