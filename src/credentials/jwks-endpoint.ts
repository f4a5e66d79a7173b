// The ring's published keys as a JWKS: GET /.cortex/jwks.json on the gateway listener (public, a
// route with no upstream like /.cortex/login) and GET /jwks.json on the admin listener. Verifiers
// may cache it for max-age, which stays well inside publishAheadMs so that they see the next key
// before it signs; an unknown kid makes them refetch anyway.
import type { JSONWebKeySet } from 'jose';
import type { FilterResult, RequestContext } from '../gateway/types.ts';
import type { InternalEndpoint } from '../identity/authenticator.ts';
import type { KeyRing } from './types.ts';

export const JWKS_PATH = '/.cortex/jwks.json';
export const JWKS_CONTENT_TYPE = 'application/jwk-set+json';

export interface JwksDocument {
  readonly body: string;
  readonly cacheControl: string;
}

/** The JWKS body, serialized once per change of the ring's view. */
export function createJwksDocument(ring: () => KeyRing | undefined, maxAgeSeconds: () => number): () => JwksDocument | undefined {
  let last: { jwks: JSONWebKeySet; body: string } | undefined;
  return () => {
    const r = ring();
    if (r === undefined) return undefined;
    const jwks = r.jwks();
    if (last?.jwks !== jwks) last = { jwks, body: JSON.stringify(jwks) };
    return { body: last.body, cacheControl: `public, max-age=${maxAgeSeconds()}` };
  };
}

const unavailable: FilterResult = Object.freeze<FilterResult>({
  action: 'reply',
  reply: { code: 'credentials.signing_unavailable', detail: 'The signing keys are not loaded yet.', headers: { 'retry-after': '5', 'cache-control': 'no-store' } },
});

export function jwksEndpoint(document: () => JwksDocument | undefined): InternalEndpoint {
  return {
    id: 'cortex.jwks',
    path: JWKS_PATH,
    methods: ['GET'],
    filter: {
      name: 'jwks',
      onRequest(ctx: RequestContext): FilterResult {
        const doc = document();
        if (doc === undefined) return unavailable;
        ctx.res.writeHead(200, {
          'content-type': JWKS_CONTENT_TYPE,
          'content-length': Buffer.byteLength(doc.body),
          'cache-control': doc.cacheControl,
          'access-control-allow-origin': '*',
          [ctx.requestIdHeader]: ctx.id,
        });
        ctx.res.end(doc.body);
        return { action: 'handled' };
      },
    },
  };
}
