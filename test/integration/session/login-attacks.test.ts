// How login flows get broken, tried against the real flow: open redirects through ?return=,
// login CSRF (a callback from another browser's login), foreign state, replayed codes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem } from '../../helpers/gateway-checks.ts';
import { Agent, authorize, login, SESSION_COOKIE, startSessionSetup } from './flow-kit.ts';
import type { Hop, SessionSetup } from './flow-kit.ts';

function reply(hop: Hop) {
  return { status: hop.status, headers: Object.fromEntries(hop.headers), body: hop.body };
}

describe('browser sessions: attacks on the login flow', () => {
  let s: SessionSetup;
  before(async () => {
    s = await startSessionSetup();
  });
  after(async () => {
    await s.close();
  });

  it('open redirects through ?return= all land on a same-origin path', async () => {
    const attempts: [string, string][] = [
      ['//evil.com', '/'],
      ['/\\evil.com', '/'],
      ['/\\/evil.com', '/'],
      ['https://evil.com', '/'],
      ['http:/evil.com', '/'],
      ['javascript:alert(1)', '/'],
      ['/%2F%2Fevil.com', '/'],
      ['/%5Cevil.com', '/'],
      ['/.cortex/login', '/'],
      ['/.cortex/callback?code=x', '/'],
      ['/%2Ecortex/login', '/'],
      ['/app\tx', '/'],
      ['/app\r\nset-cookie: x=y', '/'],
      ['evil.com', '/'],
      ['', '/'],
      ['/app/ok?x=1', '/app/ok?x=1'],
    ];
    for (const [given, expected] of attempts) {
      const agent = new Agent();
      const done = await login(agent, s.gw.url, 'bob', given);
      assert.equal(done.status, 302, `${JSON.stringify(given)}: ${done.body}`);
      const location = done.headers.get('location') ?? '';
      assert.equal(location, expected, `return=${JSON.stringify(given)}`);
      assert.equal(new URL(location, s.gw.url).origin, s.gw.url);
    }
  });

  it('the redirect URI comes from config, never from the Host header', async () => {
    const agent = new Agent();
    const start = await agent.request(`${s.gw.url}/.cortex/login`, { headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example' } });
    assert.equal(start.status, 302);
    assert.equal(new URL(start.location ?? '').searchParams.get('redirect_uri'), `${s.gw.url}/.cortex/callback`);
  });

  it('a callback from a login another browser started is refused (login CSRF), and makes no session', async () => {
    const attacker = new Agent();
    const callback = await authorize(attacker, s.gw.url, 'carol');
    const victim = new Agent();
    const got = await victim.request(callback);
    assertProblem(reply(got), 400, 'authn.login_failed');
    assert.equal(victim.cookie(s.gw.url, SESSION_COOKIE), undefined);
  });

  it('a callback whose state is not this browser’s login is refused', async () => {
    const agent = new Agent();
    const callback = new URL(await authorize(agent, s.gw.url, 'bob'));
    callback.searchParams.set('state', 'a'.repeat(43));
    const got = await agent.request(callback.href);
    assertProblem(reply(got), 400, 'authn.login_failed');
    assert.equal(agent.cookie(s.gw.url, SESSION_COOKIE), undefined);
    const again = await agent.request(new URL(await authorize(agent, s.gw.url, 'bob')).href);
    assert.equal(again.status, 302, 'a fresh login in the same browser still works');
  });

  it('a signed login cookie taken from another browser’s login does not make the victim’s callback work', async () => {
    const mine = new Agent();
    await authorize(mine, s.gw.url, 'bob');
    const other = new Agent();
    const theirs = new URL(await authorize(other, s.gw.url, 'carol'));
    const got = await mine.request(theirs.href);
    assertProblem(reply(got), 400, 'authn.login_failed');
  });

  it('a replayed callback (the same code again) is refused', async () => {
    const agent = new Agent();
    const callback = await authorize(agent, s.gw.url, 'bob');
    const login1Cookie = agent.cookie(s.gw.url, 'cortex_login');
    const first = await agent.request(callback);
    assert.equal(first.status, 302);
    const sameBrowser = await agent.request(callback);
    assertProblem(reply(sameBrowser), 400, 'authn.login_failed');
    // Even with the login cookie put back, the transaction was single use.
    const replay = await fetch(callback, { headers: { cookie: `cortex_login=${login1Cookie}` }, redirect: 'manual' });
    assert.equal(replay.status, 400);
  });

  it('a replayed code inside a fresh login of the same browser fails at the provider', async () => {
    const agent = new Agent();
    const used = new URL(await authorize(agent, s.gw.url, 'bob'));
    assert.equal((await agent.request(used.href)).status, 302);
    const fresh = new URL(await authorize(agent, s.gw.url, 'bob'));
    fresh.searchParams.set('code', used.searchParams.get('code') ?? '');
    const got = await agent.request(fresh.href);
    assertProblem(reply(got), 400, 'authn.login_failed');
  });

  it('a callback without any login cookie, or with a forged one, is refused', async () => {
    const none = await new Agent().request(`${s.gw.url}/.cortex/callback?code=abc&state=def`);
    assertProblem(reply(none), 400, 'authn.login_failed');
    const forged = await fetch(`${s.gw.url}/.cortex/callback?code=abc&state=def`, { headers: { cookie: 'cortex_login=abc.def' } });
    assert.equal(forged.status, 400);
  });

  it('a provider error in the callback (the person cancelled) is a failed login', async () => {
    const agent = new Agent();
    const page = await agent.follow(`${s.gw.url}/.cortex/login`);
    const abort = /action="([^"]+\/abort)"/.exec(page.body)?.[1];
    assert.ok(abort, 'the IdP page offers to cancel');
    let hop = await agent.request(new URL(abort, page.url).href, { method: 'POST' });
    while (hop.location !== undefined && !hop.location.startsWith(s.gw.url)) hop = await agent.request(hop.location);
    assert.match(hop.location ?? '', /error=access_denied/);
    assertProblem(reply(await agent.request(hop.location ?? '')), 400, 'authn.login_failed');
  });
});
