// The admin API for API keys: GET /api/api-keys (list), POST /api/api-keys (create; the key is in
// this one response only) and DELETE /api/api-keys/<keyId> (revoke). Behind the admin token.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { SystemAction } from '../audit/event.ts';
import { issueApiKey, issueProblem, KEY_ID_PATTERN } from '../identity/api-keys/keys.ts';
import type { ApiKeyStore, IssueRequest } from '../identity/api-keys/keys.ts';
import { jsonReply, problemReply } from './replies.ts';
import type { AdminReply } from './replies.ts';

/** What these handlers read of the admin request (a narrower AdminContext, so endpoints.ts can import this file). */
export interface KeyRequest {
  readonly req: IncomingMessage;
  readonly requestId: string;
  readonly deps: { readonly log: Logger };
  readonly record?: (action: SystemAction, details: Record<string, unknown>, status: number) => void;
}

/** What the admin API needs of the gateway's API key runtime. */
export interface ApiKeyAdmin {
  store: ApiKeyStore;
  hmacSecret: string;
}

export const API_KEYS_PATH = '/api/api-keys';
const MAX_BODY_BYTES = 16_384;

function notConfigured(requestId: string): AdminReply {
  return problemReply('admin.not_found', requestId, 'API keys are not configured (identity.apiKeys).');
}

function badRequest(requestId: string, detail: string): AdminReply {
  return problemReply('request.malformed', requestId, detail);
}

/** GET (list) and POST (create) on /api/api-keys. */
export async function apiKeysCollection(ctx: KeyRequest, admin: ApiKeyAdmin | undefined): Promise<AdminReply> {
  if (admin === undefined) return notConfigured(ctx.requestId);
  if (ctx.req.method !== 'POST') return jsonReply(200, { keys: await admin.store.list() });
  const type = ctx.req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) return badRequest(ctx.requestId, 'Send the new key as application/json.');
  const text = await readBody(ctx.req);
  if (text === undefined) return badRequest(ctx.requestId, `The body must be at most ${MAX_BODY_BYTES} bytes.`);
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    return badRequest(ctx.requestId, 'The body is not valid JSON.');
  }
  const problem = issueProblem(input);
  if (problem !== undefined) return badRequest(ctx.requestId, `Cannot create the key: ${problem}.`);
  const issued = await issueApiKey(admin.store, admin.hmacSecret, input as IssueRequest);
  ctx.deps.log.info({ keyId: issued.record.keyId, kind: issued.record.kind, subject: issued.record.subject, roles: issued.record.roles }, 'api key created');
  const { keyId, kind, subject, roles, expiresAt } = issued.record;
  ctx.record?.('api_key_created', { keyId, kind, subject, roles: [...roles], ...(expiresAt === undefined ? {} : { expiresAt: new Date(expiresAt).toISOString() }), requestId: ctx.requestId }, 201);
  return jsonReply(201, { key: issued.key, ...issued.record });
}

/** DELETE /api/api-keys/<keyId>: revoke. */
export async function apiKeyItem(ctx: KeyRequest, admin: ApiKeyAdmin | undefined): Promise<AdminReply> {
  if (admin === undefined) return notConfigured(ctx.requestId);
  const path = (ctx.req.url ?? '').split('?')[0] ?? '';
  const keyId = path.slice(API_KEYS_PATH.length + 1);
  if (!KEY_ID_PATTERN.test(keyId)) return problemReply('admin.not_found', ctx.requestId, 'No API key with that id.');
  const result = await admin.store.revoke(keyId, Date.now());
  if (result === 'not_found') return problemReply('admin.not_found', ctx.requestId, 'No API key with that id.');
  if (result === 'revoked') ctx.deps.log.info({ keyId }, 'api key revoked');
  ctx.record?.('api_key_revoked', { keyId, alreadyRevoked: result === 'already_revoked', requestId: ctx.requestId }, 200);
  return jsonReply(200, { keyId, revoked: true, alreadyRevoked: result === 'already_revoked' });
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
