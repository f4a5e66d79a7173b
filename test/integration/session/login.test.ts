// Browser login end to end without a browser: login → session cookie → the upstream sees the
// request as bob; /.cortex/me; cookie flags; cross-site posts; forged cookies; logout.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem } from '../../helpers/gateway-checks.ts';
import { Agent, login, SESSION_COOKIE, startSessionSetup } from './flow-kit.ts';
import type { Hop, SessionSetup } from './flow-kit.ts';

function reply(hop: Hop) {
  return { status: hop.status, headers: Object.fromEntries(hop.headers), body: hop.body };
}

describe('browser sessions: login, use, logout', () => {
  let s: SessionSetup;
  before(async () => {
    s = await startSessionSetup();
  });
  after(async () => {
    await s.close();
  });

  it('a browser without a session is sent to log in, and comes back to the page it asked for', async () => {
    const agent = new Agent();
    const first = await agent.request(`${s.gw.url}/app/orders?page=2`);
    assert.equal(first.status, 302);
    assert.equal(first.location, `${s.gw.url}/.cortex/login?return=${encodeURIComponent('/app/orders?page=2')}`);
    const start = await agent.request(first.location);
    assert.equal(start.status, 302);
    const authorize = new URL(start.location ?? '');
    assert.equal(authorize.origin, new URL(s.idp.issuer).origin);
    assert.equal(authorize.searchParams.get('redirect_uri'), `${s.gw.url}/.cortex/callback`);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    for (const p of ['state', 'nonce', 'code_challenge']) assert.ok((authorize.searchParams.get(p) ?? '').length >= 32, p);
    const loginCookie = start.headers.getSetCookie().find((c) => c.startsWith('cortex_login='));
    assert.match(loginCookie ?? '', /; Path=\/\.cortex\/; Max-Age=600; HttpOnly; SameSite=Lax$/);

    const done = await login(agent, s.gw.url, 'bob', '/app/orders?page=2');
    assert.equal(done.status, 302);
    assert.equal(done.location, `${s.gw.url}/app/orders?page=2`);
    const set = done.headers.getSetCookie();
    const session = set.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    assert.match(session ?? '', /^cortex_session=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=86400; HttpOnly; SameSite=Lax$/);
    assert.ok(set.some((c) => /^cortex_login=; Path=\/\.cortex\/; Max-Age=0/.test(c)), 'the login cookie is cleared');
    assert.equal(done.headers.get('cache-control'), 'no-store');
  });

  it('the upstream sees the request as bob, and the audit says who through which method', async () => {
    const agent = new Agent();
    await login(agent, s.gw.url);
    const seen = s.upstream.requests.length;
    const page = await agent.request(`${s.gw.url}/app/home`);
    assert.equal(page.status, 200, page.body);
    assert.equal(s.upstream.requests.length, seen + 1);
    const forwarded = s.upstream.requests.at(-1);
    assert.equal(forwarded?.url, '/app/home');
    assert.equal(forwarded?.headers.cookie, undefined, 'the session cookie is the gateway’s own: the upstream never sees it');
    const id = page.headers.get('x-request-id');
    const event = (await s.gw.audit()).find((e) => e.id === id);
    assert.equal(event?.who?.method, 'session');
    assert.equal(event?.who?.subject, 'bob');
    assert.equal(event?.who?.kind, 'user');
  });

  it('/.cortex/me shows the session’s identity; without a session it is 401', async () => {
    const agent = new Agent();
    await login(agent, s.gw.url, 'alice');
    const me = await agent.request(`${s.gw.url}/.cortex/me`);
    assert.equal(me.status, 200, me.body);
    assert.equal(me.headers.get('cache-control'), 'no-store');
    const body = JSON.parse(me.body) as Record<string, unknown>;
    assert.equal(body.subject, 'alice');
    assert.equal(body.kind, 'user');
    assert.equal(body.provider, 'dev');
    assert.ok(Array.isArray(body.roles));
    assert.ok(Date.parse(String(body.expiresAt)) > Date.now());
    assertProblem(reply(await new Agent().request(`${s.gw.url}/.cortex/me`)), 401, 'authn.session_invalid');
  });

  it('a forged or tampered session cookie is refused with 401, and nothing reaches the upstream', async () => {
    const agent = new Agent();
    await login(agent, s.gw.url);
    const real = agent.cookie(s.gw.url, SESSION_COOKIE) ?? '';
    const [id = '', sig = ''] = real.split('.');
    const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    const seen = s.upstream.requests.length;
    for (const forged of [`${id}.${flipped}`, `${id.slice(1)}x.${sig}`, id, 'x'.repeat(43) + '.' + sig, `${id}.`]) {
      const got = await fetch(`${s.gw.url}/app/home`, { headers: { cookie: `${SESSION_COOKIE}=${forged}`, accept: 'application/json' } });
      assertProblem({ status: got.status, headers: Object.fromEntries(got.headers), body: await got.text() }, 401, 'authn.session_invalid', forged);
    }
    assert.equal(s.upstream.requests.length, seen);
  });

  it('a cross-site POST with the session cookie is refused with 403 and nothing reaches the upstream', async () => {
    const agent = new Agent();
    await login(agent, s.gw.url);
    const seen = s.upstream.requests.length;
    const cross = await agent.request(`${s.gw.url}/app/orders`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{}' });
    assertProblem(reply(cross), 403, 'authn.csrf_rejected');
    const sameSite = await agent.request(`${s.gw.url}/app/orders`, { method: 'POST', headers: { 'sec-fetch-site': 'same-site' }, body: '{}' });
    assertProblem(reply(sameSite), 403, 'authn.csrf_rejected');
    assert.equal(s.upstream.requests.length, seen);
    const own = await agent.request(`${s.gw.url}/app/orders`, { method: 'POST', headers: { origin: s.gw.url, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(own.status, 200, own.body);
    assert.equal(s.upstream.requests.length, seen + 1);
  });

  it('session fixation: a session cookie the browser had before login is not the one after, and its session ends', async () => {
    const agent = new Agent();
    await login(agent, s.gw.url, 'carol');
    const before = agent.cookie(s.gw.url, SESSION_COOKIE);
    assert.ok(before);
    agent.forget(s.idp.url);
    await login(agent, s.gw.url, 'bob');
    const after = agent.cookie(s.gw.url, SESSION_COOKIE);
    assert.ok(after);
    assert.notEqual(after, before);
    const old = await fetch(`${s.gw.url}/.cortex/me`, { headers: { cookie: `${SESSION_COOKIE}=${before}` } });
    assert.equal(old.status, 401, 'the session the browser had before is deleted');
    const me = await agent.request(`${s.gw.url}/.cortex/me`);
    assert.equal((JSON.parse(me.body) as { subject: string }).subject, 'bob');
  });

  it('logout deletes the session, clears the cookie and goes to the provider’s end-session endpoint', async () => {
    const agent = new Agent();
    await login(agent, s.gw.url);
    const cookie = agent.cookie(s.gw.url, SESSION_COOKIE);
    const cross = await agent.request(`${s.gw.url}/.cortex/logout`, { method: 'POST', headers: { origin: 'https://evil.example' } });
    assertProblem(reply(cross), 403, 'authn.csrf_rejected');
    assert.equal((await agent.request(`${s.gw.url}/.cortex/me`)).status, 200, 'a cross-site logout does nothing');

    const out = await agent.request(`${s.gw.url}/.cortex/logout`, { method: 'POST', headers: { origin: s.gw.url } });
    assert.equal(out.status, 303);
    const end = new URL(out.location ?? '');
    assert.equal(`${end.origin}${end.pathname}`, `${s.idp.issuer}/session/end`);
    assert.ok(end.searchParams.get('id_token_hint'));
    assert.equal(end.searchParams.get('post_logout_redirect_uri'), `${s.gw.url}/`);
    assert.ok(out.headers.getSetCookie().some((c) => /^cortex_session=; Path=\/; Max-Age=0/.test(c)));
    assert.equal(agent.cookie(s.gw.url, SESSION_COOKIE), undefined);
    const replayed = await fetch(`${s.gw.url}/app/home`, { headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
    assert.equal(replayed.status, 401, 'the old cookie names a deleted session');
    assert.equal((await fetch(`${s.gw.url}/.cortex/logout`)).status, 405, 'logout is POST only');
  });
});
