// Structured logs: pino JSON to stderr, so stdout stays free for JSON-lines audit events. Credentials
// are redacted as a safety net (code should still never hand a token to the logger): by path for
// the fields and headers that carry them, by serializer for URLs (their query), headers maps and
// errors, and in the message text itself.
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { REDACTED, redactUrl, scrubText } from './redact-url.ts';

export type { Logger };
export { REDACTED, isSecretParam, redactUrl, scrubText } from './redact-url.ts';

export interface LoggerOptions {
  level: string;
  name?: string;
  /** A file descriptor or a file path; stderr (fd 2) by default. */
  destination?: number | string;
  /** A stream to write to instead of `destination` (tests capture lines with it). */
  stream?: DestinationStream;
}

const SECRET_HEADERS = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'x-api-key', 'api-key', 'cortex-assertion'];
const SECRET_FIELDS = [
  'token', 'password', 'secret', 'accessToken', 'refreshToken', 'idToken', 'access_token', 'refresh_token', 'id_token',
  'client_secret', 'clientSecret', 'authorizationCode', 'code_verifier', 'assertion', 'client_assertion', 'apiKey', 'api_key', 'privateKey', 'subject_token', 'actor_token',
];

function prop(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `["${name}"]`;
}

// pino's `*` matches exactly one level, so list the shapes logs actually take: the value itself,
// one object down (`{ req: { authorization } }`), and a headers map one object down (`req.headers`).
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_HEADERS.flatMap((h) => [prop(h).replace(/^\./, ''), `*${prop(h)}`, `*.headers${prop(h)}`]),
  ...SECRET_FIELDS.flatMap((f) => [prop(f).replace(/^\./, ''), `*${prop(f)}`]),
  // `code` alone is a reason or error code in most records; an authorization code is one in a form or query.
  ...['query', 'body', 'form', 'params'].flatMap((o) => [`${o}.code`, `*.${o}.code`]),
];

/** Header names that carry credentials besides the fixed ones: a configured API key header, a cortex- assertion header, vendor tokens. */
const SECRET_HEADER_NAME = /(^|-)(key|apikey|token|secret|assertion|signature|session|credential|password)s?($|-)/i;

export function isSecretHeader(name: string): boolean {
  const n = name.toLowerCase();
  return SECRET_HEADERS.includes(n) || SECRET_HEADER_NAME.test(n);
}

function redactHeaders(headers: unknown): unknown {
  if (headers === null || typeof headers !== 'object') return headers;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) out[k] = isSecretHeader(k) ? REDACTED : v;
  return out;
}

function redactUrlValue(value: unknown): unknown {
  return typeof value === 'string' ? redactUrl(value) : value;
}

function redactRequestLike(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const k of URL_KEYS) if (typeof out[k] === 'string') out[k] = redactUrl(out[k]);
  if ('headers' in out) out.headers = redactHeaders(out.headers);
  return out;
}

function redactError(err: unknown): unknown {
  const e = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown> | undefined;
  if (e === undefined || e === null || typeof e !== 'object') return typeof err === 'string' ? scrubText(err) : err;
  for (const k of ['message', 'stack']) if (typeof e[k] === 'string') e[k] = scrubText(e[k]);
  return e;
}

/** Top-level keys that hold a URL (or a path with a query) in Cortex's log calls. */
const URL_KEYS = ['url', 'target', 'path', 'href', 'uri', 'location', 'redirect', 'redirectUri', 'endpoint', 'tokenUrl', 'jwksUri', 'discoveryUrl', 'issuer', 'upstreamUrl', 'callback'];

const SERIALIZERS: Record<string, (value: unknown) => unknown> = {
  ...Object.fromEntries(URL_KEYS.map((k) => [k, redactUrlValue])),
  headers: redactHeaders,
  req: redactRequestLike,
  request: redactRequestLike,
  res: redactRequestLike,
  err: redactError,
  error: (v) => (typeof v === 'string' ? scrubText(v) : redactError(v)),
};

/** The production logger's options (redaction, serializers, message scrubbing), for a logger over another stream. */
export function loggerOptions(level: string, name?: string): pino.LoggerOptions {
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    serializers: SERIALIZERS,
    hooks: {
      // Runs only for records at an enabled level: the message text is scrubbed like a URL would be.
      logMethod(args, method) {
        for (let i = 0; i < args.length; i++) if (typeof args[i] === 'string') args[i] = scrubText(args[i] as string);
        method.apply(this, args);
      },
    },
  };
  if (name !== undefined) options.name = name;
  return options;
}

export function createLogger(opts: LoggerOptions): Logger {
  const dest = opts.destination ?? 2;
  // Synchronous like pino's own default: the last lines before a crash must not sit in a buffer.
  const stream = opts.stream ?? pino.destination({ dest, sync: true, mkdir: typeof dest === 'string' });
  return pino(loggerOptions(opts.level, opts.name), stream);
}
