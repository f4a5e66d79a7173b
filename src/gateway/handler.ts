// Life of a request (docs/architecture.md): accept → normalize → route → header pass → chain →
// upstream, and one completion record per request whatever happened.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { isValidRequestId, METHOD_OVERRIDE, ORIGINAL_URL, parseRequestHeaders } from './headers.ts';
import { normalizeTarget } from './normalize.ts';
import { newRequestId } from './request-id.ts';
import { sendProblem } from './problem.ts';
import { REASONS } from './reason-codes.ts';
import type { ReasonCode } from './reason-codes.ts';
import type { CompiledRoute, Snapshot } from './snapshot.ts';
import type { FilterResult, GatewayRequest, HttpFilter, Outcome, RequestContext } from './types.ts';
import { bindTrace } from '../telemetry/tracing.ts';
import type { RequestTrace, TracingSlot } from '../telemetry/tracing.ts';

export interface CompletedRequest {
  readonly snapshot: Snapshot;
  readonly id: string;
  readonly time: number;
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly clientIp: string;
  readonly userAgent: string | undefined;
  readonly traceparent: string | undefined;
  readonly route: CompiledRoute | undefined;
  readonly ctx: RequestContext | undefined;
  readonly outcome: Outcome;
}

export interface HandlerDeps {
  current(): Snapshot;
  complete(done: CompletedRequest): void;
  log: Logger;
  protocol: 'http' | 'https';
  /** OpenTelemetry spans, when configured (telemetry/tracing.ts). */
  tracing?: TracingSlot;
}

/**
 * `upgrade` is set for a WebSocket upgrade (the listener's 'upgrade' event): `res` is then bound to
 * the raw client socket. The request takes the same path as any other (request id, header pass,
 * host, normalization, routing, the route's chain); the terminal filter does the upgrade.
 */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse, upgrade?: UpgradeRequest) => void;

export interface UpgradeRequest {
  readonly socket: Socket;
}

/**
 * Requests whose body is still being read, by socket. When the parser then rejects the body (a bad
 * chunk), the listener reports the rejection through this so the request's one audit event carries
 * the parser's code instead of a second event for the same exchange.
 */
export const bodiesInFlight = new WeakMap<Socket, { id: string; replied(): boolean; reject(code: ReasonCode): void }>();

/**
 * Connections whose framing Cortex refused. Bytes the parser finds after such a request are the
 * rest of that request (a smuggling attempt), never a request of their own: they are dropped.
 */
const untrustedConnections = new WeakSet<Socket>();

export function isUntrustedConnection(socket: Socket): boolean {
  return untrustedConnections.has(socket);
}

/** Replies after which the connection must close: the bytes that follow cannot be trusted. */
const CLOSE_AFTER: ReadonlySet<ReasonCode> = new Set(['request.bad_framing', 'request.duplicate_header', 'request.bad_host', 'request.malformed']);

const HOST_RE = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/;

