// A stand-in for the gateway's side of the assertion: signing keys made with jose, a real JWKS
// server on port 0 that can rotate them, and a minter for assertions good and bad.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export type TestAlg = 'ES256' | 'EdDSA' | 'RS256';

export interface TestKey {
  readonly kid: string;
  readonly alg: TestAlg;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function makeKey(alg: TestAlg, kid = `k-${randomUUID()}`): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export interface JwksServer {
  /** The issuer: the server's base URL (the JWKS is at /.cortex/jwks.json). */
  readonly issuer: string;
  readonly jwksUri: string;
  /** Replaces the published keys (rotation: publish the next key, later drop the retired one). */
  publish(keys: readonly TestKey[]): void;
  /** How many times the JWKS was fetched. */
  fetches(): number;
  close(): Promise<void>;
}

export async function startJwksServer(keys: readonly TestKey[]): Promise<JwksServer> {
  let published = keys;
  let fetches = 0;
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/.cortex/jwks.json') {
      fetches += 1;
      const body = JSON.stringify({ keys: published.map((k) => k.publicJwk) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    jwksUri: `${issuer}/.cortex/jwks.json`,
    publish: (next) => {
      published = next;
    },
    fetches: () => fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface MintOptions {
  readonly issuer: string;
  readonly audience?: string;
  readonly claims?: Record<string, unknown>;
  /** Extra protected-header members (jwk, jku, crit, ...), or a replaced kid. */
  readonly header?: Record<string, unknown>;
  /** Seconds from now; default 0 and 60 (Cortex's lifetime). */
  readonly iatOffset?: number;
  readonly lifetime?: number;
}

export function mint(key: TestKey, opts: MintOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const iat = now + (opts.iatOffset ?? 0);
  const claims = {
    iss: opts.issuer,
    aud: opts.audience ?? 'orders',
    sub: 'alice',
    kind: 'user',
    provider: 'dev',
    roles: ['customer'],
    iat,
    exp: iat + (opts.lifetime ?? 60),
    jti: randomUUID(),
    ...opts.claims,
  };
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'cortex-assertion+jwt', ...opts.header }).sign(key.privateKey);
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`) with the given claims. */
export function unsigned(claims: Record<string, unknown>, kid = 'any'): string {
  return `${b64({ alg: 'none', kid, typ: 'JWT' })}.${b64(claims)}.`;
}
