// @cortex-gateway/verify: verify the identity assertion Cortex sends to upstream services.
export { createVerifier, readAssertionHeader } from './verify.ts';
export { assertionProblem, failureStatus, sendAssertionProblem, PROBLEM_CONTENT_TYPE } from './problem.ts';
export type { AssertionProblem, NodeResponseLike } from './problem.ts';
export { withCortex } from './middleware/node.ts';
export type { CortexIncomingMessage, CortexNodeHandler } from './middleware/node.ts';
export { cortexExpress, expressCaller } from './middleware/express.ts';
export type { ExpressNext, ExpressRequestLike } from './middleware/express.ts';
export { cortexFastify, cortexOnRequest, fastifyCaller } from './middleware/fastify.ts';
export type { FastifyInstanceLike, FastifyReplyLike, FastifyRequestLike } from './middleware/fastify.ts';
export { cortexHono } from './middleware/hono.ts';
export type { CortexHonoEnv, HonoContextLike } from './middleware/hono.ts';
export type * from './types.ts';
