// Redaction for anything the admin API shows from config: secrets must never leave the process,
// even to an authenticated operator, because /api/ output ends up in tickets and screenshots.

export const REDACTED = '[redacted]';

/**
 * Keys whose string values are secrets. Beyond token/secret/password/...key, header names that
 * carry credentials are included because routes may set static Authorization or Cookie headers.
 */
export const SECRET_KEY = /token|secret|password|passphrase|credential|authorization|cookie|key$/i;

// scheme://user:pass@host: credentials embedded in upstream, Redis or database URLs.
const URL_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]+@/i;
// password=... in a URL's query or a key=value connection string (postgres://host/db?password=...).
const PASSWORD_PARAM = /(^|[?&;\s])(password|passwd|pwd|pass)=[^&;\s]*/gi;

/**
 * Sections named like a secret that hold settings, not secrets: their fields are judged by their own
 * names (the secrets inside are named secret, clientSecret, encryptionKey...). Strings under these
 * names are still secrets (a route's `cookie` header).
 */
const SECTIONS = new Set(['credentials', 'tokenExchange', 'cookie']);

/** Objects every value of which is a secret whatever its name: telemetry.tracing.headers (a hosted collector's API key). */
function allSecret(parent: string | undefined, key: string): boolean {
  return parent === 'tracing' && key === 'headers';
}

const MAX_DEPTH = 64;

/** A deep copy of `value` with secret-named string values replaced and URL credentials removed. */
export function redactSecrets(value: unknown): unknown {
  return redact(value, false, 0, undefined);
}

function redactString(value: string): string {
  const out = URL_USERINFO.test(value) ? value.replace(URL_USERINFO, `$1${REDACTED}@`) : value;
  return out.replace(PASSWORD_PARAM, `$1$2=${REDACTED}`);
}

function secretKey(key: string, item: unknown): boolean {
  if (SECTIONS.has(key) && item !== null && typeof item === 'object' && !Array.isArray(item)) return false;
  return SECRET_KEY.test(key);
}

function redact(value: unknown, secret: boolean, depth: number, parent: string | undefined): unknown {
  if (typeof value === 'string') return secret ? REDACTED : redactString(value);
  if (value === null || typeof value !== 'object') return value;
  // Config is plain data; a deeper structure is a cycle or a mistake, and must not hang the API.
  if (depth >= MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((item: unknown) => redact(item, secret, depth + 1, parent));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = redact(item, secret || secretKey(key, item) || allSecret(parent, key), depth + 1, key);
  }
  return out;
}