export function createRequestHandler(deps: HandlerDeps): RequestHandler {
  return function handle(req, res, upgrade) {
    const snap = deps.current();
    const startedAt = performance.now();
    const time = Date.now();
    const idHeader = snap.requestIdHeader;
    const incomingId = snap.trustIncomingRequestId ? (req.headers[idHeader] as string | undefined) : undefined;
    const id = isValidRequestId(incomingId) ? incomingId : newRequestId();
    const method = req.method ?? 'GET';
    const trace = deps.tracing?.current?.startRequest(req, method);
    const peer = normalizePeer(req.socket.remoteAddress);
    const outcome: Outcome = { status: 0, code: 'ok', bytesIn: 0, bytesOut: 0, durationMs: 0 };
    let ctx: RequestContext | undefined;
    let route: CompiledRoute | undefined;
    let host = '';
    let path = '-';
    let clientIp = peer;

    let rejectedByParser: ReasonCode | undefined;
    // HTTP/1.1 only: an HTTP/2 session carries many streams (req.socket is the session's), and its
    // framing errors end the stream or session, never reaching the listener's clientError.
    const bodyPending = upgrade === undefined && req.httpVersionMajor !== 2 && isBodyPending(req);
    if (bodyPending) {
      bodiesInFlight.set(req.socket, { id, replied: () => res.headersSent, reject: (code) => (rejectedByParser = code) });
    }
    // 'on' rather than 'once' (no wrapper to make and remove per request): 'close' is emitted once,
    // and `completed` keeps a second one from recording the request twice.
    let completed = false;
    res.on('close', () => {
      if (completed) return;
      completed = true;
      if (bodyPending) bodiesInFlight.delete(req.socket);
      outcome.durationMs = performance.now() - startedAt;
      const switched = ctx?.upgrade?.switched === true; // a relayed WebSocket, now closed
      outcome.status = switched ? 101 : res.headersSent ? res.statusCode : 499;
      if (rejectedByParser !== undefined) {
        outcome.code = rejectedByParser;
        outcome.status = REASONS[rejectedByParser].status;
      }
      const finished = req.httpVersionMajor === 2 ? http2Finished(res) : res.writableFinished;
      if (!finished && !switched && outcome.code === 'ok') outcome.code = 'client.closed';
      if (ctx) for (const f of ctx.route.completeFilters) safeComplete(f, ctx, deps.log);
      trace?.finish({ status: outcome.status, code: outcome.code, path, route: route?.id, ctx });
      deps.complete({
        snapshot: snap, id, time, method, host, path, clientIp, route, ctx, outcome,
        userAgent: req.headers['user-agent'],
        traceparent: req.headers.traceparent as string | undefined,
      });
    });

    const reply = (code: ReasonCode, detail?: string, headers?: Record<string, string>): void =>
      localReply(req, res, outcome, id, idHeader, code, detail, headers);

    const parsed = parseRequestHeaders(req.rawHeaders, idHeader);
    if ('code' in parsed) return reply(parsed.code, parsed.detail);
    if (parsed.host === undefined || !HOST_RE.test(parsed.host)) return reply('request.bad_host', 'a valid Host header is required');
    host = hostname(parsed.host);

    const target = normalizeTarget(req.url ?? '');
    if (!target.ok) return reply('request.bad_path', target.detail);
    path = target.path;

    const match = snap.router.find(method, path, host);
    if (!match.found) {
      if (target.ambiguity !== 0) return reply('request.ambiguous_path', 'the path has an encoded slash or ; parameters');
      if (match.allow.length > 0) {
        return reply('route.method_not_allowed', `${method} is not allowed here`, { allow: match.allow.join(', ') });
      }
      return reply('route.not_found', 'no route matches this host and path');
    }
    route = match.route;
    if ((target.ambiguity & ~route.allowAmbiguity) !== 0) {
      return reply('request.ambiguous_path', 'the path has an encoded slash or ; parameters, which this route does not accept');
    }
    if (upgrade !== undefined) {
      if (!route.websocket) return reply('request.upgrade_not_allowed', 'this route does not accept WebSocket upgrades');
      if (!isWebSocketUpgrade(req)) return reply('request.upgrade_not_allowed', 'only Upgrade: websocket is supported');
      if (parsed.chunked || (parsed.contentLength ?? 0) > 0) return reply('request.upgrade_not_allowed', 'an upgrade request cannot have a body');
    }
    if (parsed.held) {
      for (const [name, value] of parsed.held) {
        if ((route.allowMethodOverride && METHOD_OVERRIDE.has(name)) || (route.allowOriginalUrl && ORIGINAL_URL.has(name))) {
          parsed.forward[name] = value;
        }
      }
    }

    const trustedPeer = snap.hasTrustedProxies && snap.trustedProxies.check(peer, peer.includes(':') ? 'ipv6' : 'ipv4');
    if (trustedPeer) clientIp = clientFromForwarded(parsed.incomingForwarded?.['x-forwarded-for'], peer, snap);
    if (route.maxBodyBytes > 0 && parsed.contentLength !== undefined && parsed.contentLength > route.maxBodyBytes) {
      // Refused before any filter runs, so nothing reaches the upstream; the unread body closes the connection.
      return reply('request.body_too_large', `The request body is ${parsed.contentLength} bytes; this route accepts at most ${route.maxBodyBytes}.`);
    }
    const hasBody = parsed.chunked || (parsed.contentLength !== undefined ? parsed.contentLength > 0 : http2BodyFollows(req));
    outcome.bytesIn = parsed.contentLength ?? 0;
    const request: GatewayRequest = {
      method, path, query: target.query, host, hostHeader: parsed.host, peer, clientIp,
      forwardedIn: parsed.incomingForwarded, params: match.params, hasBody,
      contentLength: parsed.contentLength, trustedPeer, protocol: deps.protocol,
    };
    parsed.forward[idHeader] = id;
    ctx = {
      id, requestIdHeader: idHeader, startedAt, time, snapshot: snap, route, request, req, res,
      log: deps.log, upstreamHeaders: parsed.forward,
      upstreamPath: route.rewrite ? route.rewrite(path, match.params) : path,
      outcome,
      upgrade: upgrade === undefined ? undefined : { socket: upgrade.socket, switched: false },
    };
    if (trace !== undefined) bindTrace(ctx, trace);
    runChain(ctx, route.chain, 0, deps.log, trace);
  };
}

