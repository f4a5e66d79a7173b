// What a person sees in `cortex dev`, in a real Chromium: the gateway runs the dev config text
// itself, in front of the demo orders API, with the dev IdP's login pages.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startRuntime, type Runtime } from '../../../src/cli/run-gateway.ts';
import { devConfigText } from '../../../src/dev/config.ts';
import { startIdpHost, type IdpHost } from '../../../src/dev/idp/index.ts';
import { startOrdersApi, type OrdersApi } from '../../../src/dev/orders-api.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { launchChromium } from '../../helpers/browser.ts';

const SIGN_IN = 'Sign in to the Cortex dev identity provider';

/**
 * The redirect URI names the gateway's port, so the port must be known before the config is
 * written: a port the kernel just handed out (and that is free again) is as close to port 0 as it gets.
 */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function untilReady(runtime: Runtime): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!runtime.gateway.readiness().ready) {
    if (Date.now() > deadline) throw new Error(`gateway not ready: ${JSON.stringify(runtime.gateway.readiness().components)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function signIn(page: Page, origin: string, person: string): Promise<void> {
  await page.goto(`${origin}/`);
  assert.equal(await page.locator('h1').textContent(), SIGN_IN);
  await page.locator(`button[name=account][value=${person}]`).click();
  await page.waitForURL(`${origin}/`);
}

describe('cortex dev in a browser', () => {
  let idp: IdpHost;
  let orders: OrdersApi;
  let runtime: Runtime;
  let browser: Browser;
  let origin: string;
  let dir: string;
  before(async () => {
    const port = await freePort();
    origin = `http://localhost:${port}`;
    dir = mkdtempSync(join(tmpdir(), 'cortex-demo-'));
    idp = await startIdpHost({ host: '127.0.0.1', port: 0, webRedirectUris: [`${origin}/.cortex/callback`], postLogoutRedirectUris: [`${origin}/`] });
    // As in cortex dev: the orders API trusts only the assertion the gateway signs.
    orders = await startOrdersApi({ assertion: { issuer: `http://127.0.0.1:${port}`, audience: 'orders' } });
    runtime = await startRuntime({
      configText: devConfigText({ gatewayPort: port, adminPort: 0, ordersUrl: orders.url, auditPath: join(dir, 'audit.jsonl'), signingKeysPath: join(dir, 'signing-keys.json'), idpIssuer: idp.issuer }),
      env: {
        ...process.env,
        CORTEX_ADMIN_TOKEN: 'test-admin-token-0123456789',
        CORTEX_DEV_INTROSPECTION_SECRET: idp.clients['cortex-gateway']?.clientSecret ?? '',
        CORTEX_DEV_WEB_CLIENT_SECRET: idp.clients['cortex-web']?.clientSecret ?? '',
        CORTEX_DEV_SESSION_SECRET: randomBytes(32).toString('base64url'),
      },
      log: createLogger({ level: 'silent' }),
    });
    await untilReady(runtime);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await runtime?.close({ drainDelayMs: 0, graceMs: 1_000 });
    await Promise.all([orders?.close(), idp?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the demo page sends a newcomer to the sign-in page and back, signed in as the chosen person', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, origin, 'bob');
    assert.equal(await page.title(), 'Your orders');
    await page.locator('#who', { hasText: /^Signed in as bob/ }).waitFor();
    await page.locator('#orders tr', { hasText: 'Standing desk' }).waitFor();
    assert.equal(await page.locator('#error').isHidden(), true);
    const cookies = await context.cookies(origin);
    const session = cookies.find((c) => c.name === 'cortex_session');
    assert.ok(session, 'the gateway set its session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    await context.close();
  });

  test('an order placed from the page goes through the gateway on the session', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, origin, 'alice');
    await page.locator('input[name=item]').fill('<b>Desk lamp</b>');
    await page.locator('input[name=quantity]').fill('2');
    await page.getByRole('button', { name: 'Order' }).click();
    const row = page.locator('#orders tr', { hasText: '<b>Desk lamp</b>' });
    await row.waitFor();
    assert.equal(await row.locator('b').count(), 0, 'what the page shows is text, not markup');
    await context.close();
  });

  test('log out ends the session here and at the identity provider', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, origin, 'carol');
    await page.locator('#who', { hasText: /^Signed in as carol/ }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    // Back at the demo page with no session, the gateway sends the browser to log in, and the
    // identity provider, its own session ended too, asks who is there.
    await page.locator('h1', { hasText: SIGN_IN }).waitFor();
    assert.ok(page.url().startsWith(idp.issuer));
    const me = await context.request.get(`${origin}/.cortex/me`, { maxRedirects: 0 });
    assert.notEqual(me.status(), 200);
    await context.close();
  });

  test('without a session or token the API answers 401, not a login page', async () => {
    const res = await fetch(`${origin}/orders`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 401);
  });
});
