// The terminal filter: streams the request to the route's upstream over an undici pool and the
// response back, with backpressure both ways. Failures before the response head become
// problem+json replies; after it, the client connection is cut (a status cannot be unsaid).
import { responseHeadersFromRaw } from '../../gateway/headers.ts';
import type { HttpFilter, RequestContext } from '../../gateway/types.ts';
import type { ReasonCode } from '../../gateway/reason-codes.ts';
import type { UpstreamTarget } from './upstream-pools.ts';

export interface UpstreamFilterDeps {
  /** Writes a problem reply and records the outcome (the gateway's reply path). */
  reply(ctx: RequestContext, code: ReasonCode, detail?: string): void;
  /** Runs the route's onResponse hooks (reverse chain order) on the response head. */
  onResponse(ctx: RequestContext, status: number, headers: Record<string, string | string[]>): void;
  observe?(upstream: string, outcome: 'ok' | 'error' | 'timeout', seconds: number): void;
}

const HANDLED = Object.freeze({ action: 'handled' as const });

export function createUpstreamFilter(target: UpstreamTarget, timeoutMs: number, deps: UpstreamFilterDeps): HttpFilter {
  return {
    name: 'upstream',
    onRequest(ctx) {
      const { request } = ctx;
      const headers = ctx.upstreamHeaders;
      if (target.hostHeader !== undefined) headers.host = target.hostHeader;
      else headers.host = request.hostHeader;
      if (request.contentLength !== undefined) headers['content-length'] = String(request.contentLength);
      const path = target.basePath + ctx.upstreamPath + (request.query === '' ? '' : '?' + request.query);
      ctx.outcome.upstreamPath = ctx.upstreamPath;
      const handler = new ProxyHandler(ctx, target.name, deps);
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
      target.pool.dispatch(
        {
          path,
          method: request.method,
          headers,
          body: request.hasBody ? ctx.req : null,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          idempotent: false,
          blocking: request.method !== 'HEAD' && request.method !== 'GET',
        },
        handler,
      );
      return HANDLED;
    },
  };
}

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
  private readonly deps: UpstreamFilterDeps;
  private readonly started = performance.now();
  private resume: (() => void) | undefined;
  private done = false;

  constructor(ctx: RequestContext, upstream: string, deps: UpstreamFilterDeps) {
    this.ctx = ctx;
    this.upstream = upstream;
    this.deps = deps;
    ctx.res.once('close', () => {
      if (!this.done) {
        this.done = true;
        this.ctx.outcome.code = 'client.closed';
        this.abort?.(new Error('client closed the request'));
      }
    });
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
      ctx.res.setHeader('connection', 'close');
      this.deps.reply(ctx, 'request.body_too_large', `The request body is larger than this route accepts (${limit} bytes).`);
    }
    const err = new Error('request body too large');
    if (this.abort) this.abort(err);
    else ctx.req.destroy();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx (e.g. 103 Early Hints) are informational; the final head follows
    const { ctx } = this;
    const out = responseHeadersFromRaw(rawHeaders);
    out[ctx.requestIdHeader] = ctx.id;
    this.deps.onResponse(ctx, statusCode, out);
    ctx.outcome.upstreamStatus = statusCode;
    ctx.outcome.upstreamMs = performance.now() - this.started;
    ctx.res.writeHead(statusCode, out);
    this.resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.ctx.outcome.bytesOut += chunk.length;
    if (this.ctx.res.write(chunk)) return true;
    this.ctx.res.once('drain', this.resume as () => void);
    return false;
  }

  onComplete(): void {
    this.done = true;
    this.deps.observe?.(this.upstream, 'ok', (performance.now() - this.started) / 1000);
    this.ctx.res.end();
  }

  onError(err: Error & { code?: string }): void {
    const { ctx } = this;
    if (this.done) return; // the client went away first; the abort is ours
    this.done = true;
    const code = classify(err);
    this.deps.observe?.(this.upstream, code === 'upstream.timeout' ? 'timeout' : 'error', (performance.now() - this.started) / 1000);
    if (ctx.res.headersSent) {
      ctx.outcome.code = code === 'upstream.timeout' ? 'upstream.timeout' : 'upstream.reset';
      ctx.res.destroy();
      return;
    }
    ctx.log.debug({ requestId: ctx.id, upstream: this.upstream, err: err.code ?? err.name }, 'upstream failed');
    this.deps.reply(ctx, code, DETAILS[code]);
  }
}

const DETAILS: Partial<Record<ReasonCode, string>> = {
  'upstream.connect_failed': 'The upstream service could not be reached.',
  'upstream.timeout': 'The upstream service did not answer in time.',
  'upstream.reset': 'The upstream service closed the connection before answering.',
  'upstream.bad_response': 'The upstream service sent a response that is not valid HTTP.',
};

function classify(err: Error & { code?: string }): ReasonCode {
  const code = err.code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'upstream.timeout';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EAI_AGAIN') {
    return 'upstream.connect_failed';
  }
  if (err.name === 'HTTPParserError' || code.startsWith('HPE_') || code === 'UND_ERR_INFO' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
    return 'upstream.bad_response';
  }
  return 'upstream.reset';
}
