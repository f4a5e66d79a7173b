// RFC 8693 §2.1 token exchange requests: the form body read under a size limit and checked
// parameter by parameter. A parameter given twice is refused (RFC 6749 §3.2), never guessed at.
// Errors are RFC 6749 §5.2's (JSON with `error`, never problem+json: OAuth clients parse `error`).
import type { IncomingMessage } from 'node:http';

export type ExchangeErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'temporarily_unavailable';

export interface ExchangeError {
  readonly error: ExchangeErrorCode;
  /** A fixed sentence: never a token, never a library's error text. */
  readonly description: string;
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
}

const STATUS: Record<ExchangeErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  temporarily_unavailable: 503,
};

export function exchangeError(error: ExchangeErrorCode, description: string, headers?: Record<string, string>): ExchangeError {
  return headers === undefined ? { error, description, status: STATUS[error] } : { error, description, status: STATUS[error], headers };
}

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const SUBJECT_TYPES = new Set([ACCESS_TOKEN_TYPE, JWT_TYPE]);
export const MAX_BODY_BYTES = 65_536;

const KNOWN = new Set([
  'grant_type',
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'scope',
  'audience',
  'resource',
  'requested_token_type',
  'client_id',
  'client_secret',
]);

export interface ExchangeRequest {
  readonly subjectToken: string;
  /** Requested intents; undefined = everything both hold. */
  readonly scope: readonly string[] | undefined;
  readonly audience: string | undefined;
  readonly actorToken: string | undefined;
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: ExchangeError };

/** Reads the request body, refusing more than `limit` bytes. */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Parsed<string>> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: Parsed<string>): void => {
      if (done) return;
      done = true;
      resolve(r);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        finish({ ok: false, error: exchangeError('invalid_request', 'The request body is too large.') });
        req.resume();
        return;
      }
      if (!done) chunks.push(chunk);
    });
    req.on('end', () => finish({ ok: true, value: Buffer.concat(chunks).toString('utf8') }));
    req.on('error', () => finish({ ok: false, error: exchangeError('invalid_request', 'The request body could not be read.') }));
    req.on('aborted', () => finish({ ok: false, error: exchangeError('invalid_request', 'The request body was cut short.') }));
  });
}

export function isFormContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const type = value.split(';', 1)[0]?.trim().toLowerCase();
  return type === 'application/x-www-form-urlencoded';
}

/** The form's parameters: each at most once, only known names count (RFC 6749 §3.2). */
export function parseForm(body: string): Parsed<ReadonlyMap<string, string>> {
  const out = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(body)) {
    if (!KNOWN.has(name)) continue;
    if (out.has(name)) return { ok: false, error: exchangeError('invalid_request', `The parameter ${name} is given more than once.`) };
    out.set(name, value);
  }
  return { ok: true, value: out };
}

export function parseExchange(form: ReadonlyMap<string, string>): Parsed<ExchangeRequest> {
  const bad = (description: string): Parsed<ExchangeRequest> => ({ ok: false, error: exchangeError('invalid_request', description) });
  const grant = form.get('grant_type');
  if (grant === undefined || grant === '') return bad('grant_type is missing.');
  if (grant !== TOKEN_EXCHANGE_GRANT) return { ok: false, error: exchangeError('unsupported_grant_type', `Only ${TOKEN_EXCHANGE_GRANT} is served here.`) };
  const subjectToken = form.get('subject_token');
  if (subjectToken === undefined || subjectToken === '') return bad('subject_token is missing.');
  const subjectType = form.get('subject_token_type');
  if (subjectType === undefined || !SUBJECT_TYPES.has(subjectType)) return bad(`subject_token_type must be ${ACCESS_TOKEN_TYPE} (or :jwt).`);
  const requested = form.get('requested_token_type');
  if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) return bad(`Only ${ACCESS_TOKEN_TYPE} can be issued.`);
  const actorToken = form.get('actor_token');
  const actorType = form.get('actor_token_type');
  if ((actorToken === undefined) !== (actorType === undefined)) return bad('actor_token and actor_token_type go together.');
  if (actorType !== undefined && !SUBJECT_TYPES.has(actorType)) return bad(`actor_token_type must be ${ACCESS_TOKEN_TYPE} (or :jwt).`);
  const scopeText = form.get('scope');
  let scope: string[] | undefined;
  if (scopeText !== undefined) {
    scope = [...new Set(scopeText.split(' ').filter((s) => s !== ''))];
    if (scope.length === 0) return bad('scope is empty.');
    if (scope.some((s) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))) return bad('scope holds characters a scope cannot have.');
  }
  return {
    ok: true,
    value: {
      subjectToken,
      scope,
      audience: form.get('audience') ?? form.get('resource'),
      actorToken: actorToken === '' ? undefined : actorToken,
      clientId: form.get('client_id'),
      clientSecret: form.get('client_secret'),
    },
  };
}
