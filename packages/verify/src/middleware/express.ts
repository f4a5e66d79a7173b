// Express (4 and 5): `app.use(cortexExpress(verifier))`, then `req.cortex` in every handler after it.
// Typed structurally so that the kit never loads express.
import { sendAssertionProblem, type NodeResponseLike } from '../problem.ts';
import type { Caller, HeaderSource, Verifier } from '../types.ts';

export interface ExpressRequestLike {
  headers: HeaderSource;
  cortex?: Caller;
}
export type ExpressNext = (err?: unknown) => void;

export function cortexExpress(verifier: Verifier): (req: ExpressRequestLike, res: NodeResponseLike, next: ExpressNext) => void {
  return (req, res, next) => {
    verifier.fromHeaders(req.headers).then((result) => {
      if (!result.ok) {
        sendAssertionProblem(res, result);
        return;
      }
      req.cortex = result.caller;
      next();
    }, next);
  };
}

/** The verified caller of a request that went through cortexExpress (throws if it did not). */
export function expressCaller(req: object): Caller {
  const caller = (req as ExpressRequestLike).cortex;
  if (caller === undefined) throw new Error('cortexExpress did not run for this request');
  return caller;
}