/** GET with an Upgrade header naming websocket (RFC 6455 §4.1). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const value = req.headers.upgrade;
  return req.method === 'GET' && typeof value === 'string' && value.split(',').some((t) => t.trim().toLowerCase() === 'websocket');
}

/** A problem+json reply from the gateway itself; closes the connection where what follows is suspect. */
function localReply(
  req: IncomingMessage, res: ServerResponse, outcome: Outcome, id: string, idHeader: string,
  code: ReasonCode, detail?: string, headers?: Record<string, string>, status?: number,
): void {
  outcome.code = code;
  if (req.httpVersionMajor === 2) {
    // Each HTTP/2 stream is framed on its own: nothing after it is suspect, and the session carries
    // other streams. An unread request body is discarded when the stream closes.
    sendProblem(res, code, id, idHeader, detail, headers, status);
    return;
  }
  const bodyPending = isBodyPending(req);
  if (CLOSE_AFTER.has(code)) untrustedConnections.add(req.socket);
  const close = bodyPending || CLOSE_AFTER.has(code);
  sendProblem(res, code, id, idHeader, detail, close ? { ...headers, connection: 'close' } : headers, status);
}

function isBodyPending(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}

/**
 * An HTTP/2 request without content-length has a body unless its HEADERS frame ended the stream
 * (HTTP/1.1 has no such case: without content-length or chunked there is no body).
 */
function http2BodyFollows(req: IncomingMessage): boolean {
  if (req.httpVersionMajor !== 2) return false;
  const stream = (req as IncomingMessage & { stream?: { endAfterHeaders?: boolean } }).stream;
  return stream?.endAfterHeaders === false;
}

/**
 * Whether an HTTP/2 response was sent whole. A stream reset by the client also ends the stream's
 * writable side (so writableFinished is true): only a response the gateway ended, on a stream
 * closed without an error code, is complete.
 */
function http2Finished(res: ServerResponse): boolean {
  const stream = (res as ServerResponse & { stream?: { rstCode?: number } }).stream;
  return res.writableEnded && (stream?.rstCode ?? 0) === 0;
}

function ctxReply(ctx: RequestContext, code: ReasonCode, detail?: string, headers?: Record<string, string>, status?: number): void {
  localReply(ctx.req, ctx.res, ctx.outcome, ctx.id, ctx.requestIdHeader, code, detail, headers, status);
}

/** Runs filters in order; stays synchronous until a filter returns a promise. */
function runChain(ctx: RequestContext, chain: readonly HttpFilter[], from: number, log: Logger, trace?: RequestTrace): void {
  for (let i = from; i < chain.length; i++) {
    const f = chain[i] as HttpFilter;
    if (!f.onRequest) continue;
    const span = trace?.filter(f.name);
    let result: FilterResult | Promise<FilterResult>;
    try {
      result = f.onRequest(ctx);
    } catch (err) {
      span?.end(true);
      return filterFailed(ctx, f, err, log);
    }
    if (result instanceof Promise) {
      result.then(
        (r) => {
          span?.end(r.action === 'reply');
          if (applyResult(ctx, r)) runChain(ctx, chain, i + 1, log, trace);
        },
        (err: unknown) => {
          span?.end(true);
          filterFailed(ctx, f, err, log);
        },
      );
      return;
    }
    span?.end(result.action === 'reply');
    if (!applyResult(ctx, result)) return;
  }
}

/** True when the chain should go on. */
function applyResult(ctx: RequestContext, r: FilterResult): boolean {
  if (r.action === 'continue') return !ctx.res.destroyed;
  if (r.action === 'reply') ctxReply(ctx, r.reply.code, r.reply.detail, r.reply.headers, r.reply.status);
  return false;
}

function filterFailed(ctx: RequestContext, f: HttpFilter, err: unknown, log: Logger): void {
  log.error({ requestId: ctx.id, filter: f.name, err }, 'filter threw');
  if (!ctx.res.headersSent) ctxReply(ctx, 'filter.error', 'An internal error occurred; the request id identifies it in the logs.');
  else ctx.res.destroy();
}

function safeComplete(f: HttpFilter, ctx: RequestContext, log: Logger): void {
  try {
    f.onComplete?.(ctx);
  } catch (err) {
    log.error({ requestId: ctx.id, filter: f.name, err }, 'onComplete threw');
  }
}

export function normalizePeer(addr: string | undefined): string {
  if (!addr) return '0.0.0.0';
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

/** Lower-cased, without the port, and without a trailing dot (`api.example.com.` is the same host). */
function hostname(hostHeader: string): string {
  const h = hostHeader.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  const name = colon === -1 ? h : h.slice(0, colon);
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** The nearest address in X-Forwarded-For that is not itself a trusted proxy. */
function clientFromForwarded(xff: string | undefined, peer: string, snap: Snapshot): string {
  if (!xff) return peer;
  const hops = xff.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = normalizePeer((hops[i] as string).trim());
    const type = isIP(ip);
    if (type === 0) return peer; // a trusted hop wrote garbage: fall back to what we saw ourselves
    if (!snap.trustedProxies.check(ip, type === 6 ? 'ipv6' : 'ipv4')) return ip;
  }
  return peer;
}
