// The running gateway: holds the current Snapshot, swaps it on reload, owns the listeners, the
// upstream pools, the audit log and the metrics. Reloads never interrupt requests in flight:
// each request keeps the snapshot it started with.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { openGatewayAuditLog } from '../audit/open-sinks.ts';
import type { AuditLog } from '../audit/sink.ts';
import { auditConfigReload, systemAuditor } from '../audit/system-events.ts';
import { loadConfig } from '../config/load.ts';
import type { ConfigProblem } from '../config/problems.ts';
import type { Config, Stage } from '../config/schema.ts';
import { watchConfig } from '../config/watch.ts';
import { UpstreamPools } from '../filters/upstream/upstream-pools.ts';
import type { CredentialsRuntime } from '../credentials/runtime.ts';
import type { TokenExchangeRuntime } from '../credentials/exchange/exchange-runtime.ts';
import type { ApiRuntime } from '../intents/runtime.ts';
import { createMetrics } from '../telemetry/metrics.ts';
import { TracingSlot } from '../telemetry/tracing.ts';
import type { GatewayMetrics } from '../telemetry/metrics.ts';
import { buildAccess } from './access.ts';
import type { Access } from './access.ts';
import { auditEventFor, rejectionEvent } from './audit-record.ts';
import { createRequestHandler } from './handler.ts';
import type { CompletedRequest } from './handler.ts';
import { createGatewayServer } from './listener.ts';
import type { RejectedConnection } from './listener.ts';
import { sendProblem } from './problem.ts';
import { compileSnapshot, SnapshotError } from './snapshot.ts';
import { GatewayRuntimes } from './gateway-runtimes.ts';
import { identityStatsOf, restartOnlyChanges, routeListOf, splitProblem } from './gateway-support.ts';
import { expandImportedApis } from './snapshot-apis.ts';
import type { Snapshot } from './snapshot.ts';
import { createGatewayTls } from './tls.ts';
import type { GatewayTls, SecureServer } from './tls.ts';

export interface GatewayOptions {
  configFile?: string;
  configText?: string;
  stage?: Stage;
  env?: NodeJS.ProcessEnv;
  log: Logger;
  /** Reload when the config file changes (and on SIGHUP, which the CLI wires). */
  watch?: boolean;
  /** Extra readiness checks shown on /readyz (cortex dev adds its components). */
  readiness?: Record<string, () => boolean>;
  /** The clock of the signing key ring and of assertion lifetimes (tests move it). */
  now?: () => number;
}

/** How a close drains; unset fields come from the config's `shutdown`. */
export interface CloseOptions {
  /** Time between readiness turning false and the listener closing. */
  drainDelayMs?: number;
  /** Time, once the listener has closed, that in-flight requests get before they are cut. */
  graceMs?: number;
}

export type ReloadResult = { ok: true; generation: number } | { ok: false; problems: string[] };

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    this.problems = problems;
  }
}

export class Gateway {
  readonly metrics: GatewayMetrics;
  readonly tracing = new TracingSlot();
  readonly log: Logger;
  private snapshot: Snapshot;
  private readonly opts: GatewayOptions;
  private readonly pools = new UpstreamPools();
  /** Identity, signing keys, token exchange, upstream secrets, imported APIs: built once, kept across reloads. */
  private readonly runtimes: GatewayRuntimes;
  /** The signing key ring, the assertions it signs, its JWKS (runtimes.credentials). */
  readonly credentials: CredentialsRuntime;
  /** RFC 8693 token exchange, only with credentials.tokenExchange (runtimes.exchange). */
  readonly exchange: TokenExchangeRuntime | undefined;
  /** The imported APIs' documents (runtimes.apis); a change rebuilds the snapshot. */
  readonly apis: ApiRuntime;
  /** The config as loaded, before the imported APIs are expanded into it: what a document change rebuilds from. */
  private base: { config: Config; stage: Stage };
  /** The first fetch of every imported API: listen() waits for it, so the gateway starts with their routes. */
  private readonly apisFetched: Promise<void>;
  private readonly apiWarnings = new Set<string>();
  /** Sessions, API keys and the mTLS listener (built once; a change to them needs a restart). */
  private readonly access: Access;
  private readonly audit: AuditLog;
  /** The durable audit stores by sink name, in config order: the first answers GET /api/audit. */
  private readonly auditStores: ReturnType<typeof openGatewayAuditLog>['stores'];
  readonly auditSystem = systemAuditor((e) => this.audit.write(e), () => this.snapshot.stage);
  private readonly server: Server;
  /** gateway.tls's certificates, when the listener serves HTTPS. */
  private readonly tls: GatewayTls | undefined;
  private watcher: { close(): void } | undefined;
  private generation = 0;
  private inflight = 0;
  private listening = false;
  private closing = false;
  private closed: Promise<void> | undefined;
  /** Open client connections (tracked per connection, not per request), for the drain. */
  private readonly sockets = new Set<Socket>();
  private drained: (() => void) | undefined;
  /** Where the mTLS listener listens, when gateway.mtls is set. */
  mtlsAddress: AddressInfo | undefined;

