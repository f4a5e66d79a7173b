// undici pools, one per upstream target, shared across snapshots while the target's settings are
// unchanged, so a reload does not drop warm keep-alive connections. A target's balancing and health
// state (requests in flight, consecutive failures, ejection, health-check verdict) lives with its
// pool, so it survives reloads too. An upstream (UpstreamTarget) is a set of targets plus how to
// choose among them; its active health-check timer runs while any snapshot uses it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Pool } from 'undici';
import type { UpstreamConfig } from '../../config/schema.ts';

/** One target of an upstream: a base URL with its own pool and state. */
export interface Endpoint {
  readonly origin: string;
  readonly pool: Pool;
  /** Path of the target URL without its trailing slash ('' for the root). */
  readonly basePath: string;
  /** The URL's host, sent as Host with `host: upstream` and by health checks. */
  readonly urlHost: string;
  /** Requests from this gateway in flight on this target. */
  inflight: number;
  /** Consecutive connect failures since the last success. */
  failures: number;
  /** Consecutive ejections without a success in between (the ejection time doubles with each). */
  ejections: number;
  /** performance.now() until which the target is ejected; 0 when not ejected. */
  ejectedUntil: number;
  ejectedAt: number;
  /** The active health check's verdict (true without health checks). */
  healthy: boolean;
  checkPasses: number;
  checkFailures: number;
}

/** Retries allowed: RETRY_BUDGET_RATIO of the requests in the last window, at least RETRY_MIN. */
const RETRY_WINDOW_MS = 10_000;
const RETRY_BUDGET_RATIO = 0.2;
const RETRY_MIN = 3;

export class UpstreamTarget {
  readonly name: string;
  readonly endpoints: readonly Endpoint[];
  /** Host header to send, or undefined to keep the client's (host: preserve). */
  readonly preserveHost: boolean;
  readonly timeoutMs: number;
  readonly leastBusy: boolean;
  readonly retries: boolean;
  private readonly outlier: UpstreamConfig['outlierDetection'];
  private next = 0;
  private windowStart = 0;
  private windowRequests = 0;
  private windowRetries = 0;
  private prevRequests = 0;
  private prevRetries = 0;
  timer: NodeJS.Timeout | undefined;

  constructor(name: string, cfg: UpstreamConfig, endpoints: Endpoint[]) {
    this.name = name;
    this.endpoints = endpoints;
    this.preserveHost = cfg.host !== 'upstream';
    this.timeoutMs = cfg.timeoutMs;
    this.leastBusy = cfg.balance === 'least-busy';
    this.retries = cfg.retries;
    this.outlier = cfg.outlierDetection;
  }

  /**
   * The target for the next request, never `exclude` (the one a retry is leaving). Targets that
   * pass their health checks and are not ejected come first; when every healthy target is ejected,
   * the least recently ejected one is used (it may work again; a 503 certainly does not). Undefined
   * when no target passes its health checks (or only `exclude` is left).
   */
  pick(exclude?: Endpoint): Endpoint | undefined {
    const eps = this.endpoints;
    const n = eps.length;
    const now = performance.now();
    const start = this.next;
    let best: Endpoint | undefined;
    let bestIndex = 0;
    let fallback: Endpoint | undefined;
    for (let i = 0; i < n; i++) {
      const index = (start + i) % n;
      const ep = eps[index] as Endpoint;
      if (ep === exclude || !ep.healthy) continue;
      if (ep.ejectedUntil > now) {
        if (!fallback || ep.ejectedAt < fallback.ejectedAt) fallback = ep;
        continue;
      }
      if (!best || (this.leastBusy && ep.inflight < best.inflight)) {
        best = ep;
        bestIndex = index;
        if (!this.leastBusy) break;
      }
    }
    if (best) {
      this.next = (bestIndex + 1) % n;
      return best;
    }
    return fallback;
  }

  /** Counts a first attempt for the retry budget. */
  countRequest(): void {
    this.roll();
    this.windowRequests++;
  }

