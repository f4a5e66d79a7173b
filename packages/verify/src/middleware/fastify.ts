// Fastify: `app.register(cortexFastify(verifier))` verifies every request of the instance (an
// onRequest hook) and sets `request.cortex`. Typed structurally so that the kit never loads fastify.
import { assertionProblem, PROBLEM_CONTENT_TYPE } from '../problem.ts';
import type { Caller, HeaderSource, Verifier } from '../types.ts';

export interface FastifyRequestLike {
  headers: HeaderSource;
  cortex?: Caller | null;
}
export interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(body: string): FastifyReplyLike;
}
export interface FastifyInstanceLike {
  hasRequestDecorator(name: string): boolean;
  decorateRequest(name: 'cortex', value: null): unknown;
  addHook(name: 'onRequest', hook: (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>): unknown;
}

/** The hook itself, for `app.addHook('onRequest', ...)` on chosen routes or scopes. */
export function cortexOnRequest(verifier: Verifier): (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown> {
  return async (request, reply) => {
    const result = await verifier.fromHeaders(request.headers);
    if (result.ok) {
      request.cortex = result.caller;
      return undefined;
    }
    const problem = assertionProblem(result);
    // Returning the reply after send() is how an async Fastify hook answers early.
    return reply.code(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  };
}

type Plugin = (instance: FastifyInstanceLike, options: unknown, done: (err?: Error) => void) => void;

/** A plugin that applies to the instance it is registered on (what fastify-plugin would do). */
export function cortexFastify(verifier: Verifier): Plugin {
  const plugin: Plugin = (instance, _options, done) => {
    // Registering the plugin twice on one instance is harmless; decorating twice would throw.
    if (!instance.hasRequestDecorator('cortex')) instance.decorateRequest('cortex', null);
    instance.addHook('onRequest', cortexOnRequest(verifier));
    done();
  };
  Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'cortex-verify',
  });
  return plugin;
}

/** The verified caller of a request that went through the hook (throws if it did not). */
export function fastifyCaller(request: object): Caller {
  const caller = (request as FastifyRequestLike).cortex;
  if (caller === undefined || caller === null) throw new Error('the cortex onRequest hook did not run for this request');
  return caller;
}
