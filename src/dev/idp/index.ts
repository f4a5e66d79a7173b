// The dev OpenID provider: a real oidc-provider behind node:http. `startIdpHost` also lets tests
// swap the key set (a new Provider behind the same server and port) and go down and come back.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import { devClients, type DevClients, type TokenShape } from './catalog.ts';
import { loadSigningKeys, secretSource, writeIdpState, type SigningAlgorithm } from './keys.ts';
import { handleInteraction } from './interactions.ts';
import { createDevProvider } from './provider.ts';

export { DEV_GRANT, GATEWAY_AUDIENCE, PEOPLE, TOKEN_SHAPES, type DevClient, type DevClients, type TokenShape } from './catalog.ts';

export interface DevIdpOptions {
  host: string;
  port: number;
  issuerPath?: string;
  /** Persist keys and client secrets here (0600 files); in memory when unset. */
  stateDir?: string;
  tokenShape?: TokenShape;
  algorithm?: SigningAlgorithm;
  log?: Logger;
  /** Extra redirect URIs for the web client (cortex-web), e.g. a gateway on another port. */
  webRedirectUris?: string[];
  /** Extra post-logout redirect URIs for the web client. */
  postLogoutRedirectUris?: string[];
  /** Extra redirect URIs for the admin login client (cortex-admin), e.g. an admin listener on another port. */
  adminRedirectUris?: string[];
}

export interface DevIdp {
  issuer: string;
  url: string;
  clients: DevClients;
  close(): Promise<void>;
}

/** Test knobs on top of DevIdp; `intercept` answers a request itself when it returns true. */
export interface IdpHost extends DevIdp {
  keys(): JWK[];
  setKeys(keys: JWK[]): void;
  intercept(fn: ((req: IncomingMessage, res: ServerResponse, path: string) => boolean) | undefined): void;
  stop(): Promise<void>;
  start(): Promise<void>;
}

function normalizePath(p: string | undefined): string {
  if (p === undefined || p === '' || p === '/') return '';
  return '/' + p.replace(/^\/+|\/+$/g, '');
}

async function listen(server: Server, host: string, port: number): Promise<number> {
  server.listen(port, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function shut(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

export async function startIdpHost(opts: DevIdpOptions): Promise<IdpHost> {
  const algorithm = opts.algorithm ?? 'RS256';
  const tokenShape = opts.tokenShape ?? 'generic';
  const base = normalizePath(opts.issuerPath);
  const clients = devClients(secretSource(opts.stateDir));
  let keys = await loadSigningKeys(algorithm, opts.stateDir);
  let hook: ((req: IncomingMessage, res: ServerResponse, path: string) => boolean) | undefined;
  let provider: Provider | undefined;
  let handler: ((req: IncomingMessage, res: ServerResponse) => unknown) | undefined;

  const server = createServer((req, res) => {
    const original = req.url ?? '/';
    const path = original.split('?')[0] ?? '/';
    const local = path.startsWith(base) ? path.slice(base.length) || '/' : path;
    if (hook?.(req, res, local)) return;
    if (provider !== undefined && path.startsWith(base + '/interaction/') && handleInteraction(provider, base, req, res, local)) return;
    if (handler === undefined || (base !== '' && path !== base && !path.startsWith(base + '/'))) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    if (base !== '') {
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = original;
      req.url = original.slice(base.length) || '/';
    }
    void handler(req, res);
  });
  const port = await listen(server, opts.host, opts.port);
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  const issuer = url + base;

  const build = (): void => {
    const web = { redirectUris: opts.webRedirectUris, postLogoutRedirectUris: opts.postLogoutRedirectUris, adminRedirectUris: opts.adminRedirectUris };
    provider = createDevProvider({ issuer, keys, clients, tokenShape, algorithm, web });
    provider.on('server_error', (_ctx, err) => opts.log?.error({ err }, 'dev idp: server error'));
    provider.on('grant.error', (_ctx, err) => opts.log?.debug({ err: err.message }, 'dev idp: grant refused'));
    handler = provider.callback();
  };
  build();

  return {
    issuer,
    url,
    clients,
    keys: () => keys,
    setKeys(next) {
      keys = next;
      build();
    },
    intercept(fn) {
      hook = fn;
    },
    stop: () => shut(server),
    async start() {
      if (!server.listening) await listen(server, opts.host, port);
    },
    close: () => shut(server),
  };
}

/** The IdP `cortex dev` runs; with a stateDir it also writes idp.json there for `cortex dev token`. */
export async function startDevIdp(opts: DevIdpOptions): Promise<DevIdp> {
  const host = await startIdpHost(opts);
  const stateDir = opts.stateDir;
  if (stateDir !== undefined) {
    writeIdpState(stateDir, { issuer: host.issuer, url: host.url, tokenEndpoint: `${host.issuer}/token`, pid: process.pid });
  }
  opts.log?.info({ issuer: host.issuer }, 'dev identity provider listening');
  return {
    issuer: host.issuer,
    url: host.url,
    clients: host.clients,
    async close() {
      if (stateDir !== undefined) rmSync(join(stateDir, 'idp.json'), { force: true });
      await host.close();
    },
  };
}
