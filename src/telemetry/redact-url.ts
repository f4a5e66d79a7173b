// Credentials in URLs and in free text: query and fragment values whose names say they are (or can
// be exchanged for) a credential, and bearer tokens quoted in error messages.
export const REDACTED = '[redacted]';

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

// A name=value pair inside a URL quoted in free text (an error message, a stack).
const PARAM_IN_TEXT = /([?&#;])([^=&#\s"'?]+)=([^&#\s"']*)/g;
const BEARER_IN_TEXT = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/** `text` with credential-like URL parameters and Authorization values replaced by "[redacted]". */
export function scrubText(text: string): string {
  if (!text.includes('=') && !/bearer|basic/i.test(text)) return text;
  return text
    .replace(PARAM_IN_TEXT, (all: string, sep: string, name: string, value: string) => (value !== '' && isSecretParam(name) ? `${sep}${name}=${REDACTED}` : all))
    .replace(BEARER_IN_TEXT, (_all: string, scheme: string) => `${scheme} ${REDACTED}`);
}
