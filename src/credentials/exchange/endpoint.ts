// POST /.cortex/token: the RFC 8693 token exchange endpoint on the gateway listener. Answers are
// JSON per RFC 8693 §2.2 (no refresh_token) or RFC 6749 §5.2, always Cache-Control: no-store.
// Tokens are never echoed, logged or audited; the audit event records who delegated what to whom.
import type { InternalEndpoint } from '../../identity/authenticator.ts';
import type { FilterResult, RequestContext } from '../../gateway/types.ts';
import { FailureLimiter } from './client-auth.ts';
import type { ExchangeError } from './request.ts';
import { exchangeError } from './request.ts';
import { runExchange } from './exchange.ts';
import type { ExchangeDeps, ExchangeRecord } from './exchange.ts';
import { ACCESS_TOKEN_TYPE, isFormContentType, parseExchange, parseForm, readBody } from './request.ts';

export const TOKEN_PATH = '/.cortex/token';

/** The exchange each /.cortex/token request made or was refused, for its audit event. */
export const exchangeRecords = new WeakMap<RequestContext, ExchangeRecord>();

function send(ctx: RequestContext, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): FilterResult {
  const text = JSON.stringify(body);
  ctx.res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    pragma: 'no-cache',
    [ctx.requestIdHeader]: ctx.id,
  });
  ctx.res.end(text);
  return { action: 'handled' };
}

function refuse(ctx: RequestContext, record: ExchangeRecord, e: ExchangeError): FilterResult {
  record.refused = e.error;
  ctx.outcome.code = 'credentials.exchange_refused';
  return send(ctx, e.status, { error: e.error, error_description: e.description }, e.headers);
}

export function createTokenEndpoint(deps: ExchangeDeps, limiter = new FailureLimiter()): InternalEndpoint {
  const onRequest = async (ctx: RequestContext): Promise<FilterResult> => {
    const record: ExchangeRecord = {};
    exchangeRecords.set(ctx, record);
    if (!isFormContentType(ctx.req.headers['content-type'])) {
      ctx.req.resume();
      return refuse(ctx, record, exchangeError('invalid_request', 'The body must be application/x-www-form-urlencoded.'));
    }
    const body = await readBody(ctx.req);
    if (!body.ok) return refuse(ctx, record, body.error);
    const form = parseForm(body.value);
    if (!form.ok) return refuse(ctx, record, form.error);
    const req = parseExchange(form.value);
    if (!req.ok) return refuse(ctx, record, req.error);
    const authorization = ctx.req.headers.authorization;
    const now = deps.now();
    const claimedId = req.value.clientId ?? basicId(authorization);
    if (claimedId !== undefined && !limiter.allows(claimedId, now)) {
      return refuse(ctx, record, exchangeError('invalid_client', 'Too many failed client authentications; try again later.', { 'retry-after': '10' }));
    }
    let outcome;
    try {
      outcome = await runExchange(req.value, authorization, deps, record);
    } catch (err) {
      ctx.log.error({ err: (err as Error).message }, 'token exchange failed');
      return refuse(ctx, record, exchangeError('temporarily_unavailable', 'The token could not be issued; try again shortly.'));
    }
    if (!outcome.ok) {
      if (outcome.error.error === 'invalid_client' && outcome.clientId !== undefined) limiter.fail(outcome.clientId, now);
      return refuse(ctx, record, outcome.error);
    }
    const a = outcome.answer;
    return send(ctx, 200, { access_token: a.accessToken, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: a.expiresIn, scope: a.scope });
  };
  return { id: 'cortex.token', path: TOKEN_PATH, methods: ['POST'], filter: { name: 'token-exchange', onRequest } };
}

function basicId(authorization: string | undefined): string | undefined {
  if (authorization === undefined || !authorization.toLowerCase().startsWith('basic ')) return undefined;
  const raw = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = raw.indexOf(':');
  if (colon === -1) return undefined;
  try {
    return decodeURIComponent(raw.slice(0, colon));
  } catch {
    return undefined;
  }
}
