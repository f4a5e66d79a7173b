// A person logs in through a real Chromium: the gateway sends the browser to the dev IdP's login
// page, bob is chosen, the protected page shows, survives a reload, and logout ends the session.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../helpers/browser.ts';
import { SESSION_COOKIE, startSessionSetup } from '../session/flow-kit.ts';
import type { SessionSetup } from '../session/flow-kit.ts';

describe('browser login in Chromium', () => {
  let s: SessionSetup;
  let browser: Browser;
  before(async () => {
    s = await startSessionSetup();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('login as bob through the IdP page, see the protected page, reload, log out', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${s.gw.url}/app/home?tab=orders`);
    assert.equal(new URL(page.url()).origin, new URL(s.idp.issuer).origin, 'sent to the IdP to log in');
    await page.click('button[name="account"][value="bob"]');
    await page.waitForURL(`${s.gw.url}/app/home?tab=orders`);
    const shown = JSON.parse((await page.textContent('body')) ?? '{}') as { url?: string };
    assert.equal(shown.url, '/app/home?tab=orders', 'the upstream answered the page');

    const cookie = (await context.cookies(s.gw.url)).find((c) => c.name === SESSION_COOKIE);
    assert.ok(cookie, 'a session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(await page.evaluate('document.cookie.includes("cortex_session")'), false, 'scripts cannot read it');

    const seen = s.upstream.requests.length;
    const reloaded = await page.reload();
    assert.equal(reloaded?.status(), 200);
    assert.equal(page.url(), `${s.gw.url}/app/home?tab=orders`);
    assert.equal(s.upstream.requests.length, seen + 1);

    await page.goto(`${s.gw.url}/.cortex/me`);
    const me = JSON.parse((await page.textContent('body')) ?? '{}') as { subject?: string; kind?: string };
    assert.equal(me.subject, 'bob');
    assert.equal(me.kind, 'user');

    // Logout is a POST from the site itself (a form), as a logout button would send it.
    await page.evaluate(`{
      const form = document.createElement('form');
      form.method = 'POST';
      form.action = '/.cortex/logout';
      document.body.append(form);
      form.submit();
    }`);
    await page.waitForURL((url) => url.origin === s.gw.url && url.pathname === '/');
    assert.equal((await context.cookies(s.gw.url)).some((c) => c.name === SESSION_COOKIE), false, 'the cookie is gone');
    const after = await page.goto(`${s.gw.url}/.cortex/me`);
    assert.equal(after?.status(), 401);

    const again = await page.goto(`${s.gw.url}/app/home`);
    assert.equal(new URL(page.url()).origin, new URL(s.idp.issuer).origin, `logged out at the IdP too: back to its login page (${again?.status()})`);
    assert.ok(await page.isVisible('button[name="account"][value="bob"]'));
    await context.close();
  });
});
