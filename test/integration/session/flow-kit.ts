// Browser logins driven without a browser: a real dev IdP (login page included), a gateway with
// identity.sessions on a port reserved beforehand (the IdP must know its callback URL before it
// starts), a recording upstream, and a small user agent with a cookie jar that follows redirects.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIdpHost } from '../../../src/dev/idp/index.ts';
import type { IdpHost } from '../../../src/dev/idp/index.ts';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import { eventually } from '../../helpers/gateway-checks.ts';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';

export const SECRET_A = 'session-secret-a-0123456789abcdefghijklmnop';
export const SECRET_B = 'session-secret-b-0123456789abcdefghijklmnop';

/** A free port on 127.0.0.1: bound to port 0, then released for the gateway to take. */
export async function reservePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface SessionOptions {
  /** More keys under identity.sessions (YAML lines). */
  sessions?: string[];
  secrets?: string[];
}

export type SessionGateway = TestGateway;

export interface SessionSetup {
  idp: IdpHost;
  upstream: TestUpstream;
  gw: SessionGateway;
  /** POSTs to the IdP's token endpoint so far (the code exchange and every refresh). */
  tokenRequests(): number;
  /** Stops this gateway and starts another on the same port with other options (a restart). */
  restart(o: SessionOptions): Promise<SessionGateway>;
  close(): Promise<void>;
}

