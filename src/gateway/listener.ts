// The node:http listener. Requests the parser rejects never reach the handler; they are answered
// here in the same problem+json shape and still counted and audited. The client limits
// (gateway.limits) are applied here too: through node:http's own options where Node enforces them,
// and by a check in front of the handler where it does not (URL length, header count).
import { randomUUID } from 'node:crypto';
import { createServer, ServerResponse } from 'node:http';
import type { IncomingMessage, Server, ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import type { SecureServerOptions, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { rawProblemResponse, sendProblem } from './problem.ts';
import type { ReasonCode } from './reason-codes.ts';
import { bodiesInFlight, isUntrustedConnection, isWebSocketUpgrade } from './handler.ts';
import type { RequestHandler } from './handler.ts';
import type { TlsServerOptions } from './tls.ts';

export interface RejectedConnection {
  readonly id: string;
  readonly code: ReasonCode;
  readonly peer: string;
  readonly detail: string;
}

/** gateway.limits (src/config/schema.ts documents each field and its default). */
export interface ListenerLimits {
  readonly maxHeaderBytes: number;
  readonly maxHeaders: number;
  readonly maxUrlBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxRequestsPerSocket: number;
  /** HTTP/2 only: SETTINGS_MAX_CONCURRENT_STREAMS. */
  readonly maxConcurrentStreams: number;
}

/** The schema's defaults, for a listener created without a config. */
export const DEFAULT_LIMITS: ListenerLimits = {
  maxHeaderBytes: 16_384,
  maxHeaders: 100,
  maxUrlBytes: 8_192,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 10_000,
  maxRequestsPerSocket: 0,
  maxConcurrentStreams: 100,
};

/**
 * HTTP/2 protections besides the stream limit (documented with gateway.limits.maxConcurrentStreams).
 * Node's own rapid-reset mitigation (CVE-2023-44487) is always on: a session whose client keeps
 * cancelling streams is closed with ENHANCE_YOUR_CALM.
 */
export const HTTP2_PROTECTIONS = {
  /** Invalid frames tolerated on one session before it is closed (Node: 1000). */
  maxSessionInvalidFrames: 100,
  /** Streams refused on one session (over the stream limit) before it is closed (Node: 100). */
  maxSessionRejectedStreams: 100,
  /** Unanswered PINGs a client may have in flight; a PING flood closes the session. */
  maxOutstandingPings: 10,
  /** Unacknowledged SETTINGS a client may have in flight; a SETTINGS flood closes the session. */
  maxOutstandingSettings: 10,
} as const;

export interface ListenerOptions {
  handler: RequestHandler;
  requestIdHeader(): string;
  onRejected(rejection: RejectedConnection): void;
  /** Read once, when the server is created: a reload does not change them (like the address). */
  limits?: ListenerLimits;
  /** Serve HTTPS with these (gateway/tls.ts builds them); plain HTTP when unset. */
  tls?: TlsServerOptions;
  /** With tls: offer HTTP/2 by ALPN beside HTTP/1.1 (node:http2's compat API, same handler). */
  http2?: boolean;
}

const PARSER_CODES: Record<string, [ReasonCode, string]> = {
  HPE_HEADER_OVERFLOW: ['request.header_too_large', 'The request headers are larger than this gateway accepts.'],
  ERR_HTTP_REQUEST_TIMEOUT: ['request.timeout', 'The request was not received in time.'],
  ERR_HTTP_HEADERS_TIMEOUT: ['request.timeout', 'The request headers were not received in time.'],
  HPE_INVALID_TRANSFER_ENCODING: ['request.bad_framing', 'Transfer-Encoding is malformed or conflicts with Content-Length.'],
  HPE_UNEXPECTED_CONTENT_LENGTH: ['request.bad_framing', 'Content-Length conflicts with Transfer-Encoding or is repeated.'],
  HPE_INVALID_CONTENT_LENGTH: ['request.bad_framing', 'Content-Length is malformed.'],
  HPE_INVALID_CHUNK_SIZE: ['request.bad_framing', 'A chunk size is malformed.'],
};

export function createGatewayServer(opts: ListenerOptions): Server {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const refuse = (req: IncomingMessage, res: ServerResponse, code: ReasonCode, detail: string): void => {
    const id = randomUUID();
    opts.onRejected({ id, code, peer: req.socket.remoteAddress ?? '0.0.0.0', detail });
    sendProblem(res, code, id, opts.requestIdHeader(), detail, { connection: 'close' });
  };
  const httpOptions: ServerOptions = {
    requireHostHeader: false, // answered by the handler, as problem+json
    joinDuplicateHeaders: false,
    insecureHTTPParser: false,
    maxHeaderSize: limits.maxHeaderBytes, // the whole head, request line included: HPE_HEADER_OVERFLOW
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    headersTimeout: limits.headersTimeoutMs, // both timeouts surface as ERR_HTTP_REQUEST_TIMEOUT
    requestTimeout: limits.requestTimeoutMs,
    // Node only looks for expired requests on this interval (30 s by default), so a timeout is
    // enforced up to one interval late; keep it well under the shortest timeout.
    connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 2))),
    // Only WebSocket upgrades leave the HTTP parser (the 'upgrade' event below); any other Upgrade
    // (h2c...) is an ordinary request, whose Upgrade header the header pass drops.
    shouldUpgradeCallback: isWebSocketUpgrade,
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // Bytes after a refused request are the rest of that request: drop the connection, no reply.
    if (isUntrustedConnection(req.socket)) return void req.socket.destroy();
    const refused = checkLimits(req);
    if (refused) return refuse(req, res, refused[0], refused[1]);
    opts.handler(req, res);
  };
  /** gateway.limits that node:http does not enforce itself. */
  const checkLimits = (req: IncomingMessage): [ReasonCode, string] | undefined => {
    // llhttp has no limit of its own on the target's length (only on the whole head).
    const urlBytes = (req.url ?? '').length; // one char per byte: Node decodes the target as latin1
    if (urlBytes > limits.maxUrlBytes) {
      return ['request.uri_too_long', `The request target is ${urlBytes} bytes; this gateway accepts at most ${limits.maxUrlBytes}.`];
    }
    let headerCount = req.rawHeaders.length / 2;
    if (req.httpVersionMajor === 2) {
      // HTTP/2's pseudo-headers (:method, :path, :scheme, :authority) are not header fields.
      for (let i = 0; i < req.rawHeaders.length; i += 2) if ((req.rawHeaders[i] as string).startsWith(':')) headerCount--;
    }
    if (headerCount > limits.maxHeaders) {
      return ['request.header_too_large', `The request has ${headerCount} header fields; this gateway accepts at most ${limits.maxHeaders}.`];
    }
    return undefined;
  };
  /**
   * A WebSocket upgrade: the socket has left the HTTP parser. A response bound to it (never kept
   * alive) carries any reply that is not a 101, so the request goes through the same handler as any
   * other; the terminal filter does the upgrade (ctx.upgrade) and relays the socket. The socket's
   * close completes the request.
   */
  const onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    socket.on('error', () => socket.destroy()); // node:http removed its own listeners
    if (head.length > 0) socket.unshift(head); // client bytes sent before the 101: relayed after it
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.once('finish', () => {
      if (!socket.destroyed) socket.end(() => socket.destroy());
    });
    if (isUntrustedConnection(socket)) return void socket.destroy();
    const refused = checkLimits(req);
    if (refused) return refuse(req, res, refused[0], refused[1]);
    opts.handler(req, res, { socket });
  };
  // node:https's Server runs the same HTTP/1.1 server over TLS sockets (it is an http.Server in
  // all but its declared type), so everything below applies to both.
  // With http2, node:http2's secure server speaks HTTP/2 to clients that ask for h2 by ALPN and
  // hands the other TLS connections to node:http's HTTP/1.1 code with the same options (allowHTTP1),
  // so both reach onRequest: HTTP/2 streams through the compat API (Http2ServerRequest/Response,
  // which the handler uses only through the members they share with IncomingMessage/ServerResponse).
  const server = opts.tls
    ? opts.http2
      ? (createSecureServer(http2Options(httpOptions, opts.tls, limits), onRequest as never) as unknown as Server)
      : (createHttpsServer({ ...httpOptions, ...opts.tls }, onRequest) as unknown as Server)
    : createServer(httpOptions, onRequest);
  // Node's own count (maxHeadersCount) answers a bare parse error; 0 lifts it so the check above
  // can name the count. maxHeaderBytes still bounds how many headers can arrive.
  server.maxHeadersCount = 0;
  // node:http2's server hands HTTP/1.1 connections (allowHTTP1) to node:http's code without reading
  // the option; the property is what node:http consults.
  (server as Server & { shouldUpgradeCallback: (req: IncomingMessage) => boolean }).shouldUpgradeCallback = isWebSocketUpgrade;
  server.maxConnections = limits.maxConnections;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  // A connection over maxConnections is closed by Node as it is accepted: no reply is possible.
  server.on('drop', (data?: { remoteAddress?: string }) => {
    opts.onRejected({
      id: randomUUID(),
      code: 'connection.limit',
      peer: data?.remoteAddress ?? '0.0.0.0',
      detail: `The listener already has ${limits.maxConnections} connections open.`,
    });
  });
  if (opts.tls && opts.http2) {
    // keepAliveTimeoutMs for HTTP/2: a session with no open stream and no frames for that long is
    // closed (GOAWAY). A session with a stream in progress (a slow upstream) is kept.
    server.on('session', (session: ServerHttp2Session) => {
      let open = 0;
      session.on('stream', (stream: ServerHttp2Stream) => {
        open++;
        stream.once('close', () => open--);
      });
      session.setTimeout(limits.keepAliveTimeoutMs, () => {
        if (open === 0) session.close();
      });
    });
  }
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const inFlight = bodiesInFlight.get(socket);
    if (err.code === 'HPE_INVALID_EOF_STATE' || isUntrustedConnection(socket)) {
      socket.destroy(); // the client left mid-body, or the bytes belong to a request already refused
      return;
    }
    const [code, detail] = PARSER_CODES[err.code ?? ''] ?? (['request.malformed', 'The request is not valid HTTP/1.1.'] as const);
    if (inFlight) {
      // The request was already handed to the handler; its one audit event takes this code.
      inFlight.reject(code);
      if (inFlight.replied()) socket.end();
      else socket.end(rawProblemResponse(code, inFlight.id, opts.requestIdHeader(), detail));
      return;
    }
    const id = randomUUID();
    opts.onRejected({ id, code, peer: socket.remoteAddress ?? '0.0.0.0', detail });
    const reply = rawProblemResponse(code, id, opts.requestIdHeader(), detail);
    // A pipelined request before the bad bytes is still being answered: let its response go first.
    const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (current && !current.writableFinished) {
      current.once('finish', () => socket.end(reply));
      current.once('close', () => {
        if (!current.writableFinished) socket.destroy();
      });
    } else {
      socket.end(reply);
    }
  });
  server.on('upgrade', onUpgrade);
  server.on('connect', (_req, socket: Socket) => {
    const id = randomUUID();
    const detail = 'CONNECT is not supported: Cortex is a reverse proxy.';
    opts.onRejected({ id, code: 'route.method_not_allowed', peer: socket.remoteAddress ?? '0.0.0.0', detail });
    socket.end(rawProblemResponse('route.method_not_allowed', id, opts.requestIdHeader(), detail));
  });
  return server;
}

function http2Options(httpOptions: ServerOptions, tls: TlsServerOptions, limits: ListenerLimits): SecureServerOptions {
  return {
    ...httpOptions, // read by node:http for the HTTP/1.1 connections (allowHTTP1)
    ...tls,
    allowHTTP1: true,
    ...HTTP2_PROTECTIONS,
    // Headers beyond maxHeaders are answered 431 by the check in onRequest; far beyond it
    // (and the 4 pseudo-headers) the stream is refused by nghttp2 before it gets that far.
    maxHeaderListPairs: limits.maxHeaders + 5,
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderBytes,
    },
  };
}
