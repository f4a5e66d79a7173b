// The stage for login-flow attacks in Chromium: the dev IdP, a gateway whose origin is
// http://localhost:<port> (so http://127.0.0.1:<other> is another site), a recording upstream
// behind `auth: [session]` routes, and an attacker's web server on a second port.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page, Response } from 'playwright-core';
import { startIdpHost } from '../../../src/dev/idp/index.ts';
import type { IdpHost } from '../../../src/dev/idp/index.ts';
import type { Reply } from '../../helpers/gateway-checks.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { reservePort, SECRET_A, SESSION_COOKIE, startSessionGateway } from '../session/flow-kit.ts';

export interface Attacker {
  port: number;
  /** Serves `html` at `path` on every host name that reaches this server. */
  serve(path: string, html: string): void;
}

export interface AttackStage {
  /** The gateway's origin, http://localhost:<port>. */
  origin: string;
  idp: IdpHost;
  upstream: TestUpstream;
  attacker: Attacker;
  close(): Promise<void>;
}

async function startAttacker(): Promise<Attacker & { server: Server }> {
  const pages = new Map<string, string>();
  const server = createServer((req, res) => {
    const html = pages.get(req.url ?? '');
    res.writeHead(html === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html ?? 'not here');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, serve: (path, html) => pages.set(path, html) };
}

export async function startAttackStage(): Promise<AttackStage> {
  const port = await reservePort();
  const origin = `http://localhost:${port}`;
  const idp = await startIdpHost({ host: '127.0.0.1', port: 0, webRedirectUris: [`${origin}/.cortex/callback`], postLogoutRedirectUris: [`${origin}/`] });
  const upstream = await startUpstream();
  const attacker = await startAttacker();
  const web = idp.clients['cortex-web'];
  assert.ok(web, 'the dev IdP has the web client');
  const gw = await startSessionGateway(port, [
    'identity:',
    '  providers:',
    '    dev:',
    `      issuer: ${idp.issuer}`,
    '      audiences: [cortex-gateway]',
    '  sessions:',
    '    provider: dev',
    '    clientId: cortex-web',
    `    clientSecret: ${web.clientSecret}`,
    `    redirectUri: ${origin}/.cortex/callback`,
    `    postLogoutRedirectUri: ${origin}/`,
    `    secrets: [${SECRET_A}]`,
    '    cookie: { secure: false }',
    `upstreams:\n  up: { url: "${upstream.url}" }`,
    'routes:',
    '  home: { match: { path: / }, upstream: up, auth: [session] }',
    '  orders: { match: { prefix: /orders/ }, upstream: up, auth: [session] }',
  ]);
  return {
    origin,
    idp,
    upstream,
    attacker,
    async close() {
      await gw.close();
      await new Promise<void>((resolve) => {
        attacker.server.closeAllConnections();
        attacker.server.close(() => resolve());
      });
      await upstream.close();
      await idp.close();
    },
  };
}

/** On the IdP's sign-in page: presses `person`'s button and waits until the browser has left the IdP. */
export async function pickPerson(page: Page, idpIssuer: string, person: string): Promise<void> {
  const idpOrigin = new URL(idpIssuer).origin;
  assert.equal(new URL(page.url()).origin, idpOrigin, `on the IdP's sign-in page, not ${page.url()}`);
  await page.click(`button[name="account"][value="${person}"]`);
  await page.waitForURL((url) => url.origin !== idpOrigin);
}

/** A whole login in `page` from /.cortex/login; returns the session cookie's value. */
export async function logIn(page: Page, stage: AttackStage, person: string): Promise<string> {
  await page.goto(`${stage.origin}/.cortex/login`);
  await pickPerson(page, stage.idp.issuer, person);
  assert.equal(page.url(), `${stage.origin}/`);
  const value = await sessionCookie(page.context(), stage.origin);
  assert.ok(value, 'a session cookie after login');
  return value;
}

export async function sessionCookie(context: BrowserContext, origin: string): Promise<string | undefined> {
  return (await context.cookies(origin)).find((c) => c.name === SESSION_COOKIE)?.value;
}

/** A page load's answer in the shape assertProblem reads. */
export async function replyOf(res: Response | null): Promise<Reply> {
  assert.ok(res, 'the navigation had a response');
  return { status: res.status(), headers: res.headers(), body: await res.text() };
}

/** What the upstream received since `from`, as "METHOD url" lines. */
export function reached(upstream: TestUpstream, from: number): string[] {
  return upstream.requests.slice(from).map((r) => `${r.method} ${r.url}`);
}
