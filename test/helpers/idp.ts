// A real oidc-provider (the dev IdP's Provider factory) on port 0 for integration tests, with
// knobs: key rotation, a JWKS override, a JWKS request count, and going down and coming back.
import type { JWK } from 'jose';
import { audienceResource } from '../../src/dev/idp/catalog.ts';
import { DEV_GRANT, startIdpHost, type TokenShape } from '../../src/dev/idp/index.ts';
import { newSigningKey } from '../../src/dev/idp/keys.ts';

export interface TestIdp {
  issuer: string;
  url: string;
  tokenFor(o: { sub: string; actor?: string; audience?: string; claims?: Record<string, unknown>; ttlSeconds?: number; opaque?: boolean }): Promise<string>;
  serviceToken(o?: { clientId?: string; audience?: string }): Promise<string>;
  /** A real ID token for the web client (cortex-web), for refusal tests. */
  idToken(sub: string): Promise<string>;
  /** A new signing key goes first; returns its kid. The old keys stay published when keepOld. */
  rotateKeys(o?: { keepOld?: boolean }): Promise<string>;
  /** The current signing key, private part included, for crafting attack tokens. */
  privateJwk(): JWK;
  /** Override the JWKS response body (an empty set, malformed JSON); undefined restores. */
  serveJwks(body: string | undefined): void;
  jwksRequests(): number;
  stop(): Promise<void>;
  start(): Promise<void>;
  introspection: { clientId: string; clientSecret: string };
  close(): Promise<void>;
}

export async function startTestIdp(o: { tokenShape?: TokenShape; algorithm?: 'RS256' | 'ES256'; issuerPath?: string } = {}): Promise<TestIdp> {
  const algorithm = o.algorithm ?? 'RS256';
  const host = await startIdpHost({ host: '127.0.0.1', port: 0, algorithm, tokenShape: o.tokenShape ?? 'generic', issuerPath: o.issuerPath });
  let jwksBody: string | undefined;
  let jwksCount = 0;
  host.intercept((_req, res, path) => {
    if (path !== '/jwks') return false;
    jwksCount++;
    if (jwksBody === undefined) return false;
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(jwksBody);
    return true;
  });

  const secret = (clientId: string): string => {
    const c = host.clients[clientId];
    if (c === undefined) throw new Error(`test idp: unknown client ${clientId}`);
    return c.clientSecret;
  };
  const token = async (clientId: string, params: Record<string, string>, field = 'access_token'): Promise<string> => {
    const res = await fetch(`${host.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: 'Basic ' + Buffer.from(`${clientId}:${secret(clientId)}`).toString('base64'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(params),
    });
    const body = (await res.json()) as Record<string, unknown>;
    const value = body[field];
    if (!res.ok || typeof value !== 'string') throw new Error(`test idp: token request failed (${res.status}): ${JSON.stringify(body)}`);
    return value;
  };

  return {
    issuer: host.issuer,
    url: host.url,
    tokenFor: (t) =>
      token('cortex-cli', {
        grant_type: DEV_GRANT,
        subject: t.sub,
        ...(t.actor === undefined ? {} : { actor: t.actor }),
        ...(t.audience === undefined ? {} : { audience: t.audience }),
        ...(t.claims === undefined ? {} : { claims: JSON.stringify(t.claims) }),
        ...(t.ttlSeconds === undefined ? {} : { ttl: String(t.ttlSeconds) }),
        ...(t.opaque ? { opaque: 'true' } : {}),
      }),
    serviceToken: (s = {}) =>
      token(s.clientId ?? 'reporting', { grant_type: 'client_credentials', resource: audienceResource(s.audience) }),
    idToken: (sub) => token('cortex-cli', { grant_type: DEV_GRANT, subject: sub, token_kind: 'id_token' }, 'id_token'),
    async rotateKeys(r = {}) {
      const key = await newSigningKey(algorithm);
      host.setKeys([key, ...(r.keepOld ? host.keys() : [])]);
      return key.kid as string;
    },
    privateJwk: () => {
      const [key] = host.keys();
      if (key === undefined) throw new Error('test idp: no signing key');
      return { ...key };
    },
    serveJwks(body) {
      jwksBody = body;
    },
    jwksRequests: () => jwksCount,
    stop: () => host.stop(),
    start: () => host.start(),
    introspection: { clientId: 'cortex-gateway', clientSecret: secret('cortex-gateway') },
    close: () => host.close(),
  };
}
