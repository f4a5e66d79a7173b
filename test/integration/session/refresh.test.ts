// Sessions over time: token refresh (once per session under concurrency; a refusal ends the
// session; an unreachable IdP keeps a still-valid session), and cookie secrets rotated across a
// restart with sessions kept in SQLite.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent, login, SECRET_A, SECRET_B, SESSION_COOKIE, startSessionSetup } from './flow-kit.ts';
import type { SessionSetup } from './flow-kit.ts';

async function api(url: string, cookie: string | undefined): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers: { accept: 'application/json', ...(cookie === undefined ? {} : { cookie: `${SESSION_COOKIE}=${cookie}` }) } });
  return { status: res.status, body: await res.text() };
}

describe('browser sessions: refresh', () => {
  let s: SessionSetup;
  before(async () => {
    // The dev IdP's access tokens live an hour: refreshing an hour early refreshes on every request.
    s = await startSessionSetup({ sessions: ['refreshBeforeSeconds: 3600'] });
  });
  after(async () => {
    s.idp.intercept(undefined);
    await s.close();
  });

  it('20 concurrent requests of one session make one refresh, and every one of them is served as bob', async () => {
    const agent = new Agent();
    await login(agent, s.gw.url);
    const cookie = agent.cookie(s.gw.url, SESSION_COOKIE);
    const tokensBefore = s.tokenRequests();
    const seen = s.upstream.requests.length;
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => api(`${s.gw.url}/app/item/${i}`, cookie)));
    for (const r of replies) assert.equal(r.status, 200, r.body);
    assert.equal(s.tokenRequests() - tokensBefore, 1, 'one refresh for all 20 requests');
    assert.equal(s.upstream.requests.length, seen + 20);
    const me = await agent.request(`${s.gw.url}/.cortex/me`);
    assert.equal((JSON.parse(me.body) as { subject: string }).subject, 'bob');
    assert.equal(s.tokenRequests() - tokensBefore, 1, 'a session just refreshed is not refreshed again while its token is valid');
  });

  it('an IdP that cannot be reached keeps a session whose access token is still valid', async () => {
    const agent = new Agent();
    await login(agent, s.gw.url);
    const cookie = agent.cookie(s.gw.url, SESSION_COOKIE);
    s.idp.intercept((_req, res, path) => {
      if (path !== '/token') return false;
      res.destroy();
      return true;
    });
    try {
      assert.equal((await api(`${s.gw.url}/app/still`, cookie)).status, 200);
    } finally {
      s.idp.intercept(undefined);
    }
  });

  it('a refresh the IdP refuses ends the session: 401 now and after', async () => {
    const agent = new Agent();
    await login(agent, s.gw.url);
    const cookie = agent.cookie(s.gw.url, SESSION_COOKIE);
    s.idp.intercept((_req, res, path) => {
      if (path !== '/token') return false;
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant","error_description":"grant revoked"}');
      return true;
    });
    try {
      const refused = await api(`${s.gw.url}/app/x`, cookie);
      assert.equal(refused.status, 401);
      assert.equal((JSON.parse(refused.body) as { code: string }).code, 'authn.session_invalid');
    } finally {
      s.idp.intercept(undefined);
    }
    assert.equal((await api(`${s.gw.url}/app/x`, cookie)).status, 401, 'the session was deleted');
  });
});

describe('browser sessions: rotating cookie secrets', () => {
  let s: SessionSetup;
  const store = 'store: { type: sqlite, path: "${DIR}/sessions.db" }';
  before(async () => {
    s = await startSessionSetup({ secrets: [SECRET_A], sessions: [store] });
  });
  after(async () => {
    await s.close();
  });

  it('a new secret put first keeps existing sessions; dropping the old secret ends them', async () => {
    const agent = new Agent();
    await login(agent, s.gw.url);
    const old = agent.cookie(s.gw.url, SESSION_COOKIE);
    assert.equal((await api(`${s.gw.url}/.cortex/me`, old)).status, 200);

    await s.restart({ secrets: [SECRET_B, SECRET_A], sessions: [store] });
    assert.equal((await api(`${s.gw.url}/.cortex/me`, old)).status, 200, 'signed with the old secret, still valid after a restart');
    const fresh = new Agent();
    await login(fresh, s.gw.url, 'alice');
    const signedByB = fresh.cookie(s.gw.url, SESSION_COOKIE);
    assert.equal((await api(`${s.gw.url}/.cortex/me`, signedByB)).status, 200);

    await s.restart({ secrets: [SECRET_B], sessions: [store] });
    assert.equal((await api(`${s.gw.url}/.cortex/me`, old)).status, 401, 'the old secret no longer verifies');
    assert.equal((await api(`${s.gw.url}/.cortex/me`, signedByB)).status, 200);
  });
});
