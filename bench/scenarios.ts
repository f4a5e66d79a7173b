// Bench scenarios. A scenario is a name, a Cortex config, which baselines to run beside it, and the
// targets it is judged against. Add TLS, bearer-path or policy scenarios here as more entries: the
// runner and the report pick them up (one section per scenario, one row per proxy).

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
}

/** One prefix route `/` to the upstream, with the given audit sinks. */
function passthroughConfig(ctx: ScenarioContext, sinks: Record<string, unknown>[]): Record<string, unknown> {
  return {
    version: 1,
    gateway: { listen: { host: '127.0.0.1', port: ctx.gatewayPort } },
    admin: { listen: { host: '127.0.0.1', port: ctx.adminPort } },
    upstreams: { origin: { url: ctx.upstreamUrl } },
    routes: { all: { match: { prefix: '/' }, upstream: 'origin' } },
    audit: { sinks },
    log: { level: 'warn' },
  };
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
];
