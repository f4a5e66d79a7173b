// A real oidc-provider (the dev IdP's Provider) on port 0 for the upstream-secrets tests, with a
// short access-token lifetime, a count of token endpoint requests, and going down and coming back.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { devClients } from '../../../src/dev/idp/catalog.ts';
import { newSigningKey } from '../../../src/dev/idp/keys.ts';
import { createDevProvider } from '../../../src/dev/idp/provider.ts';

export interface UpstreamIdp {
  issuer: string;
  tokenUrl: string;
  /** A client allowed the client_credentials grant. */
  clientId: string;
  clientSecret: string;
  /** Token endpoint requests that reached the IdP. */
  tokenRequests(): number;
  /** While on, the token endpoint answers 503 (counted in failedTokenRequests, not tokenRequests). */
  failTokenRequests(on: boolean): void;
  failedTokenRequests(): number;
  /** Verifies an access token against the IdP's published JWKS. */
  verify(token: string): Promise<JWTPayload>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startUpstreamIdp(o: { accessTokenTtlSeconds: number }): Promise<UpstreamIdp> {
  const clients = devClients((id) => `upstream-idp-secret-${id}-0123456789`);
  let tokenRequests = 0;
  let failing = false;
  let failed = 0;
  let handler: ((req: IncomingMessage, res: ServerResponse) => unknown) | undefined;
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url?.split('?')[0] === '/token') {
      if (failing) {
        failed++;
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
        return;
      }
      tokenRequests++;
    }
    void handler?.(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const provider = createDevProvider({
    issuer,
    keys: [await newSigningKey('RS256')],
    clients,
    tokenShape: 'generic',
    algorithm: 'RS256',
    accessTokenTtlSeconds: o.accessTokenTtlSeconds,
  });
  handler = provider.callback();
  const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const shut = async (): Promise<void> => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
  const reporting = clients.reporting;
  if (reporting === undefined) throw new Error('the dev clients have no reporting client');
  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    clientId: reporting.clientId,
    clientSecret: reporting.clientSecret,
    tokenRequests: () => tokenRequests,
    failTokenRequests(on) {
      failing = on;
    },
    failedTokenRequests: () => failed,
    verify: async (token) => (await jwtVerify(token, jwks, { issuer })).payload,
    stop: shut,
    async start() {
      if (server.listening) return;
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    close: shut,
  };
}
