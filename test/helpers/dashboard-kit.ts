// `cortex dev`'s pieces in one process, for the dashboard's browser tests and its screenshot: the
// dev IdP, the demo orders API and the gateway running devConfigText with an admin token, on free
// ports. Traffic goes through the gateway as the dev people (alice, bob, carol) and as the
// assistant agent acting for bob (a delegated token from the gateway's RFC 8693 exchange).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startRuntime, type Runtime } from '../../src/cli/run-gateway.ts';
import { DEV_ASSISTANT_SECRET, devConfigText } from '../../src/dev/config.ts';
import { DEV_GRANT, startIdpHost, type IdpHost } from '../../src/dev/idp/index.ts';
import { startOrdersApi, type OrdersApi } from '../../src/dev/orders-api.ts';
import { createLogger } from '../../src/telemetry/logger.ts';

export const DASHBOARD_ADMIN_TOKEN = 'dashboard-test-admin-token-0123456789';

/** Who makes a call: a dev person, or an agent acting for one. */
export type Caller = { as: string } | { agent: string; for: string };

export interface Call {
  status: number;
  /** The x-request-id the gateway answered with: the id of the call's audit event. */
  requestId: string;
  method: string;
  path: string;
}

export interface DashboardKit {
  /** The admin listener, where the dashboard lives: http://127.0.0.1:<port>. */
  adminUrl: string;
  gatewayUrl: string;
  adminToken: string;
  /** The config the gateway runs, as a file (for `cortex explain --config`). */
  configPath: string;
  /** The environment the gateway runs with (the config's secrets), for CLI runs against configPath. */
  env: NodeJS.ProcessEnv;
  idp: IdpHost;
  runtime: Runtime;
  call(caller: Caller, method: string, path: string, body?: unknown): Promise<Call>;
  /** Waits until the audit trail's query API (what person pages read) holds every one of these calls. */
  untilAudited(calls: Call[]): Promise<void>;
  /** Sets the admin cookie in the context through POST /api/session, sent from a page of the admin origin. */
  signInWithToken(context: BrowserContext): Promise<Page>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function basic(id: string, secret: string): string {
  return 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
}

async function postForm(url: string, authorization: string, params: Record<string, string>): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { access_token?: unknown };
  if (!res.ok || typeof body.access_token !== 'string') throw new Error(`token request to ${url} failed (${res.status}): ${JSON.stringify(body)}`);
  return body.access_token;
}

