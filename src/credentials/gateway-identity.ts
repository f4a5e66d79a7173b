// The gateway's own identity, for the calls Cortex makes itself rather than for a caller: an
// attribute lookup (who owns order 42?) carries an assertion for this service, so an upstream that
// trusts only assertions can answer it. Its one role says what it is for; an upstream that wants to
// answer lookups grants that role read access to the attributes, nothing more.
import type { Identity } from '../gateway/types.ts';

export const GATEWAY_LOOKUP_ROLE = 'cortex:attribute-lookup';

export const GATEWAY_LOOKUP_IDENTITY: Identity = Object.freeze({
  subject: 'cortex-gateway',
  issuer: 'cortex',
  provider: 'cortex',
  kind: 'service' as const,
  method: 'none' as const,
  roles: Object.freeze([GATEWAY_LOOKUP_ROLE]),
  claims: Object.freeze({}),
  fingerprint: 'cortex-gateway:attribute-lookup',
});
