// The terminal filter: streams the request to the route's upstream over an undici pool and the
// response back, with backpressure both ways. Failures before the response head become
// problem+json replies; after it, the client connection is cut (a status cannot be unsaid).
// A WebSocket upgrade (ctx.upgrade) is dispatched with undici's `upgrade`; on a 101 both sockets
// are piped to each other, and any other answer is relayed as a normal response. WebSockets and
// event streams are closed when their lifetime (lifetime.ts) runs out, or at once when the
// delegated token they were opened with is revoked (live-connections.ts).
import type { Duplex } from 'node:stream';
import { responseHeadersFromRaw } from '../../gateway/headers.ts';
import type { HttpFilter, RequestContext } from '../../gateway/types.ts';
import type { ReasonCode } from '../../gateway/reason-codes.ts';
import { traceOf } from '../../telemetry/tracing.ts';
import type { UpstreamSpan } from '../../telemetry/tracing.ts';
import { connectionLifetimeMs, delegatedTokenOf, isEventStream } from './lifetime.ts';
import type { LiveConnections } from './live-connections.ts';
import type { Endpoint, UpstreamTarget } from './upstream-pools.ts';

export interface UpstreamFilterDeps {
  /** Writes a problem reply and records the outcome (the gateway's reply path). */
  reply(ctx: RequestContext, code: ReasonCode, detail?: string): void;
  /** Runs the route's onResponse hooks (reverse chain order) on the response head. */
  onResponse(ctx: RequestContext, status: number, headers: Record<string, string | string[]>): void;
  observe?(upstream: string, outcome: 'ok' | 'error' | 'timeout', seconds: number): void;
  /** A request retried on another target after a connect failure. */
  retry?(upstream: string): void;
  /** The gateway's open long-lived connections, closed when their delegated token is revoked. */
  connections?: LiveConnections;
}

const HANDLED = Object.freeze({ action: 'handled' as const });

export function createUpstreamFilter(target: UpstreamTarget, timeoutMs: number, deps: UpstreamFilterDeps): HttpFilter {
  return {
    name: 'upstream',
    onRequest(ctx) {
      const { request } = ctx;
      const endpoint = target.pick();
      if (endpoint === undefined) {
        deps.reply(ctx, 'upstream.unavailable', 'No target of the upstream service passes its health checks.');
        return HANDLED;
      }
      const headers = ctx.upstreamHeaders;
      if (!target.preserveHost) headers.host = endpoint.urlHost;
      else headers.host = request.hostHeader;
      if (request.contentLength !== undefined) headers['content-length'] = String(request.contentLength);
      const pathAndQuery = ctx.upstreamPath + (request.query === '' ? '' : '?' + request.query);
      ctx.outcome.upstreamPath = ctx.upstreamPath;
      const handler = new ProxyHandler(ctx, target, deps, pathAndQuery, endpoint);
      if (request.hasBody) {
        // Paused first so that this listener does not start the flow before undici attaches its
        // own; undici resumes the stream when it starts writing the body upstream.
        // A declared Content-Length over the route's limit never gets here (the handler refuses it)
        // and the parser holds the body to the declared length, so only a chunked body is checked.
        ctx.outcome.bytesIn = 0;
        ctx.req.pause();
        const limit = ctx.route.maxBodyBytes;
        if (limit > 0 && request.contentLength === undefined) ctx.req.on('data', (chunk: Buffer) => handler.onBodyChunk(chunk, limit));
        else ctx.req.on('data', (chunk: Buffer) => (ctx.outcome.bytesIn += chunk.length));
      }
      target.countRequest();
      handler.dispatch({
        path: endpoint.basePath + pathAndQuery,
        method: request.method,
        headers,
        body: request.hasBody ? ctx.req : null,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        idempotent: false,
        blocking: request.method !== 'HEAD' && request.method !== 'GET',
        upgrade: ctx.upgrade ? 'websocket' : null,
      });
      return HANDLED;
    },
  };
}

