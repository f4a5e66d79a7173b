// Structured logs: pino JSON to stderr, so stdout stays free for JSON-lines audit events. Credentials
// are redacted by path as a safety net; code should still never hand a token to the logger.
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  name?: string;
  /** A file descriptor or a file path; stderr (fd 2) by default. */
  destination?: number | string;
}

export const REDACTED = '[redacted]';

const SECRET_HEADERS = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'x-api-key'];
const SECRET_FIELDS = ['token', 'password', 'secret', 'accessToken', 'refreshToken'];

function prop(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `["${name}"]`;
}

// pino's `*` matches exactly one level, so list the shapes logs actually take: the value itself,
// one object down (`{ req: { authorization } }`), and a headers map one object down (`req.headers`).
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_HEADERS.flatMap((h) => [prop(h).replace(/^\./, ''), `*${prop(h)}`, `*.headers${prop(h)}`]),
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]),
];

export function createLogger(opts: LoggerOptions): Logger {
  const dest = opts.destination ?? 2;
  // Synchronous like pino's own default: the last lines before a crash must not sit in a buffer.
  const stream = pino.destination({ dest, sync: true, mkdir: typeof dest === 'string' });
  const options: pino.LoggerOptions = {
    level: opts.level,
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
  };
  if (opts.name !== undefined) options.name = opts.name;
  return pino(options, stream);
}

// Query and fragment parameters whose values are credentials or can be exchanged for one.
const SECRET_PARAMS = new Set([
  'token',
  'access_token',
  'id_token',
  'refresh_token',
  'code',
  'code_verifier',
  'state',
  'api_key',
  'apikey',
  'key',
  'password',
  'secret',
  'client_secret',
  'client_assertion',
  'assertion',
  'session',
  'session_id',
  'sessionid',
  'sig',
  'signature',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
]);
const SECRET_SUFFIX = /[_-](token|secret|password|key)$/;

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

export function isSecretParam(name: string): boolean {
  const n = decodeName(name);
  return SECRET_PARAMS.has(n) || SECRET_SUFFIX.test(n);
}

function redactParams(params: string): string {
  return params
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq === -1 || eq === pair.length - 1) return pair;
      return isSecretParam(pair.slice(0, eq)) ? `${pair.slice(0, eq + 1)}${REDACTED}` : pair;
    })
    .join('&');
}

/**
 * The URL (absolute or path-only) with the values of credential-like query and fragment parameters
 * replaced by "[redacted]". Everything else is kept byte for byte, so the result still reads as the
 * URL that was requested.
 */
export function redactUrl(url: string): string {
  const hash = url.indexOf('#');
  const beforeHash = hash === -1 ? url : url.slice(0, hash);
  // Implicit-flow and similar redirects carry tokens in the fragment, shaped like a query.
  const fragment = hash === -1 ? undefined : url.slice(hash + 1);
  const q = beforeHash.indexOf('?');
  let out = q === -1 ? beforeHash : `${beforeHash.slice(0, q + 1)}${redactParams(beforeHash.slice(q + 1))}`;
  if (fragment !== undefined) out += `#${fragment.includes('=') ? redactParams(fragment) : fragment}`;
  return out;
}