  /** Whether a retry fits in the budget; counts it when it does. */
  takeRetry(): boolean {
    this.roll();
    const requests = this.windowRequests + this.prevRequests;
    const retries = this.windowRetries + this.prevRetries;
    if (retries >= Math.max(RETRY_MIN, requests * RETRY_BUDGET_RATIO)) return false;
    this.windowRetries++;
    return true;
  }

  /** Two half windows: the budget covers between 5 and 10 s of history. */
  private roll(): void {
    const now = performance.now();
    const half = RETRY_WINDOW_MS / 2;
    if (now - this.windowStart < half) return;
    const skipped = now - this.windowStart >= 2 * half;
    this.prevRequests = skipped ? 0 : this.windowRequests;
    this.prevRetries = skipped ? 0 : this.windowRetries;
    this.windowRequests = 0;
    this.windowRetries = 0;
    this.windowStart = now;
  }

  /** A response head arrived: the target works. */
  succeeded(ep: Endpoint): void {
    ep.failures = 0;
    ep.ejections = 0;
  }

  /** A connection could not be opened; enough in a row eject the target. */
  connectFailed(ep: Endpoint): void {
    if (++ep.failures < this.outlier.consecutiveFailures) return;
    const now = performance.now();
    const ms = Math.min(this.outlier.baseEjectionMs * 2 ** Math.min(ep.ejections, 30), this.outlier.maxEjectionMs);
    ep.ejections++;
    ep.failures = 0;
    ep.ejectedAt = now;
    ep.ejectedUntil = now + ms;
  }
}

interface PoolEntry {
  pool: Pool;
  refs: Set<number>;
  /** By base path: two upstreams on one origin share the pool, not the path. */
  endpoints: Map<string, Endpoint>;
}

interface UpstreamEntry {
  upstream: UpstreamTarget;
  refs: Set<number>;
}

export class UpstreamPools {
  private readonly pools = new Map<string, PoolEntry>();
  private readonly upstreams = new Map<string, UpstreamEntry>();

  /** The upstream `name` in snapshot `generation`, reusing pools (and timers) for identical settings. */
  acquire(name: string, cfg: UpstreamConfig, generation: number): UpstreamTarget {
    const key = JSON.stringify([name, cfg]);
    let entry = this.upstreams.get(key);
    if (!entry) {
      const urls = cfg.targets ?? (cfg.url !== undefined ? [cfg.url] : []);
      const tls = tlsOptions(cfg);
      const endpoints = urls.map((u) => this.endpoint(new URL(u), cfg, tls, generation));
      const upstream = new UpstreamTarget(name, cfg, endpoints);
      if (cfg.healthCheck) startHealthChecks(upstream, cfg.healthCheck);
      entry = { upstream, refs: new Set() };
      this.upstreams.set(key, entry);
    }
    entry.refs.add(generation);
    for (const ep of entry.upstream.endpoints) this.pools.get(poolKeyOf(ep))?.refs.add(generation);
    return entry.upstream;
  }

  private endpoint(url: URL, cfg: UpstreamConfig, tls: TlsConnect | undefined, generation: number): Endpoint {
    const secure = url.protocol === 'https:' ? tls : undefined;
    const key = JSON.stringify([url.origin, cfg.connections, cfg.connectTimeoutMs, cfg.keepAliveTimeoutMs, cfg.timeoutMs, secure]);
    let entry = this.pools.get(key);
    if (!entry) {
      const pool = new Pool(url.origin, {
        connections: cfg.connections,
        pipelining: 1,
        connectTimeout: cfg.connectTimeoutMs,
        keepAliveTimeout: cfg.keepAliveTimeoutMs,
        headersTimeout: cfg.timeoutMs,
        bodyTimeout: cfg.timeoutMs,
        ...(secure ? { connect: secure } : {}),
      });
      entry = { pool, refs: new Set(), endpoints: new Map() };
      this.pools.set(key, entry);
    }
    entry.refs.add(generation);
    const basePath = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
    let endpoint = entry.endpoints.get(basePath);
    if (!endpoint) {
      endpoint = {
        origin: url.origin,
        pool: entry.pool,
        basePath,
        urlHost: url.host,
        inflight: 0,
        failures: 0,
        ejections: 0,
        ejectedUntil: 0,
        ejectedAt: 0,
        healthy: true,
        checkPasses: 0,
        checkFailures: 0,
      };
      poolKeys.set(endpoint, key);
      entry.endpoints.set(basePath, endpoint);
    }
    return endpoint;
  }