/** Methods retried on another target when the connection could not be opened. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

type DispatchOptions = Parameters<Endpoint['pool']['dispatch']>[0];

/**
 * undici's handler protocol in its original form (onConnect/onHeaders/onData/...). The newer
 * controller form goes through undici's UnwrapHandler; under load that path kept per-request objects
 * alive long enough to be promoted (young-generation pauses of 15-20 ms, measured with --trace-gc),
 * which this form does not.
 */
class ProxyHandler {
  private abort: ((err?: Error) => void) | undefined;
  private readonly ctx: RequestContext;
  private readonly upstream: string;
  private readonly target: UpstreamTarget;
  private readonly deps: UpstreamFilterDeps;
  private readonly pathAndQuery: string;
  private readonly started = performance.now();
  private endpoint: Endpoint;
  /** Set while a request is in flight on `endpoint` (counted in its `inflight`). */
  private counted = false;
  private options: DispatchOptions | undefined;
  private retried = false;
  private resume: (() => void) | undefined;
  private done = false;
  private readonly span: UpstreamSpan | undefined;

  constructor(ctx: RequestContext, target: UpstreamTarget, deps: UpstreamFilterDeps, pathAndQuery: string, endpoint: Endpoint) {
    this.ctx = ctx;
    this.upstream = target.name;
    this.target = target;
    this.deps = deps;
    this.pathAndQuery = pathAndQuery;
    this.endpoint = endpoint;
    this.span = traceOf(ctx)?.upstream(target.name, ctx.request.method, ctx.upstreamHeaders);
    ctx.res.on('close', () => {
      if (!this.done) {
        this.done = true;
        this.ctx.outcome.code = 'client.closed';
        this.abort?.(new Error('client closed the request'));
      }
    });
  }

  dispatch(options: DispatchOptions): void {
    this.options = options;
    this.endpoint.inflight++;
    this.counted = true;
    this.endpoint.pool.dispatch(options, this);
  }

