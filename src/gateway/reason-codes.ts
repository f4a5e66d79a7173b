// Every stable reason code Cortex can put in a problem+json reply or an audit event.
// docs/errors.md documents each one; test/unit/docs/errors-doc.test.ts fails when the two disagree.
export const REASONS = {
  ok: { status: 200, title: 'OK' },
  'request.bad_path': { status: 400, title: 'Malformed request path' },
  'request.ambiguous_path': { status: 400, title: 'Ambiguous request path' },
  'request.duplicate_header': { status: 400, title: 'Duplicate header' },
  'request.bad_framing': { status: 400, title: 'Conflicting request framing' },
  'request.malformed': { status: 400, title: 'Malformed HTTP request' },
  'request.header_too_large': { status: 431, title: 'Request header fields too large' },
  'request.uri_too_long': { status: 414, title: 'Request target too long' },
  'request.timeout': { status: 408, title: 'Request timeout' },
  'request.body_too_large': { status: 413, title: 'Request body too large' },
  'request.bad_host': { status: 400, title: 'Missing or malformed Host' },
  'request.upgrade_not_allowed': { status: 400, title: 'Protocol upgrade not allowed on this route' },
  'route.not_found': { status: 404, title: 'No route' },
  'route.method_not_allowed': { status: 405, title: 'Method not allowed on this route' },
  'cors.rejected': { status: 403, title: 'Cross-origin request not allowed' },
  'upstream.connect_failed': { status: 502, title: 'Upstream unreachable' },
  'upstream.reset': { status: 502, title: 'Upstream failed mid-response' },
  'upstream.bad_response': { status: 502, title: 'Upstream sent an invalid response' },
  'upstream.timeout': { status: 504, title: 'Upstream timed out' },
  'upstream.unavailable': { status: 503, title: 'Upstream unavailable' },
  'client.closed': { status: 499, title: 'Client closed the request' },
  'connection.limit': { status: 503, title: 'Connection limit reached' },
  'connection.lifetime_exceeded': { status: 200, title: 'Connection lifetime reached' },
  'authn.missing': { status: 401, title: 'Authentication required' },
  'authn.malformed': { status: 401, title: 'Malformed credential' },
  'authn.token_too_large': { status: 401, title: 'Token too large' },
  'authn.unsupported_algorithm': { status: 401, title: 'Token signature algorithm not accepted' },
  'authn.bad_token_header': { status: 401, title: 'Token header not accepted' },
  'authn.unknown_issuer': { status: 401, title: 'Token issuer not accepted' },
  'authn.unknown_key': { status: 401, title: 'Token signed with an unknown key' },
  'authn.bad_signature': { status: 401, title: 'Token signature invalid' },
  'authn.token_expired': { status: 401, title: 'Token expired' },
  'authn.token_not_yet_valid': { status: 401, title: 'Token not yet valid' },
  'authn.token_lifetime': { status: 401, title: 'Token lifetime not accepted' },
  'authn.bad_audience': { status: 401, title: 'Token audience not accepted' },
  'authn.bad_claims': { status: 401, title: 'Token claims invalid' },
  'authn.id_token_rejected': { status: 401, title: 'ID token used as an access token' },
  'authn.wrong_token_type': { status: 401, title: 'Token type not accepted' },
  'authn.token_inactive': { status: 401, title: 'Token not active' },
  'authn.provider_unavailable': { status: 503, title: 'Identity provider unavailable' },
  'admin.unauthorized': { status: 401, title: 'Admin credential required' },
  'admin.not_found': { status: 404, title: 'No such admin endpoint' },
  'admin.method_not_allowed': { status: 405, title: 'Method not allowed on this admin endpoint' },
  'filter.error': { status: 500, title: 'Internal error in a filter' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ReasonCode = keyof typeof REASONS;

export function isReasonCode(s: string): s is ReasonCode {
  return Object.hasOwn(REASONS, s);
}
