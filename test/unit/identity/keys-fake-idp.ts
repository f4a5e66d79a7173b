// A real HTTP identity provider on 127.0.0.1 for the key source tests, and the keys it serves.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { pino } from 'pino';
import { createProviderKeys } from '../../../src/identity/keys/provider-keys.ts';
import type { ProviderKeys, ProviderKeysOptions } from '../../../src/identity/keys/provider-keys.ts';

export interface Reply {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  /** Never answer (the request hangs until the connection is closed). */
  hang?: boolean;
}

export const DISCOVERY_PATH = '/.well-known/openid-configuration';
export const JWKS_PATH = '/jwks';

export interface TestKey {
  kid: string;
  jwk: JWK;
  privateJwk: JWK;
  privateKey: CryptoKey;
}

export async function rsaKey(kid: string): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  return {
    kid,
    jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' },
    privateKey,
  };
}

export function signToken(key: TestKey, issuer: string): Promise<string> {
  return new SignJWT({ sub: 'user-1' }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).setIssuer(issuer).setIssuedAt().setExpirationTime('5m').sign(key.privateKey);
}

export function json(value: unknown): Reply {
  return { body: JSON.stringify(value), headers: { 'content-type': 'application/json' } };
}

export class FakeIdp {
  readonly routes = new Map<string, Reply>();
  readonly hits = new Map<string, number>();
  server: Server | undefined;
  port = 0;

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The issuer this IdP's discovery document names (the origin unless changed). */
  issuer = '';

  hitsOf(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  resetHits(): void {
    this.hits.clear();
  }

  setKeys(keys: readonly (TestKey | JWK)[]): void {
    this.routes.set(JWKS_PATH, json({ keys: keys.map((k) => ('privateKey' in k ? k.jwk : k)) }));
  }

  setDiscovery(extra: Record<string, unknown> = {}, path = DISCOVERY_PATH): void {
    this.routes.set(path, json({ issuer: this.issuer, jwks_uri: `${this.origin}${JWKS_PATH}`, ...extra }));
  }

  async listen(port = 0): Promise<this> {
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    if (this.issuer === '') this.issuer = this.origin;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    this.hits.set(path, this.hitsOf(path) + 1);
    const reply = this.routes.get(path) ?? { status: 404, body: 'not found' };
    if (reply.hang === true) return;
    res.writeHead(reply.status ?? 200, reply.headers ?? {});
    res.end(reply.body ?? '');
  }
}

/** An IdP already serving discovery and a key set of the given keys. */
export async function startIdp(keys: readonly TestKey[]): Promise<FakeIdp> {
  const idp = await new FakeIdp().listen();
  idp.setDiscovery();
  idp.setKeys(keys);
  return idp;
}

export const silent = pino({ level: 'silent' });

export function keySource(idp: FakeIdp, overrides: Partial<ProviderKeysOptions> = {}): ProviderKeys {
  return createProviderKeys({
    issuer: idp.issuer,
    discoveryUrl: `${idp.origin}${DISCOVERY_PATH}`,
    refreshIntervalMs: 60_000,
    unknownKeyRefetchMinIntervalMs: 0,
    timeoutMs: 2_000,
    log: silent,
    ...overrides,
  });
}

/** Poll until `condition` holds; a generous cap turns a hang into a readable failure, not a timing assertion. */
export async function waitFor(condition: () => boolean, what: string, capMs = 10_000): Promise<void> {
  const deadline = Date.now() + capMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A source started against `idp` that has accepted its first key set. */
export async function readySource(idp: FakeIdp, overrides: Partial<ProviderKeysOptions> = {}): Promise<ProviderKeys> {
  const source = keySource(idp, overrides);
  source.start();
  await waitFor(() => source.ready(), 'the first key set');
  return source;
}