  private settle(): void {
    if (!this.counted) return;
    this.counted = false;
    this.endpoint.inflight--;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.done) abort(new Error('client closed the request'));
  }

  /**
   * Counts a chunked request body against the route's limit. This listener runs before undici's, so
   * on the chunk that crosses the limit the upstream request is aborted (undici destroys its socket)
   * before that chunk can be written: the upstream never receives a complete oversized body.
   */
  onBodyChunk(chunk: Buffer, limit: number): void {
    const { ctx } = this;
    if ((ctx.outcome.bytesIn += chunk.length) <= limit || this.done) return;
    this.done = true;
    ctx.outcome.code = 'request.body_too_large';
    if (ctx.res.headersSent) ctx.res.destroy();
    else {
      if (ctx.req.httpVersionMajor !== 2) ctx.res.setHeader('connection', 'close'); // an HTTP/2 stream ends alone
      this.deps.reply(ctx, 'request.body_too_large', `The request body is larger than this route accepts (${limit} bytes).`);
    }
    const err = new Error('request body too large');
    if (this.abort) this.abort(err);
    else ctx.req.destroy();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx (e.g. 103 Early Hints) are informational; the final head follows
    const { ctx } = this;
    this.target.succeeded(this.endpoint);
    const out = responseHeadersFromRaw(rawHeaders);
    out[ctx.requestIdHeader] = ctx.id;
    this.deps.onResponse(ctx, statusCode, out);
    ctx.outcome.upstreamStatus = statusCode;
    ctx.outcome.upstreamMs = performance.now() - this.started;
    ctx.res.writeHead(statusCode, out);
    this.resume = resume;
    if (isEventStream(out)) this.armLifetime();
    return true;
  }

  /** An event stream is ended (and the upstream request aborted) when its lifetime runs out or its token is revoked. */
  private armLifetime(): void {
    const { ctx } = this;
    const end = (code: ReasonCode): void => {
      if (this.done) return;
      this.done = true;
      ctx.outcome.code = code;
      this.abort?.(new Error(code));
      ctx.res.end();
    };
    const timer = setTimeout(() => end('connection.lifetime_exceeded'), connectionLifetimeMs(ctx));
    const token = delegatedTokenOf(ctx);
    const untrack = token === undefined ? undefined : this.deps.connections?.add(token, () => end('connection.token_revoked'));
    ctx.res.once('close', () => {
      clearTimeout(timer);
      untrack?.();
    });
  }

  /** The upstream switched protocols: write the 101 to the client and relay both sockets. */
  onUpgrade(statusCode: number, rawHeaders: Buffer[], upstream: Duplex): void {
    const { ctx } = this;
    this.done = true;
    this.settle();
    this.target.succeeded(this.endpoint);
    this.observe('ok');
    const up = ctx.upgrade;
    if (up === undefined || up.socket.destroyed) {
      upstream.destroy();
      return;
    }
    const out = responseHeadersFromRaw(rawHeaders);
    let upgrade = 'websocket';
    for (let i = 0; i < rawHeaders.length; i += 2) {
      if ((rawHeaders[i] as Buffer).toString('latin1').toLowerCase() === 'upgrade') upgrade = (rawHeaders[i + 1] as Buffer).toString('latin1');
    }
    out[ctx.requestIdHeader] = ctx.id;
    this.deps.onResponse(ctx, statusCode, out);
    out.connection = 'Upgrade'; // hop-by-hop, but what makes a 101 a 101
    out.upgrade = upgrade;
    ctx.outcome.upstreamStatus = statusCode;
    ctx.outcome.upstreamMs = performance.now() - this.started;
    up.switched = true;
    relay(ctx, up.socket, upstream, `HTTP/1.1 101 Switching Protocols\r\n${serializeHeaders(out)}\r\n`, this.deps.connections);
  }

  private observe(outcome: 'ok' | 'error' | 'timeout'): void {
    this.deps.observe?.(this.upstream, outcome, (performance.now() - this.started) / 1000);
    this.span?.end(outcome, this.ctx.outcome.upstreamStatus);
  }

  onData(chunk: Buffer): boolean {
    if (this.ctx.res.writableEnded) return true; // ended by the lifetime cap
    this.ctx.outcome.bytesOut += chunk.length;
    if (this.ctx.res.write(chunk)) return true;
    this.ctx.res.once('drain', this.resume as () => void);
    return false;
  }

  onComplete(): void {
    this.done = true;
    this.settle();
    this.observe('ok');
    this.ctx.res.end();
  }

  onError(err: Error & { code?: string }): void {
    const { ctx } = this;
    this.settle();
    if (this.done) return; // the client went away first; the abort is ours
    const code = classify(err);
    if (code === 'upstream.connect_failed' || err.code === 'UND_ERR_CONNECT_TIMEOUT') {
      this.target.connectFailed(this.endpoint);
      if (this.retry()) return;
    }
    this.done = true;
    this.observe(code === 'upstream.timeout' ? 'timeout' : 'error');
    if (ctx.res.headersSent) {
      ctx.outcome.code = code === 'upstream.timeout' ? 'upstream.timeout' : 'upstream.reset';
      ctx.res.destroy();
      return;
    }
    ctx.log.debug({ requestId: ctx.id, upstream: this.upstream, err: err.code ?? err.name }, 'upstream failed');
    this.deps.reply(ctx, code, DETAILS[code]);
  }

  /**
   * Once, for an idempotent method, when no byte of the request body has been read (so none was
   * sent) and no response head arrived, on another target, within the upstream's retry budget.
   */
  private retry(): boolean {
    const { ctx, options } = this;
    if (this.retried || !this.target.retries || options === undefined || ctx.res.headersSent) return false;
    if (!IDEMPOTENT.has(ctx.request.method)) return false;
    if (ctx.request.hasBody && (ctx.outcome.bytesIn > 0 || ctx.req.destroyed || ctx.req.readableEnded)) return false;
    const next = this.target.pick(this.endpoint);
    if (next === undefined || !this.target.takeRetry()) return false;
    this.retried = true;
    this.endpoint = next;
    this.abort = undefined;
    this.deps.retry?.(this.upstream);
    ctx.log.debug({ requestId: ctx.id, upstream: this.upstream, target: next.origin }, 'retrying on another target');
    this.dispatch({ ...options, path: next.basePath + this.pathAndQuery });
    return true;
  }
}

