// The dashboard refuses a visitor without the admin credential: a fresh browser sees only the
// login view and gets no data (every /api/ call it makes is answered 401); a wrong token is an
// error, the right one opens the feed; the data endpoints answer 401 problem+json to a bare GET.
// Logging in through the dev IdP: bob (a customer) is refused, alice (an admin) sees the feed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page, Response } from 'playwright-core';
import { launchChromium } from '../../helpers/browser.ts';
import { startDashboardKit, type DashboardKit } from '../../helpers/dashboard-kit.ts';
import { WAIT_MS } from './dashboard-page.ts';

/** From the dashboard's login view through the dev IdP's sign-in page as `person`; the callback's answer. */
async function logInThroughIdp(page: Page, adminUrl: string, person: string): Promise<Response> {
  await page.goto(`${adminUrl}/`);
  await page.getByTestId('login-oidc').click();
  await page.locator(`button[name=account][value=${person}]`).waitFor({ timeout: WAIT_MS });
  const callback = page.waitForResponse((res) => res.url().startsWith(`${adminUrl}/auth/callback`), { timeout: WAIT_MS });
  await page.locator(`button[name=account][value=${person}]`).click();
  return callback;
}

describe('dashboard: a visitor without the admin credential', () => {
  let kit: DashboardKit;
  let browser: Browser;

  before(async () => {
    kit = await startDashboardKit();
    browser = await launchChromium();
    // Data the visitor must not see.
    await kit.call({ as: 'alice' }, 'GET', '/orders');
    await kit.call({ as: 'bob' }, 'DELETE', '/orders/ord_1003');
  });
  after(async () => {
    await browser?.close();
    await kit?.close();
  });

  test('a fresh browser sees the login view and no data; each /api/ call it makes is answered 401', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const api: Response[] = [];
    page.on('response', (res) => {
      if (new URL(res.url()).pathname.startsWith('/api/')) api.push(res);
    });
    await page.goto(`${kit.adminUrl}/`);
    await page.getByTestId('login-form').waitFor({ timeout: WAIT_MS });
    assert.equal(await page.getByTestId('login-token').getAttribute('type'), 'password');
    for (const view of ['#/', '#/people/bob', '#/routes', '#/overview', '#/explain']) {
      await page.goto(`${kit.adminUrl}/${view}`);
      await page.getByTestId('login-form').waitFor({ timeout: WAIT_MS });
    }
    for (const testId of ['feed-row', 'feed-status', 'person-call', 'route-row', 'key-row', 'whoami', 'nav-feed']) {
      assert.equal(await page.getByTestId(testId).count(), 0, `no ${testId} without the credential`);
    }
    assert.doesNotMatch((await page.content()).toLowerCase(), /ord_1003|authz\.denied/, 'no audit data in the page');
    // The page's own requests, and the event stream asked for from the page as the feed would.
    const stream = await page.evaluate(async () => (await fetch('/api/events?type=request')).status);
    assert.equal(stream, 401);
    assert.ok(api.some((r) => new URL(r.url()).pathname === '/api/whoami'), 'the page asked who it is');
    for (const res of api) assert.equal(res.status(), 401, `${res.url()} answered ${res.status()}`);
    assert.equal((await context.cookies()).filter((c) => c.name === 'cortex_admin').length, 0);
    await context.close();
  });

  test('a wrong token shows an error and no data; the admin token opens the live feed', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${kit.adminUrl}/`);
    await page.getByTestId('login-token').fill('not-the-admin-token-0123456789');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('login-error').waitFor({ timeout: WAIT_MS });
    assert.equal(await page.getByTestId('feed-row').count(), 0);
    assert.equal(await page.getByTestId('login-form').isVisible(), true);
    await page.getByTestId('login-token').fill(kit.adminToken);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('whoami').filter({ hasText: 'admin token' }).waitFor({ timeout: WAIT_MS });
    await page.getByTestId('feed-row').first().waitFor({ timeout: WAIT_MS });
    assert.equal(await page.getByTestId('login-form').count(), 0);
    await page.getByTestId('logout').click();
    await page.getByTestId('login-form').waitFor({ timeout: WAIT_MS });
    const after = await page.evaluate(async () => (await fetch('/api/whoami')).status);
    assert.equal(after, 401, 'logging out ends the session');
    await context.close();
  });

  test('GET /api/events and /api/audit without a credential answer 401 problem+json', async () => {
    for (const path of ['/api/events', '/api/events?type=request', '/api/audit', '/api/audit?user=bob', '/api/people/bob', '/api/stats']) {
      const res = await fetch(`${kit.adminUrl}${path}`, { signal: AbortSignal.timeout(WAIT_MS) });
      assert.equal(res.status, 401, path);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, path);
      const body = (await res.json()) as { status?: number; code?: string };
      assert.equal(body.status, 401, path);
      assert.equal(body.code, 'admin.unauthorized', path);
    }
  });

  test('bob, a customer, logging in through the dev IdP is refused: no dashboard, no session', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const callback = await logInThroughIdp(page, kit.adminUrl, 'bob');
    assert.equal(callback.status(), 403);
    await page.waitForLoadState();
    assert.equal(await page.getByTestId('whoami').count(), 0);
    assert.equal(await page.getByTestId('feed-row').count(), 0);
    assert.equal((await context.cookies(kit.adminUrl)).filter((c) => c.name === 'cortex_admin').length, 0);
    // The refusal page's CSP allows no fetch: ask with the context's cookies instead.
    const whoami = await context.request.get(`${kit.adminUrl}/api/whoami`);
    assert.equal(whoami.status(), 401);
    await context.close();
  });

  test('alice, an admin, logging in through the dev IdP sees the live feed as herself', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const callback = await logInThroughIdp(page, kit.adminUrl, 'alice');
    assert.ok(callback.status() >= 300 && callback.status() < 400, `the callback redirects (${callback.status()})`);
    await page.waitForURL(`${kit.adminUrl}/`, { timeout: WAIT_MS });
    await page.getByTestId('whoami').filter({ hasText: 'alice' }).waitFor({ timeout: WAIT_MS });
    await page.getByTestId('feed-status').filter({ hasText: 'live' }).waitFor({ timeout: WAIT_MS });
    const call = await kit.call({ as: 'bob' }, 'GET', '/orders');
    await page.locator(`[data-testid="feed-row"][data-request-id="${call.requestId}"]`).waitFor({ timeout: WAIT_MS });
    const cookie = (await context.cookies(kit.adminUrl)).find((c) => c.name === 'cortex_admin');
    assert.ok(cookie, 'the login set the admin cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    await context.close();
  });
});
