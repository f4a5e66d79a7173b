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

const MAX_DEPTH = 64;

/** A deep copy of `value` with secret-named string values replaced and URL credentials removed. */
export function redactSecrets(value: unknown): unknown {
  return redact(value, false, 0);
}

function redact(value: unknown, secret: boolean, depth: number): unknown {
  if (typeof value === 'string') {
    if (secret) return REDACTED;
    return URL_USERINFO.test(value) ? value.replace(URL_USERINFO, `$1${REDACTED}@`) : value;
  }
  if (value === null || typeof value !== 'object') return value;
  // Config is plain data; a deeper structure is a cycle or a mistake, and must not hang the API.
  if (depth >= MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((item: unknown) => redact(item, secret, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = redact(item, secret || SECRET_KEY.test(key), depth + 1);
  }
  return out;
}
