// POST /api/revocations: revokes delegated tokens (by jti, agent, person, or a person's grant to an
// agent) in the gateway's revocation store. This is how `cortex tokens revoke` reaches a gateway
// whose store is its own memory; with Redis the CLI writes to Redis and every instance hears it.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { SystemAction } from '../audit/event.ts';
import type { RevocationStore } from '../credentials/types.ts';
import { describeRevocation, parseRevocation } from '../stores/revocations/revocation-input.ts';
import { jsonReply, problemReply } from './replies.ts';
import type { AdminReply } from './replies.ts';

export const REVOCATIONS_PATH = '/api/revocations';
const MAX_BODY_BYTES = 4_096;

export interface RevocationRequest {
  readonly req: IncomingMessage;
  readonly requestId: string;
  readonly deps: { readonly log: Logger };
  readonly record?: (action: SystemAction, details: Record<string, unknown>, status: number) => void;
}

export async function revocationsEndpoint(ctx: RevocationRequest, store: RevocationStore | undefined): Promise<AdminReply> {
  if (store === undefined) return problemReply('admin.not_found', ctx.requestId, 'Token exchange is not configured (credentials.tokenExchange).');
  const type = ctx.req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) return problemReply('request.malformed', ctx.requestId, 'Send the revocation as application/json.');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) return problemReply('request.malformed', ctx.requestId, `The body must be at most ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk);
  }
  let input: unknown;
  try {
    input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return problemReply('request.malformed', ctx.requestId, 'The body is not valid JSON.');
  }
  const parsed = parseRevocation(input, Date.now());
  if (!parsed.ok) return problemReply('request.malformed', ctx.requestId, `Cannot revoke: ${parsed.problem}.`);
  try {
    await store.revoke(parsed.revocation);
  } catch (err) {
    // Applied on this instance already; sharing it with the fleet (Redis) failed.
    ctx.deps.log.error({ err: (err as Error).message }, 'revocation applied here but not stored');
    return problemReply('admin.store_unavailable', ctx.requestId, 'Revoked on this instance, but the revocation store could not be reached: other instances may not know.');
  }
  ctx.deps.log.info({ revocation: parsed.revocation }, `revoked ${describeRevocation(parsed.revocation)}`);
  ctx.record?.('token_revoked', { ...parsed.revocation, requestId: ctx.requestId }, 200);
  return jsonReply(200, { revoked: parsed.revocation });
}