function serializeHeaders(headers: Record<string, string | string[]>): string {
  let s = '';
  for (const [name, value] of Object.entries(headers)) {
    if (Array.isArray(value)) for (const v of value) s += `${name}: ${v}\r\n`;
    else s += `${name}: ${value}\r\n`;
  }
  return s;
}

/**
 * Pipes the client and upstream sockets both ways (pipe() gives backpressure), counting bytes. An
 * end on one side is passed on; an error or a close tears both down. The connection's lifetime
 * (lifetime.ts) ends both sockets when it runs out (no close frame is injected: one side may be in
 * the middle of a frame); so does a revocation of the delegated token it was opened with. The
 * client socket's close completes the request (its one audit event).
 */
function relay(ctx: RequestContext, client: Duplex, upstream: Duplex, head: string, connections: LiveConnections | undefined): void {
  const { outcome } = ctx;
  const endThenDestroy = (s: Duplex): void => {
    if (!s.destroyed) s.end(() => s.destroy());
  };
  let over = false;
  const teardown = (): void => {
    if (over) return;
    over = true;
    clearTimeout(timer);
    untrack?.();
    endThenDestroy(client);
    endThenDestroy(upstream);
  };
  const cut = (code: ReasonCode): void => {
    if (outcome.code === 'ok') outcome.code = code;
    upstream.unpipe(client);
    client.unpipe(upstream);
    teardown();
  };
  const timer = setTimeout(() => cut('connection.lifetime_exceeded'), connectionLifetimeMs(ctx));
  const token = delegatedTokenOf(ctx);
  const untrack = token === undefined ? undefined : connections?.add(token, () => cut('connection.token_revoked'));
  client.on('error', () => {
    if (outcome.code === 'ok') outcome.code = 'client.closed';
    clearTimeout(timer);
    upstream.destroy();
  });
  upstream.on('error', () => {
    if (outcome.code === 'ok') outcome.code = 'upstream.reset';
    clearTimeout(timer);
    client.destroy();
  });
  client.once('close', teardown);
  upstream.once('close', teardown);
  client.on('data', (chunk: Buffer) => (outcome.bytesIn += chunk.length));
  upstream.on('data', (chunk: Buffer) => (outcome.bytesOut += chunk.length));
  client.write(head);
  client.pipe(upstream);
  upstream.pipe(client);
}

const DETAILS: Partial<Record<ReasonCode, string>> = {
  'upstream.connect_failed': 'The upstream service could not be reached.',
  'upstream.timeout': 'The upstream service did not answer in time.',
  'upstream.reset': 'The upstream service closed the connection before answering.',
  'upstream.bad_response': 'The upstream service sent a response that is not valid HTTP.',
};

/** Certificate verification failures (OpenSSL's names): the TLS handshake, part of connecting, failed. */
const TLS_FAILURES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

function classify(err: Error & { code?: string }): ReasonCode {
  const code = err.code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'upstream.timeout';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EAI_AGAIN') {
    return 'upstream.connect_failed';
  }
  if (TLS_FAILURES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return 'upstream.connect_failed';
  if (err.name === 'HTTPParserError' || code.startsWith('HPE_') || code === 'UND_ERR_INFO' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
    return 'upstream.bad_response';
  }
  return 'upstream.reset';
}