export async function startSessionSetup(o: SessionOptions = {}): Promise<SessionSetup> {
  const port = await reservePort();
  const origin = `http://127.0.0.1:${port}`;
  const idp = await startIdpHost({ host: '127.0.0.1', port: 0, webRedirectUris: [`${origin}/.cortex/callback`], postLogoutRedirectUris: [`${origin}/`] });
  let tokenPosts = 0;
  idp.intercept((req, _res, path) => {
    if (path === '/token' && req.method === 'POST') tokenPosts++;
    return false;
  });
  const upstream = await startUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'cortex-session-'));
  const web = idp.clients['cortex-web'];
  assert.ok(web, 'the dev IdP has the web client');
  const start = (opts: SessionOptions) =>
    startSessionGateway(port, [
      'identity:',
      '  providers:',
      '    dev:',
      `      issuer: ${idp.issuer}`,
      '      audiences: [cortex-gateway]',
      '      keys: { refreshIntervalMs: 60000, unknownKeyRefetchMinIntervalMs: 200, timeoutMs: 2000 }',
      '  sessions:',
      '    provider: dev',
      '    clientId: cortex-web',
      `    clientSecret: ${web.clientSecret}`,
      `    redirectUri: ${origin}/.cortex/callback`,
      `    postLogoutRedirectUri: ${origin}/`,
      `    secrets: [${(opts.secrets ?? [SECRET_A]).join(', ')}]`,
      '    cookie: { secure: false }',
      ...(opts.sessions ?? []).map((l) => `    ${l}`),
      `upstreams:\n  up: { url: "${upstream.url}" }`,
      'routes:',
      '  app: { match: { prefix: /app/ }, upstream: up, auth: session }',
    ], dir);
  let gw = await start(o);
  return {
    idp,
    upstream,
    get gw() {
      return gw;
    },
    tokenRequests: () => tokenPosts,
    async restart(next) {
      await gw.close();
      gw = await start(next);
      return gw;
    },
    async close() {
      await gw.close();
      await upstream.close();
      await idp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A gateway on `port` (the login redirect URI names it), ready once keys and session discovery are in. */
export async function startSessionGateway(port: number, body: string[], dir?: string): Promise<SessionGateway> {
  const gw = await startTestGateway(body.map((l) => (dir === undefined ? l : l.replaceAll('${DIR}', dir))).join('\n'), { port, dir });
  await eventually(() => {
    const c = gw.runtime.gateway.readiness().components;
    return c.identity && c.sessions ? true : undefined;
  }, 'identity provider keys and session discovery', 10_000);
  return gw;
}

export interface Hop {
  status: number;
  url: string;
  location: string | undefined;
  headers: Headers;
  body: string;
}

/** A user agent: one cookie jar per host:port (paths ignored), redirects followed by hand. */
export class Agent {
  readonly jar = new Map<string, Map<string, string>>();

  cookies(url: string): Map<string, string> {
    const host = new URL(url).host;
    let m = this.jar.get(host);
    if (m === undefined) {
      m = new Map<string, string>();
      this.jar.set(host, m);
    }
    return m;
  }

  cookie(url: string, name: string): string | undefined {
    return this.cookies(url).get(name);
  }

  /** Forgets every cookie of one origin (e.g. the IdP's, to sign in there as someone else). */
  forget(url: string): void {
    this.jar.delete(new URL(url).host);
  }

  /** One request; a GET looks like a top-level navigation (Sec-Fetch-Mode: navigate). */
  async request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Hop> {
    const jar = this.cookies(url);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const method: Dispatcher.HttpMethod = init.method === 'POST' ? 'POST' : 'GET';
    const res = await request(url, {
      method,
      headers: {
        ...(method === 'GET' ? { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } : {}),
        ...(cookie === '' ? {} : { cookie }),
        ...init.headers,
      },
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      for (const v of Array.isArray(value) ? value : [value ?? '']) headers.append(name, v);
    }
    for (const line of headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=.*1970/i.test(a));
      if (gone || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    const location = headers.get('location') ?? undefined;
    return { status: res.statusCode, url, location: location === undefined ? undefined : new URL(location, url).href, headers, body: await res.body.text() };
  }

  /** Follows redirects from `url` until a non-redirect or until `stop(url)` says a URL is not to be fetched. */
  async follow(url: string, stop: (next: string) => boolean = () => false): Promise<Hop> {
    let hop = await this.request(url);
    for (let i = 0; i < 20 && hop.location !== undefined && hop.status >= 300 && hop.status < 400; i++) {
      if (stop(hop.location)) return hop;
      hop = await this.request(hop.location);
    }
    return hop;
  }
}

/** The IdP's login page: presses the button for `person`, returns the hop that leaves the IdP. */
export async function signInAtIdp(agent: Agent, page: Hop, person: string, gatewayUrl: string): Promise<Hop> {
  assert.equal(page.status, 200, `the IdP login page: ${page.status} ${page.body.slice(0, 200)}`);
  const action = /<form method="post" action="([^"]+\/login)"/.exec(page.body)?.[1];
  assert.ok(action, 'the login page has a sign-in form');
  const target = new URL(action.replaceAll('&amp;', '&'), page.url).href;
  let hop = await agent.request(target, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `account=${person}` });
  for (let i = 0; i < 20 && hop.location !== undefined && !hop.location.startsWith(gatewayUrl); i++) hop = await agent.request(hop.location);
  return hop;
}

/**
 * Starts a login at the gateway and signs in as `person`; returns the callback URL the IdP sent
 * the browser to, without calling it.
 */
export async function authorize(agent: Agent, gatewayUrl: string, person: string, returnTo = '/app/home'): Promise<string> {
  const back = (url: string) => url.startsWith(`${gatewayUrl}/`);
  const page = await agent.follow(`${gatewayUrl}/.cortex/login?return=${encodeURIComponent(returnTo)}`, back);
  // A browser already signed in at the IdP is sent straight back, without the login page.
  const out = page.location !== undefined && back(page.location) ? page : await signInAtIdp(agent, page, person, gatewayUrl);
  const location = out.location ?? '';
  assert.ok(location.startsWith(`${gatewayUrl}/.cortex/callback?`), `the IdP sends the browser back: ${out.status} ${location || out.body.slice(0, 300)}`);
  return location;
}

/** A whole login: returns the callback's answer (a redirect to the return path, with the session cookie). */
export async function login(agent: Agent, gatewayUrl: string, person = 'bob', returnTo = '/app/home'): Promise<Hop> {
  const callback = await authorize(agent, gatewayUrl, person, returnTo);
  return agent.request(callback);
}

export const SESSION_COOKIE = 'cortex_session';
