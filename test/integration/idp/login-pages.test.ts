// The dev IdP's login pages in a real Chromium: openid-client plays the web client (cortex-web),
// a small server on port 0 stands in for the gateway's callback.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { startIdpHost, type IdpHost } from '../../../src/dev/idp/index.ts';
import { launchChromium } from '../../helpers/browser.ts';

interface Rp {
  callback: string;
  loggedOut: string;
  server: Server;
}

async function startRp(): Promise<Rp> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`rp ${req.url ?? ''}`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { callback: `${origin}/.cortex/callback`, loggedOut: `${origin}/bye`, server };
}

async function rpConfig(idp: IdpHost): Promise<client.Configuration> {
  const secret = idp.clients['cortex-web']?.clientSecret ?? '';
  return client.discovery(new URL(idp.issuer), 'cortex-web', secret, undefined, { execute: [client.allowInsecureRequests] });
}

async function beginLogin(config: client.Configuration, rp: Rp) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: rp.callback,
    scope: 'openid profile email offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  return { url: url.href, checks: { pkceCodeVerifier: verifier, expectedState: state } };
}

async function signInAs(page: Page, person: string, rp: Rp): Promise<URL> {
  await page.locator(`button[name=account][value=${person}]`).click();
  await page.waitForURL((u) => u.href.startsWith(rp.callback));
  return new URL(page.url());
}

for (const issuerPath of ['', '/tenant-a']) {
  describe(`dev idp login pages (issuer path '${issuerPath}')`, () => {
    let idp: IdpHost;
    let rp: Rp;
    let browser: Browser;
    let config: client.Configuration;
    before(async () => {
      rp = await startRp();
      idp = await startIdpHost({ host: '127.0.0.1', port: 0, issuerPath, webRedirectUris: [rp.callback], postLogoutRedirectUris: [rp.loggedOut] });
      config = await rpConfig(idp);
      browser = await launchChromium();
    });
    after(async () => {
      await browser.close();
      await idp.close();
      rp.server.close();
    });

    test('a person picks who they are and goes straight back to the client with a code', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const login = await beginLogin(config, rp);
      await page.goto(login.url);
      assert.equal(await page.locator('h1').textContent(), 'Sign in to the Cortex dev identity provider');
      const people = await Promise.all((await page.locator('button[name=account]').all()).map((b) => b.getAttribute('value')));
      assert.deepEqual(people, ['alice', 'bob', 'carol']);
      assert.match(await page.locator('body').innerText(), /Bob Buyer \(bob\) · customers[\s\S]*no passwords/);

      const back = await signInAs(page, 'bob', rp);
      const tokens = await client.authorizationCodeGrant(config, back, login.checks);
      assert.equal(tokens.claims()?.sub, 'bob');
      assert.equal(typeof tokens.refresh_token, 'string');
      const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
      const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: idp.issuer, audience: 'cortex-gateway', typ: 'at+jwt' });
      assert.equal(payload.sub, 'bob');
      assert.deepEqual(payload.groups, ['customers']);
      await context.close();
    });

    test('RP-initiated logout ends the IdP session and returns to the registered URI', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const first = await beginLogin(config, rp);
      await page.goto(first.url);
      const tokens = await client.authorizationCodeGrant(config, await signInAs(page, 'alice', rp), first.checks);

      await page.goto(client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token ?? '', post_logout_redirect_uri: rp.loggedOut }).href);
      await page.waitForURL((u) => u.href.startsWith(rp.loggedOut));

      await page.goto((await beginLogin(config, rp)).url);
      assert.equal(await page.locator('h1').textContent(), 'Sign in to the Cortex dev identity provider');
      await context.close();
    });

    test('cancel sends access_denied back to the client', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto((await beginLogin(config, rp)).url);
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.waitForURL((u) => u.href.startsWith(rp.callback));
      assert.equal(new URL(page.url()).searchParams.get('error'), 'access_denied');
      await context.close();
    });

    test('what the page echoes back is escaped', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto((await beginLogin(config, rp)).url);
      const evil = '<img id=pwned src=x>';
      await page.evaluate(`document.querySelector('button[value=bob]').value = ${JSON.stringify(evil)}`);
      await page.locator('button[name=account]').nth(1).click();
      await page.waitForLoadState();
      assert.match(await page.locator('body').innerText(), /Unknown person '<img id=pwned src=x>'/);
      assert.equal(await page.locator('#pwned').count(), 0);
      await context.close();
    });

    test('an interaction without its cookie is refused with a page, not an error', async () => {
      const res = await fetch(`${idp.issuer}/interaction/not-a-real-uid`);
      assert.equal(res.status, 400);
      assert.match(await res.text(), /expired or was already finished/);
    });
  });
}