  private constructor(opts: GatewayOptions, config: Config, stage: Stage) {
    this.opts = opts;
    this.log = opts.log;
    this.metrics = createMetrics();
    this.runtimes = new GatewayRuntimes(config, {
      log: this.log,
      audit: this.auditSystem,
      ...(opts.now ? { now: opts.now } : {}),
      world: () => this.snapshot,
      session: () => this.access.session,
      onApisChange: () => this.rebuild(),
    });
    ({ credentials: this.credentials, exchange: this.exchange, apis: this.apis } = this.runtimes);
    this.metrics.setIdentityStats(() => identityStatsOf(this.runtimes.identity));
    this.metrics.setPolicyStats(() => this.snapshot.policy?.stats());
    this.metrics.setSigningKeys(() => this.credentials.ring?.list());
    this.metrics.setIntentStats(() => this.apis.stats());
    this.base = { config, stage };
    this.access = buildAccess(config, {
      log: this.log,
      provider: (name) => this.snapshot.providers.get(name),
      mtlsHandler: () => this.countingHandler(createRequestHandler({ current: () => this.snapshot, complete: (done) => this.complete(done), log: this.log, tracing: this.tracing, protocol: 'https' })),
      requestIdHeader: () => this.snapshot.requestIdHeader,
      onRejected: (r) => this.rejected(r),
    });
    this.snapshot = this.compile(config, stage);
    this.applyLogLevel(config);
    this.metrics.setSnapshotGeneration(this.snapshot.generation);
    ({ log: this.audit, stores: this.auditStores } = openGatewayAuditLog(config.audit, { log: this.log, metrics: this.metrics, ring: () => this.credentials.ring }));
    this.tls = config.gateway.tls ? createGatewayTls(config.gateway.tls, this.log) : undefined;
    const handler = createRequestHandler({
      current: () => this.snapshot,
      complete: (done) => this.complete(done),
      log: this.log,
      tracing: this.tracing,
      protocol: this.tls ? 'https' : 'http',
    });
    this.server = createGatewayServer({
      limits: config.gateway.limits,
      tls: this.tls?.serverOptions,
      http2: config.gateway.tls?.http2 ?? false,
      handler: this.countingHandler(handler),
      requestIdHeader: () => this.snapshot.requestIdHeader,
      onRejected: (r) => this.rejected(r),
    });
    // Over TLS the HTTP exchange (and its _httpMessage) lives on the TLS socket, not the TCP one.
    this.server.on(this.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    // Every fetch is bounded by its API's fetchTimeoutMs, so this settles.
    this.apisFetched = this.apis.configure(config, stage);
  }

  private rejected(r: RejectedConnection): void {
    this.metrics.clientError(r.code);
    this.audit.write(rejectionEvent(this.snapshot, r));
  }

  /** Wraps a request handler with the in-flight count and the drain's Connection: close. */
  private countingHandler<A extends unknown[]>(handler: (req: IncomingMessage, res: ServerResponse, ...rest: A) => void) {
    return (req: IncomingMessage, res: ServerResponse, ...rest: A): void => {
      // audit.failClosed: nothing can be recorded, so nothing is served (until a sink records again).
      if (this.audit.refusing()) return sendProblem(res, 'audit.unavailable', randomUUID(), this.snapshot.requestIdHeader);
      this.metrics.setInflight(++this.inflight);
      // HTTP/2 has no Connection header: its sessions get GOAWAY when the server closes.
      if (this.closing && req.httpVersionMajor !== 2) res.setHeader('connection', 'close');
      handler(req, res, ...rest);
    };
  }

  /** Loads and compiles the config; throws ConfigError listing every problem. Does not listen. */
  static create(opts: GatewayOptions): Gateway {
    const loaded = loadConfig({ file: opts.configFile, text: opts.configText, stage: opts.stage, env: opts.env ?? process.env });
    if (!loaded.ok) throw new ConfigError(loaded.errors);
    for (const w of loaded.warnings) opts.log.warn({ path: w.path }, w.message);
    try {
      return new Gateway(opts, loaded.config, loaded.stage);
    } catch (err) {
      if (err instanceof SnapshotError) throw new ConfigError(err.problems.map(splitProblem));
      throw err;
    }
  }

  current(): Snapshot {
    return this.snapshot;
  }

  async listen(): Promise<AddressInfo> {
    await Promise.all([this.apisFetched, this.runtimes.ready(), this.tracing.configure(this.snapshot.config.telemetry.tracing, this.log)]);
    const cfg = this.snapshot.config;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(cfg.gateway.listen.port, cfg.gateway.listen.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.credentials.setListenAddress(cfg.gateway.listen.host, (this.server.address() as AddressInfo).port);
    this.mtlsAddress = await this.access.mtlsListener?.listen();
    this.listening = true;
    this.tls?.watch(this.server as unknown as SecureServer);
    if (this.opts.watch && this.opts.configFile) {
      this.watcher = watchConfig(this.opts.configFile, () => void this.reload());
    }
    return this.server.address() as AddressInfo;
  }

  /** What the admin listener shows (admin/'s AdminDeps, by shape); the process wiring (cli/) connects the two. */
  adminView() {
    return {
      metrics: this.metrics,
      token: this.snapshot.config.admin.token ?? (this.opts.env ?? process.env).CORTEX_ADMIN_TOKEN,
      readiness: () => this.readiness(),
      config: () => this.snapshot.config,
      status: () => this.status(),
      routes: () => routeListOf(this.snapshot),
      apiKeys: () => this.access.apiKeys,
      jwks: this.credentials.jwks,
      audit: this.auditSystem,
      revocations: () => this.exchange?.revocations,
      auditQuery: () => this.auditStores.values().next().value,
      events: (listener: Parameters<AuditLog['subscribe']>[0]) => this.audit.subscribe(listener),
      keys: () => ({ keys: this.credentials.ring?.list(), now: this.credentials.now() }),
      agentGrants: () => this.exchange,
      policyView: () => ({ snapshot: this.snapshot, baseRoutes: this.base.config.routes, pending: this.apis.pending(), configAt: (stage: Stage) => loadConfig({ file: this.opts.configFile, text: this.opts.configText, stage, env: this.opts.env ?? process.env }) }),
      explainWorld: () => {
        const s = this.snapshot;
        return { config: s.config, stage: s.stage, router: s.router, providers: s.providers, engine: s.policy };
      },
      identityProvider: (name: string) => this.snapshot.providers.get(name),
      log: this.log,
    };
  }

  /** Builds a new snapshot beside the current one and swaps it in; a bad config keeps the old. */
  reload(): ReloadResult {
    const loaded = loadConfig({ file: this.opts.configFile, text: this.opts.configText, stage: this.opts.stage, env: this.opts.env ?? process.env });
    if (!loaded.ok) return this.reloadFailed(loaded.errors.map((p) => `${p.path}: ${p.message}`));
    let next: Snapshot;
    try {
      next = this.compile(loaded.config, loaded.stage);
    } catch (err) {
      if (err instanceof SnapshotError) return this.reloadFailed(err.problems);
      throw err;
    }
    const old = this.swap(next);
    this.base = { config: loaded.config, stage: loaded.stage };
    void this.apis.configure(loaded.config, loaded.stage);
    this.applyLogLevel(next.config);
    for (const key of restartOnlyChanges(old.config, next.config)) this.log.warn({ key }, `a change to ${key} takes effect at the next restart`);
    this.metrics.configReload('ok');
    auditConfigReload(this.auditSystem, next.generation);
    this.log.info({ generation: next.generation, stage: next.stage, routes: next.routes.size }, 'config reloaded');
    return { ok: true, generation: next.generation };
  }

  /** An imported API's document (or its approved intents) changed: a new snapshot from the same base config. */
  private rebuild(): void {
    if (this.closing) return;
    let next: Snapshot;
    try {
      next = this.compile(this.base.config, this.base.stage);
    } catch (err) {
      if (!(err instanceof SnapshotError)) throw err;
      this.log.error({ problems: err.problems }, 'an imported API changed but the routes it gives do not compile; the previous snapshot keeps serving');
      return;
    }
    this.swap(next);
    this.log.info({ generation: next.generation, stage: next.stage, routes: next.routes.size }, 'imported APIs changed: snapshot rebuilt');
  }

  /** Serves `next` and releases what only the old snapshot used; returns the old one. */
  private swap(next: Snapshot): Snapshot {
    const old = this.snapshot;
    this.snapshot = next;
    void this.pools.release(old.generation);
    this.runtimes.release(old.generation);
    // Requests that started on the old snapshot may still be authenticating (awaiting a key fetch):
    // its policy engine stays usable for a while before its wasm state is freed.
    if (old.policy !== undefined) setTimeout(() => old.policy?.dispose(), 60_000).unref();
    this.metrics.setSnapshotGeneration(next.generation);
    return old;
  }

  /** Resolves once every audit event so far has reached its sinks. */
  flushAudit(): Promise<void> {
    return this.audit.flush();
  }

  /**
   * Graceful shutdown, in this order: readiness turns false at once (/readyz answers 503), and
   * replies carry `Connection: close`; after drainDelayMs the listener stops accepting and idle
   * keep-alive connections close; in-flight requests (streams included) get graceMs to finish,
   * then the rest are cut (and audited); the upstream pools close; the audit log is flushed last.
   * A second call returns the first one's promise.
   */
  close(opts: CloseOptions | number = {}): Promise<void> {
    this.closed ??= this.drain(typeof opts === 'number' ? { graceMs: opts } : opts);
    return this.closed;
  }

  private async drain(opts: CloseOptions): Promise<void> {
    const shutdown = this.snapshot.config.shutdown;
    const drainDelayMs = opts.drainDelayMs ?? shutdown.drainDelayMs;
    const graceMs = opts.graceMs ?? shutdown.graceMs;
    this.closing = true;
    this.watcher?.close();
    this.tls?.close();
    this.apis.close();
    if (this.listening) this.log.info({ inflight: this.inflight, drainDelayMs, graceMs }, 'draining: readiness is false');
    for (const socket of this.sockets) this.closeAfterReply(socket);
    if (this.listening && drainDelayMs > 0) await new Promise((r) => setTimeout(r, drainDelayMs));

    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const mtlsClosed = this.access.mtlsListener?.close();
    this.server.closeIdleConnections();
    let cut = 0;
    const timer = setTimeout(() => {
      cut = this.inflight;
      if (cut > 0) this.log.warn({ inflight: cut, graceMs }, 'shutdown grace period over: cutting the requests still in flight');
      // node:http2's server has no closeAllConnections (its sessions and its HTTP/1.1 connections
      // alike are in this.sockets).
      // Relayed WebSockets have left node:http's bookkeeping: they are cut here too.
      if (typeof this.server.closeAllConnections === 'function') this.server.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    if (!this.listening) this.server.emit('close');
    await closed;
    await mtlsClosed;
    clearTimeout(timer);
    // A cut request's completion (and audit event) follows its socket's close: wait for the last one.
    if (this.inflight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        new Promise((r) => setTimeout(r, 1_000).unref()),
      ]);
    }
    await this.pools.closeAll();
    await this.tracing.close();
    await this.runtimes.close();
    this.snapshot.policy?.dispose();
    await this.access.close();
    await this.audit.close();
    if (this.listening) this.log.info({ cut }, 'drained: the gateway is closed');
  }

  /**
   * A connection with a reply in progress closes once it is sent: a reply not started yet carries
   * `Connection: close`; one already started ends its connection when finished.
   */
  private closeAfterReply(socket: Socket): void {
    const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (!res || res.writableFinished) return;
    if (!res.headersSent) res.setHeader('connection', 'close');
    else res.once('finish', () => setImmediate(() => this.server.closeIdleConnections()));
  }

  private compile(config: Config, stage: Stage): Snapshot {
    const generation = ++this.generation;
    try {
      return this.compileGeneration(config, stage, generation);
    } catch (err) {
      void this.pools.release(generation); // a failed build must not keep pools or key sets alive
      this.runtimes.release(generation);
      throw err;
    }
  }

  private compileGeneration(base: Config, stage: Stage, generation: number): Snapshot {
    const { config, undeclared } = expandImportedApis(base, stage, this.apis.documents(), this.log, this.apiWarnings);
    const providers = this.runtimes.providers(config, generation);
    return compileSnapshot(config, stage, generation, {
      undeclared,
      observeUndeclared: (route, intent, result) => this.metrics.authz(route, intent, result),
      pools: this.pools,
      assertions: { minter: this.credentials.assertions, settings: () => this.credentials.assertionSettings(config) },
      credentialEndpoints: this.runtimes.endpoints(),
      upstreamCredentials: this.runtimes.upstreamCredentials,
      providers,
      bearer: this.runtimes.identity,
      access: this.access,
      observeAuthn: (provider, result) => this.metrics.authn(provider, result),
      observeAuthz: (route, intent, result, seconds) => this.metrics.authz(route, intent, result, seconds),
      upstream: {
        reply: (ctx, code, detail) => {
          ctx.outcome.code = code;
          sendProblem(ctx.res, code, ctx.id, ctx.requestIdHeader, detail);
        },
        onResponse: (ctx, status, headers) => {
          for (const f of ctx.route.responseFilters) {
            f.onResponse?.(ctx, status, headers);
          }
        },
        observe: (name, outcome, seconds) => this.metrics.upstream(name, outcome, seconds),
        retry: (name) => this.metrics.upstreamRetry(name),
        connections: this.runtimes.delegation?.connections,
      },
    });
  }

  private complete(done: CompletedRequest): void {
    this.metrics.setInflight(--this.inflight);
    const o = done.outcome;
    this.metrics.request(done.route?.id ?? '-', done.method, o.status, o.code, o.durationMs / 1000, done.ctx?.identity?.kind ?? 'none');
    this.audit.write(auditEventFor(done));
    if (this.inflight === 0) this.drained?.();
  }

  private applyLogLevel(config: Config): void {
    if (!(this.opts.env ?? process.env).CORTEX_LOG_LEVEL) this.log.level = config.log.level;
  }

  private reloadFailed(problems: string[]): ReloadResult {
    this.metrics.configReload('error');
    auditConfigReload(this.auditSystem, this.snapshot.generation, problems);
    this.log.error({ problems }, 'config reload rejected; the previous config keeps serving');
    return { ok: false, problems };
  }

  readiness(): { ready: boolean; components: Record<string, boolean> } {
    const components: Record<string, boolean> = { gateway: this.listening && !this.closing, config: true, identity: this.runtimes.identity.ready(), audit: !this.audit.refusing() };
    Object.assign(components, this.access.readiness());
    for (const [name, check] of Object.entries(this.opts.readiness ?? {})) components[name] = check();
    return { ready: Object.values(components).every(Boolean), components };
  }

  private status(): Record<string, unknown> {
    const s = this.snapshot;
    return {
      generation: s.generation,
      stage: s.stage,
      routes: s.routes.size,
      snapshotCreatedAt: new Date(s.createdAt).toISOString(),
      inflight: this.inflight,
      identityProviders: this.runtimes.identity.status(),
      apis: this.apis.status(),
    };
  }
}
