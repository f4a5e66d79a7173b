// node:http: wraps a request handler so that it runs only for a verified caller (req.cortex).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendAssertionProblem } from '../problem.ts';
import type { Caller, Verifier } from '../types.ts';

export type CortexIncomingMessage = IncomingMessage & { cortex: Caller };
export type CortexNodeHandler = (req: CortexIncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * Verifies the assertion, then calls `handler` with `req.cortex` set; a refusal is answered 401
 * (503 when the JWKS is unreachable) with problem+json. A handler that throws gets a 500 when
 * nothing was sent yet, else its connection is cut.
 */
export function withCortex(verifier: Verifier, handler: CortexNodeHandler): (req: IncomingMessage, res: ServerResponse) => void {
  const run = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const result = await verifier.fromHeaders(req.headers);
    if (!result.ok) {
      sendAssertionProblem(res, result);
      return;
    }
    const verified = req as CortexIncomingMessage;
    verified.cortex = result.caller;
    try {
      await handler(verified, res);
    } catch (err) {
      if (res.headersSent) res.destroy(err instanceof Error ? err : undefined);
      else res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('internal error');
    }
  };
  return (req, res) => {
    run(req, res).catch((err: unknown) => res.destroy(err instanceof Error ? err : undefined));
  };
}
