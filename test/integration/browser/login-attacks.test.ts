// How login flows get broken, tried in a real Chromium against a real gateway and the dev IdP:
// open redirects through ?return=, a callback carried to another browser, a replayed code,
// cross-site posts riding the session cookie, session fixation, and a session kept after logout.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page, Response } from 'playwright-core';
import { launchChromium } from '../../helpers/browser.ts';
import { assertProblem } from '../../helpers/gateway-checks.ts';
import { logIn, pickPerson, reached, replyOf, sessionCookie, startAttackStage } from './attack-kit.ts';
import type { AttackStage } from './attack-kit.ts';

describe('login-flow attacks in Chromium', () => {
  let s: AttackStage;
  let browser: Browser;
  before(async () => {
    s = await startAttackStage();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  const isCallback = (url: URL) => url.origin === s.origin && url.pathname === '/.cortex/callback';

  /**
   * Starts a login in `page`, signs in as `person`, and stops the IdP's redirect to the callback
   * before it leaves the browser. Playwright's page.route does not see redirects, CDP's Fetch does.
   */
  async function callbackWithheld(page: Page, person: string): Promise<string> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Fetch.enable', { patterns: [{ urlPattern: `${s.origin}/.cortex/callback?*` }] });
    const withheld = new Promise<string>((resolve) => {
      cdp.on('Fetch.requestPaused', (e) => {
        resolve(e.request.url);
        void cdp.send('Fetch.failRequest', { requestId: e.requestId, errorReason: 'Aborted' });
      });
    });
    await page.goto(`${s.origin}/.cortex/login`);
    await page.click(`button[name="account"][value="${person}"]`);
    const callback = await withheld;
    await cdp.detach();
    assert.ok(isCallback(new URL(callback)), `the IdP sent the browser back to the callback: ${callback}`);
    assert.notEqual(new URL(page.url()).origin, s.origin, 'the browser never got to the gateway');
    return callback;
  }

  it('open redirects through ?return= all end on the gateway’s own origin', async () => {
    const attempts = ['//evil.example/', '/\\evil.example/', 'https://evil.example/', '/%2F%2Fevil.example', 'javascript:alert(1)', '/.cortex/login', '%2F%2Fevil.example'];
    for (const given of attempts) {
      // Each as typed into the query and percent-encoded once more: both must decode to nothing harmful.
      for (const query of [given, encodeURIComponent(given)]) {
        const context = await browser.newContext();
        const requested: string[] = [];
        const dialogs: string[] = [];
        context.on('request', (r) => requested.push(r.url()));
        const page = await context.newPage();
        page.on('dialog', (d) => {
          dialogs.push(d.message());
          void d.dismiss();
        });
        const seen = s.upstream.requests.length;
        await page.goto(`${s.origin}/.cortex/login?return=${query}`);
        await pickPerson(page, s.idp.issuer, 'bob');
        const label = `return=${query}`;
        assert.equal(new URL(page.url()).origin, s.origin, label);
        assert.equal(page.url(), `${s.origin}/`, label);
        assert.deepEqual(dialogs, [], `${label}: no script ran`);
        assert.deepEqual(requested.filter((u) => u.includes('evil.example') && !u.includes('return=')), [], `${label}: nothing fetched from evil.example`);
        assert.deepEqual(reached(s.upstream, seen), ['GET /'], `${label}: the upstream served the home page only`);
        await context.close();
      }
    }
    // A same-origin path does come back, query included.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${s.origin}/.cortex/login?return=${encodeURIComponent('/orders/7?tab=items')}`);
    await pickPerson(page, s.idp.issuer, 'bob');
    assert.equal(page.url(), `${s.origin}/orders/7?tab=items`);
    await context.close();
  });

  it('a callback carried to another browser is refused there, with or without its own login', async () => {
    const a = await browser.newContext();
    const callback = await callbackWithheld(await a.newPage(), 'bob');
    const seen = s.upstream.requests.length;

    const b = await browser.newContext();
    const pageB = await b.newPage();
    assertProblem(await replyOf(await pageB.goto(callback)), 400, 'authn.login_failed', 'no login cookie');
    assert.equal(await sessionCookie(b, s.origin), undefined, 'no session in B');

    // C started a login of its own (its login cookie names another state), then is handed A's answer.
    const c = await browser.newContext();
    const pageC = await c.newPage();
    await pageC.goto(`${s.origin}/.cortex/login`);
    assert.ok((await c.cookies(`${s.origin}/.cortex/callback`)).some((k) => k.name === 'cortex_login'), 'C has a login in progress');
    assertProblem(await replyOf(await pageC.goto(callback)), 400, 'authn.login_failed', 'foreign state');
    assert.equal(await sessionCookie(c, s.origin), undefined, 'no session in C');

    const me = await pageB.goto(`${s.origin}/.cortex/me`);
    assert.equal(me?.status(), 401);
    assert.deepEqual(reached(s.upstream, seen), [], 'nothing reached the upstream');

    // The withheld answer was a good one: in the browser that started the login it still works.
    const pageA = await a.newPage();
    await pageA.goto(callback);
    assert.equal(pageA.url(), `${s.origin}/`);
    assert.ok(await sessionCookie(a, s.origin), 'A has its session');
    assert.deepEqual(reached(s.upstream, seen), ['GET /']);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('a replayed callback (the same code) is refused, and the session it made stays one and the same', async () => {
    const a = await browser.newContext();
    const page = await a.newPage();
    let callback: string | undefined;
    page.on('request', (r) => {
      if (isCallback(new URL(r.url()))) callback = r.url();
    });
    const seen = s.upstream.requests.length;
    const session = await logIn(page, s, 'bob');
    assert.ok(callback, 'the callback URL was seen');

    assertProblem(await replyOf(await page.goto(callback)), 400, 'authn.login_failed', 'replayed in A');
    assert.equal(await sessionCookie(a, s.origin), session, 'A keeps the cookie it had');
    const me = await page.goto(`${s.origin}/.cortex/me`);
    assert.equal(me?.status(), 200);
    assert.equal(((await me?.json()) as { subject: string }).subject, 'bob');

    const fresh = await browser.newContext();
    const other = await fresh.newPage();
    assertProblem(await replyOf(await other.goto(callback)), 400, 'authn.login_failed', 'replayed in a fresh browser');
    assert.equal(await sessionCookie(fresh, s.origin), undefined, 'no session in the fresh browser');
    assert.equal((await other.goto(`${s.origin}/.cortex/me`))?.status(), 401);

    assert.deepEqual(reached(s.upstream, seen), ['GET /'], 'only the first login reached the upstream');
    await Promise.all([a.close(), fresh.close()]);
  });

  /** Loads the attacker's page (a no-cors fetch, then an auto-submitting form) and returns both answers. */
  async function crossPost(page: Page, attackerOrigin: string): Promise<{ form: Response; fetched: Response }> {
    const target = `${s.origin}/orders`;
    s.attacker.serve(
      '/attack.html',
      `<!doctype html><form method="post" action="${target}"><input name="item" value="stolen"></form>
      <script>fetch(${JSON.stringify(target)}, { method: 'POST', credentials: 'include', mode: 'no-cors', body: 'item=fetched' })
        .finally(() => document.forms[0].submit());</script>`,
    );
    const isPost = (type: string) => (r: Response) => r.url() === target && r.request().method() === 'POST' && r.request().resourceType() === type;
    const fetched = page.waitForResponse(isPost('fetch'));
    const form = page.waitForResponse(isPost('document'));
    await page.goto(`${attackerOrigin}/attack.html`);
    const answers = { form: await form, fetched: await fetched };
    await page.waitForURL(target);
    return answers;
  }

  it('a cross-site POST gets no session: SameSite=Lax keeps the cookie back (401), nothing reaches the upstream', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await logIn(page, s, 'bob');
    const seen = s.upstream.requests.length;
    // 127.0.0.1 is another site than localhost.
    const { form, fetched } = await crossPost(page, `http://127.0.0.1:${s.attacker.port}`);
    assert.equal((await form.request().allHeaders()).cookie, undefined, 'Chromium sent no cookie with the form');
    assertProblem(await replyOf(form), 401, 'authn.missing', 'the form post');
    // Chromium reports no request headers for the fetch (the form's navigation follows at once); a
    // cookie sent with it would have got 403 authn.csrf_rejected instead.
    assert.equal(fetched.status(), 401, 'the fetch');
    assert.match(await page.textContent('body') ?? '', /authn\.missing/, 'the browser shows the refusal');
    assert.deepEqual(reached(s.upstream, seen), [], 'no POST reached the upstream');

    // The same session still posts from the gateway's own pages: the refusal above was about the site.
    await page.goto(`${s.origin}/`);
    const own = await page.evaluate(`fetch('/orders', { method: 'POST', body: 'item=mine' }).then((r) => r.status)`);
    assert.equal(own, 200);
    assert.deepEqual(reached(s.upstream, seen), ['GET /', 'POST /orders']);
    await context.close();
  });

  it('a POST from another port of the same site carries the cookie and is refused as CSRF (403)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await logIn(page, s, 'bob');
    const seen = s.upstream.requests.length;
    // localhost:<other port> is the same site (ports do not count) but another origin.
    const attackerOrigin = `http://localhost:${s.attacker.port}`;
    const { form, fetched } = await crossPost(page, attackerOrigin);
    const headers = await form.request().allHeaders();
    assert.match(headers.cookie ?? '', /cortex_session=/, 'Chromium sent the cookie with the form');
    assert.equal(headers.origin, attackerOrigin);
    assertProblem(await replyOf(form), 403, 'authn.csrf_rejected', 'the form post');
    // 403, not 401: only a request carrying the session cookie gets the CSRF check.
    assert.equal(fetched.status(), 403, 'the fetch');
    assert.match(await page.textContent('body') ?? '', /authn\.csrf_rejected/, 'the browser shows the refusal');
    assert.deepEqual(reached(s.upstream, seen), [], 'no POST reached the upstream');
    await context.close();
  });

  it('a session cookie planted before login is replaced, and the planted one opens nothing', async () => {
    const attacker = await browser.newContext();
    const planted = await logIn(await attacker.newPage(), s, 'carol');
    for (const value of [planted, 'attacker-chosen-id.c2lnbmF0dXJl']) {
      const victim = await browser.newContext();
      await victim.addCookies([{ name: 'cortex_session', value, url: s.origin }]);
      const page = await victim.newPage();
      await page.goto(`${s.origin}/.cortex/login`);
      await pickPerson(page, s.idp.issuer, 'bob');
      const now = await sessionCookie(victim, s.origin);
      assert.ok(now, 'a session after login');
      assert.notEqual(now, value, 'a new session id, not the planted one');
      const me = await page.goto(`${s.origin}/.cortex/me`);
      assert.equal(((await me?.json()) as { subject: string }).subject, 'bob');

      const holder = await browser.newContext();
      await holder.addCookies([{ name: 'cortex_session', value, url: s.origin }]);
      const seen = s.upstream.requests.length;
      const hisPage = await holder.newPage();
      assertProblem(await replyOf(await hisPage.goto(`${s.origin}/.cortex/me`)), 401, 'authn.session_invalid', 'the planted cookie');
      await hisPage.goto(`${s.origin}/`);
      assert.equal(new URL(hisPage.url()).origin, new URL(s.idp.issuer).origin, 'the planted cookie gets a login page');
      assert.deepEqual(reached(s.upstream, seen), [], 'nothing reached the upstream on the planted cookie');
      await Promise.all([victim.close(), holder.close()]);
    }
    await attacker.close();
  });

  it('after logout the old cookie value, put into another browser, opens nothing', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const old = await logIn(page, s, 'bob');
    await page.evaluate(`{
      const form = document.createElement('form');
      form.method = 'POST';
      form.action = '/.cortex/logout';
      document.body.append(form);
      form.submit();
    }`);
    // Logged out at the IdP too, and back at `/` without a session: the IdP asks who is there.
    await page.locator('button[name="account"][value="bob"]').waitFor();
    assert.equal(await sessionCookie(context, s.origin), undefined, 'the cookie is cleared');

    const replay = await browser.newContext();
    await replay.addCookies([{ name: 'cortex_session', value: old, url: s.origin }]);
    const seen = s.upstream.requests.length;
    const other = await replay.newPage();
    assertProblem(await replyOf(await other.goto(`${s.origin}/.cortex/me`)), 401, 'authn.session_invalid', 'the old cookie');
    const posted = await other.evaluate(`fetch('/orders', { method: 'POST', body: 'item=x' }).then((r) => r.status)`);
    assert.equal(posted, 401, 'a same-origin POST on the old cookie');
    assert.deepEqual(reached(s.upstream, seen), [], 'nothing reached the upstream on the old cookie');
    await Promise.all([context.close(), replay.close()]);
  });
});
