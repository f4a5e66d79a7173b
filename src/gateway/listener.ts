// The node:http listener. Requests the parser rejects never reach the handler; they are answered
// here in the same problem+json shape and still counted and audited.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { rawProblemResponse } from './problem.ts';
import type { ReasonCode } from './reason-codes.ts';
import { bodiesInFlight, isUntrustedConnection } from './handler.ts';
import type { RequestHandler } from './handler.ts';

export interface RejectedConnection {
  readonly id: string;
  readonly code: ReasonCode;
  readonly peer: string;
  readonly detail: string;
}

export interface ListenerOptions {
  handler: RequestHandler;
  requestIdHeader(): string;
  onRejected(rejection: RejectedConnection): void;
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
  const server = createServer(
    {
      requireHostHeader: false, // answered by the handler, as problem+json
      joinDuplicateHeaders: false,
      insecureHTTPParser: false,
      keepAliveTimeout: 5_000,
      headersTimeout: 20_000,
      requestTimeout: 120_000,
    },
    opts.handler,
  );
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
  server.on('connect', (_req, socket: Socket) => {
    const id = randomUUID();
    const detail = 'CONNECT is not supported: Cortex is a reverse proxy.';
    opts.onRejected({ id, code: 'route.method_not_allowed', peer: socket.remoteAddress ?? '0.0.0.0', detail });
    socket.end(rawProblemResponse('route.method_not_allowed', id, opts.requestIdHeader(), detail));
  });
  return server;
}
