// Hono: `app.use(cortexHono(verifier))`, then `c.get('cortex')`. Typed structurally so that the kit
// never loads hono; runs wherever Hono runs (Node, Bun, Deno, workers) since it reads Web headers.
import { assertionProblem, PROBLEM_CONTENT_TYPE } from '../problem.ts';
import type { Caller, Verifier } from '../types.ts';

/** Declare `new Hono<CortexHonoEnv>()` so that `c.get('cortex')` is typed. */
export interface CortexHonoEnv {
  Variables: { cortex: Caller };
}

export interface HonoContextLike {
  req: { raw: { headers: { get(name: string): string | null } } };
  set(key: 'cortex', value: Caller): void;
}

export function cortexHono(verifier: Verifier): (c: HonoContextLike, next: () => Promise<void>) => Promise<Response | undefined> {
  return async (c, next) => {
    const result = await verifier.fromHeaders(c.req.raw.headers);
    if (!result.ok) {
      const problem = assertionProblem(result);
      return new Response(JSON.stringify(problem), { status: problem.status, headers: { 'content-type': PROBLEM_CONTENT_TYPE } });
    }
    c.set('cortex', result.caller);
    await next();
    return undefined;
  };
}
