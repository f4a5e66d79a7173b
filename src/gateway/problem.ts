// application/problem+json (RFC 9457) for every local reply: the same shape from the data plane,
// the parser-level error handler and the admin listener.
import { STATUS_CODES } from 'node:http';
import type { ServerResponse } from 'node:http';
import { REASONS } from './reason-codes.ts';
import type { ReasonCode } from './reason-codes.ts';

export const PROBLEM_TYPE_BASE = 'https://cortex.dev/errors/';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ReasonCode;
  requestId: string;
}

export function problemBody(code: ReasonCode, requestId: string, detail?: string, status?: number): Problem {
  const reason = REASONS[code];
  return {
    type: PROBLEM_TYPE_BASE + code,
    title: reason.title,
    status: status ?? reason.status,
    detail: detail ?? reason.title,
    code,
    requestId,
  };
}

function problemJson(code: ReasonCode, requestId: string, detail?: string, status?: number): string {
  return JSON.stringify(problemBody(code, requestId, detail, status));
}

/** Writes a complete problem reply on a ServerResponse that has not started its head. */
export function sendProblem(
  res: ServerResponse,
  code: ReasonCode,
  requestId: string,
  requestIdHeader: string,
  detail?: string,
  extraHeaders?: Record<string, string>,
  status?: number,
): void {
  const body = problemJson(code, requestId, detail, status);
  const headers: Record<string, string | number> = {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    [requestIdHeader]: requestId,
    ...extraHeaders,
  };
  // Connection-specific headers are illegal in HTTP/2 (RFC 9113 §8.2.2): a stream does not own
  // its connection. res.req is the compat API's Http2ServerRequest there.
  if (res.req.httpVersionMajor === 2) delete headers.connection;
  res.writeHead(status ?? REASONS[code].status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** The bytes of a whole HTTP/1.1 problem reply, for sockets the HTTP parser gave up on. */
export function rawProblemResponse(code: ReasonCode, requestId: string, requestIdHeader: string, detail?: string): string {
  const status = REASONS[code].status;
  const body = problemJson(code, requestId, detail);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'content-type: application/problem+json\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'cache-control: no-store\r\n' +
    `${requestIdHeader}: ${requestId}\r\n` +
    'connection: close\r\n\r\n' +
    body
  );
}
