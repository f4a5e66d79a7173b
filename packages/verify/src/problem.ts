// The answer every middleware gives a refused assertion: RFC 9457 problem+json with the code.
import type { FailureCode } from './types.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export interface AssertionProblem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: FailureCode;
}

/** 503 when the JWKS cannot be fetched (not the caller's fault), 401 otherwise. */
export function failureStatus(code: FailureCode): number {
  return code === 'assertion.jwks_unavailable' ? 503 : 401;
}

export function assertionProblem(failure: { readonly code: FailureCode; readonly message: string }): AssertionProblem {
  const status = failureStatus(failure.code);
  return {
    type: `https://cortex.dev/errors/${failure.code}`,
    title: status === 503 ? 'Identity assertion cannot be checked' : 'Identity assertion refused',
    status,
    detail: failure.message,
    code: failure.code,
  };
}

/** What node:http's ServerResponse (and Express's, which extends it) offers. */
export interface NodeResponseLike {
  headersSent: boolean;
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body?: string): unknown;
}

export function sendAssertionProblem(res: NodeResponseLike, failure: { readonly code: FailureCode; readonly message: string }): void {
  const problem = assertionProblem(failure);
  const body = JSON.stringify(problem);
  res.writeHead(problem.status, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
