// Bench scenarios. A scenario is a name, a Cortex config, which baselines to run beside it, and the
// targets it is judged against. Add TLS, bearer-path or policy scenarios here as more entries: the
// runner and the report pick them up (one section per scenario, one row per proxy).
import { join } from 'node:path';

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
}

export type Target =
  | { kind: 'ratio'; to: Baseline; atLeast: number; label: string }
  | { kind: 'half-load-p99'; atMostMs: number; label: string };

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
  /** Optional async setup (mint a token, write keys) returning extra request headers. */
  prepare?(ctx: ScenarioContext): Promise<{ headers?: Record<string, string> }>;
  targets: readonly Target[];
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
];
