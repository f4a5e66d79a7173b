// Writing admin responses: JSON, Prometheus text, and problem+json errors in the same shape the
// gateway uses for its local replies, so one client-side parser handles both listeners.
import type { ServerResponse } from 'node:http';
import type { ReasonCode } from '../gateway/reason-codes.ts';
import { problemBody } from '../gateway/problem.ts';

/** What an endpoint answers; the server writes it (and drops the body for HEAD). */
export interface AdminReply {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string | string[]>;
}

export function jsonReply(status: number, value: unknown): AdminReply {
  return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(value) };
}

export function problemReply(
  code: ReasonCode,
  requestId: string,
  detail?: string,
  headers?: Record<string, string>,
): AdminReply {
  const body = problemBody(code, requestId, detail);
  const reply: AdminReply = {
    status: body.status,
    contentType: 'application/problem+json; charset=utf-8',
    body: JSON.stringify(body),
  };
  if (headers !== undefined) reply.headers = headers;
  return reply;
}

export function writeReply(res: ServerResponse, reply: AdminReply): void {
  res.statusCode = reply.status;
  res.setHeader('content-type', reply.contentType);
  res.setHeader('content-length', Buffer.byteLength(reply.body));
  if (reply.headers !== undefined) {
    for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  }
  // Node omits the body itself when the request was HEAD, keeping content-length accurate.
  res.end(reply.body);
}