async function until(ok: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function startDashboardKit(): Promise<DashboardKit> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const origin = `http://localhost:${port}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const dir = mkdtempSync(join(tmpdir(), 'cortex-dashboard-'));
  const idp = await startIdpHost({
    host: '127.0.0.1',
    port: 0,
    webRedirectUris: [`${origin}/.cortex/callback`],
    postLogoutRedirectUris: [`${origin}/`],
    adminRedirectUris: [`${adminUrl}/auth/callback`],
  });
  const orders: OrdersApi = await startOrdersApi({ assertion: { issuer: `http://127.0.0.1:${port}`, audience: 'orders' } });
  const configText = devConfigText({
    gatewayPort: port,
    adminPort,
    ordersUrl: orders.url,
    auditPath: join(dir, 'audit.jsonl'),
    apiKeysPath: join(dir, 'api-keys.db'),
    signingKeysPath: join(dir, 'signing-keys.json'),
    grantsPath: join(dir, 'agent-grants.db'),
    idpIssuer: idp.issuer,
  });
  const configPath = join(dir, 'cortex-dev.yaml');
  writeFileSync(configPath, configText);
  const secret = (client: string): string => idp.clients[client]?.clientSecret ?? '';
  const env = {
    ...process.env,
    CORTEX_ADMIN_TOKEN: DASHBOARD_ADMIN_TOKEN,
    CORTEX_DEV_INTROSPECTION_SECRET: secret('cortex-gateway'),
    CORTEX_DEV_WEB_CLIENT_SECRET: secret('cortex-web'),
    CORTEX_DEV_ADMIN_CLIENT_SECRET: secret('cortex-admin'),
    CORTEX_DEV_SESSION_SECRET: randomBytes(32).toString('base64url'),
  };
  const stop = async (runtime: Runtime | undefined): Promise<void> => {
    await runtime?.close({ drainDelayMs: 0, graceMs: 1_000 });
    await Promise.all([orders.close(), idp.close()]);
    rmSync(dir, { recursive: true, force: true });
  };
  let started: Runtime | undefined;
  try {
    started = await startRuntime({ configText, env, log: createLogger({ level: 'silent' }) });
    const live = started;
    await until(() => live.gateway.readiness().ready, 'the gateway to be ready');
    const index = await fetch(`${adminUrl}/`);
    await index.arrayBuffer();
    if (index.status !== 200) throw new Error(`the admin listener answers ${index.status} at /: is the dashboard built? (npm run build:dashboard)`);
    // As cortex dev does: bob has granted the assistant agent; alice has not.
    await live.gateway.exchange?.grants.grant({ issuer: idp.issuer, subject: 'bob', agent: 'assistant', createdBy: 'cortex dev' });
  } catch (err) {
    await stop(started);
    throw err;
  }
  const runtime = started;
  const gatewayUrl = `http://127.0.0.1:${runtime.addresses.gateway.port}`;

  const tokens = new Map<string, Promise<string>>();
  const personToken = (person: string): Promise<string> =>
    postForm(`${idp.issuer}/token`, basic('cortex-cli', secret('cortex-cli')), { grant_type: DEV_GRANT, subject: person });
  const tokenOf = (caller: Caller): Promise<string> => {
    const key = 'as' in caller ? `as:${caller.as}` : `agent:${caller.agent}:${caller.for}`;
    let token = tokens.get(key);
    if (token === undefined) {
      token =
        'as' in caller
          ? personToken(caller.as)
          : personToken(caller.for).then((subjectToken) =>
              postForm(`${gatewayUrl}/.cortex/token`, basic(caller.agent, DEV_ASSISTANT_SECRET), {
                grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
                subject_token: subjectToken,
                subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
              }),
            );
      token.catch(() => tokens.delete(key));
      tokens.set(key, token);
    }
    return token;
  };

  return {
    adminUrl,
    gatewayUrl,
    adminToken: DASHBOARD_ADMIN_TOKEN,
    configPath,
    env,
    idp,
    runtime,
    async call(caller, method, path, body) {
      const headers: Record<string, string> = { authorization: `Bearer ${await tokenOf(caller)}`, accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${gatewayUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      const requestId = res.headers.get('x-request-id');
      if (requestId === null) throw new Error(`${method} ${path}: the gateway answered ${res.status} without an x-request-id`);
      return { status: res.status, requestId, method, path };
    },
    async untilAudited(calls) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const found = await Promise.all(
          calls.map(async (c) => {
            const res = await fetch(`${adminUrl}/api/audit?requestId=${encodeURIComponent(c.requestId)}`, { headers: { authorization: `Bearer ${DASHBOARD_ADMIN_TOKEN}` } });
            const body = (await res.json()) as { events?: unknown[] };
            return (body.events?.length ?? 0) > 0;
          }),
        );
        if (found.every(Boolean)) return;
        if (Date.now() > deadline) throw new Error('timed out waiting for the calls in the audit trail');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async signInWithToken(context) {
      const page = await context.newPage();
      // Any page of the admin origin: the session call must carry that Origin.
      await page.goto(`${adminUrl}/healthz`);
      const status = await page.evaluate(async (token) => {
        const res = await fetch('/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
        return res.status;
      }, DASHBOARD_ADMIN_TOKEN);
      if (status !== 204) throw new Error(`POST /api/session answered ${status}`);
      return page;
    },
    close: () => stop(runtime),
  };
}