  /** Drops a snapshot's references; pools no snapshot uses close once their requests finish. */
  release(generation: number): Promise<void> {
    for (const [key, entry] of this.upstreams) {
      entry.refs.delete(generation);
      if (entry.refs.size === 0) {
        this.upstreams.delete(key);
        clearInterval(entry.upstream.timer);
      }
    }
    const closing: Promise<void>[] = [];
    for (const [key, entry] of this.pools) {
      entry.refs.delete(generation);
      if (entry.refs.size === 0) {
        this.pools.delete(key);
        closing.push(entry.pool.close());
      }
    }
    return Promise.all(closing).then(() => undefined);
  }

  async closeAll(): Promise<void> {
    for (const entry of this.upstreams.values()) clearInterval(entry.upstream.timer);
    this.upstreams.clear();
    const all = [...this.pools.values()].map((e) => e.pool.close());
    this.pools.clear();
    await Promise.all(all);
  }
}

const poolKeys = new WeakMap<Endpoint, string>();
function poolKeyOf(ep: Endpoint): string {
  return poolKeys.get(ep) ?? '';
}

interface TlsConnect {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
  rejectUnauthorized: boolean;
}

/**
 * undici `connect` options for https targets. The files are read here (no network I/O); their
 * contents are part of the pool key, so a reload after a certificate change gets a new pool. Without
 * serverName, undici sends the URL host as SNI (none for an IP address, as TLS requires).
 */
function tlsOptions(cfg: UpstreamConfig): TlsConnect | undefined {
  const tls = cfg.tls;
  if (!tls) return undefined;
  const out: TlsConnect = { rejectUnauthorized: !tls.insecureSkipVerify };
  if (tls.ca !== undefined) out.ca = readFileSync(resolve(tls.ca), 'utf8');
  if (tls.cert !== undefined) out.cert = readFileSync(resolve(tls.cert), 'utf8');
  if (tls.key !== undefined) out.key = readFileSync(resolve(tls.key), 'utf8');
  if (tls.serverName !== undefined) out.servername = tls.serverName;
  return out;
}

/** One unref'd timer per upstream: each tick checks every target once. */
function startHealthChecks(upstream: UpstreamTarget, hc: NonNullable<UpstreamConfig['healthCheck']>): void {
  const running = new Set<Endpoint>();
  const check = (ep: Endpoint): void => {
    if (running.has(ep)) return;
    running.add(ep);
    const record = (ok: boolean): void => {
      running.delete(ep);
      if (ok) {
        ep.checkFailures = 0;
        if (!ep.healthy && ++ep.checkPasses >= hc.healthyThreshold) {
          ep.healthy = true;
          ep.checkPasses = 0;
          ep.failures = 0;
          ep.ejectedUntil = 0;
        }
      } else {
        ep.checkPasses = 0;
        if (ep.healthy && ++ep.checkFailures >= hc.unhealthyThreshold) {
          ep.healthy = false;
          ep.checkFailures = 0;
        }
      }
    };
    ep.pool
      .request({
        path: ep.basePath + hc.path,
        method: 'GET',
        headers: { host: ep.urlHost, 'user-agent': 'cortex-health-check' },
        headersTimeout: hc.timeoutMs,
        bodyTimeout: hc.timeoutMs,
        signal: AbortSignal.timeout(hc.timeoutMs),
      })
      .then(
        async (res) => {
          await res.body.dump().catch(() => undefined);
          record(res.statusCode >= 200 && res.statusCode < 400);
        },
        () => record(false),
      );
  };
  upstream.timer = setInterval(() => {
    for (const ep of upstream.endpoints) check(ep);
  }, hc.intervalMs);
  upstream.timer.unref();
}
