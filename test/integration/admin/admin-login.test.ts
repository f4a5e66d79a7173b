// Logging in to the admin listener with Cortex's own authentication (admin.login), end to end with a
// real dev IdP and plain HTTP: alice (group admins → role admin) gets the cookie and /api/whoami names
// her; bob does not; forged, expired and tampered cookies, a wrong state and a wrong PKCE verifier are
// refused; every login and every admin call made with the session is audited with who = the person.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { transactionSealer, LOGIN_TX_COOKIE } from '../../../src/admin/admin-login.ts';
import { createLoginSessions } from '../../../src/admin/admin-session.ts';
import { send } from '../../helpers/gateway-checks.ts';
import { ADMIN_TOKEN, Agent, LOGIN_SECRET, adminLogin, authorizeAdmin, startLoginWorld } from './login-kit.ts';
import type { LoginWorld } from './login-kit.ts';

const JSON_ACCEPT = { accept: 'application/json' };

function setCookieLine(headers: Headers, name: string): string | undefined {
  return headers.getSetCookie().find((l) => l.startsWith(`${name}=`));
}

describe('admin login (admin.login)', () => {
  let w: LoginWorld;
  before(async () => {
    w = await startLoginWorld();
  });
  after(async () => {
    await w.close();
  });

  const whoami = (cookie: string | undefined) => send(`${w.adminUrl}/api/whoami`, { headers: cookie === undefined ? {} : { cookie: `cortex_admin=${cookie}` } });

  test('/auth/options offers the token and the login', async () => {
    const reply = await send(`${w.adminUrl}/auth/options`);
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.body), { token: true, login: { provider: 'dev', url: '/auth/login' } });
  });

  test('alice (role admin) gets the cookie, /api/whoami names her, and her calls are audited as hers', async () => {
    const agent = new Agent();
    const start = await agent.request(`${w.adminUrl}/auth/login?return=https://evil.example/`);
    assert.equal(start.status, 302);
    assert.ok(start.location?.startsWith(`${w.idp.issuer}/auth?`), start.location);
    const authorize = new URL(start.location ?? '');
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorize.searchParams.get('redirect_uri'), `${w.adminUrl}/auth/callback`);
    const tx = setCookieLine(start.headers, LOGIN_TX_COOKIE) ?? '';
    assert.match(tx, /; Path=\/auth\/;/);
    assert.match(tx, /HttpOnly/);
    assert.match(tx, /SameSite=Lax/, 'the transaction cookie must come back on the cross-site redirect');

    const callback = await authorizeAdmin(agent, w.adminUrl, 'alice');
    const done = await agent.request(callback);
    assert.equal(done.status, 303, done.body);
    assert.equal(done.location, `${w.adminUrl}/`, 'always back to the dashboard, whatever was asked for');
    const line = setCookieLine(done.headers, 'cortex_admin') ?? '';
    assert.match(line, /^cortex_admin=v2\./);
    for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=']) assert.ok(line.includes(attr), `${attr} in ${line}`);
    assert.equal(agent.cookie(w.adminUrl, LOGIN_TX_COOKIE), undefined, 'the transaction cookie is cleared');

    const cookie = agent.cookie(w.adminUrl, 'cortex_admin');
    const me = await whoami(cookie);
    assert.equal(me.status, 200, me.body);
    assert.deepEqual(JSON.parse(me.body), { via: 'login', who: { subject: 'alice', username: 'alice', name: 'Alice Admin', roles: ['admin'] } });

    const login = await w.waitSystem((e) => e.action === 'admin_login' && e.who?.subject === 'alice', 'the admin_login event of alice');
    assert.deepEqual(login.outcome, { status: 303, code: 'ok' });
    assert.equal(login.who?.method, 'admin_login');
    const call = await w.waitSystem((e) => e.action === 'admin_call' && e.details.path === '/api/whoami' && e.details.requestId === me.headers['x-request-id'], 'the admin_call of /api/whoami');
    assert.equal(call.who?.subject, 'alice');
    assert.equal(call.who?.username, 'alice');
    assert.deepEqual(call.who?.roles, ['admin']);

    // A change with the cookie must come from the admin listener's own origin.
    const body = JSON.stringify({ as: 'alice', method: 'GET', path: '/x' });
    const headers = { cookie: `cortex_admin=${cookie}`, 'content-type': 'application/json' };
    const foreign = await send(`${w.adminUrl}/api/explain`, { method: 'POST', headers: { ...headers, origin: 'http://127.0.0.1:1' }, body });
    assert.equal(foreign.status, 401, foreign.body);
    const own = await send(`${w.adminUrl}/api/explain`, { method: 'POST', headers: { ...headers, origin: w.adminUrl }, body });
    assert.equal(own.status, 200, own.body);

    // The callback cannot be replayed: the transaction cookie is gone.
    const replay = await agent.request(callback, { headers: JSON_ACCEPT });
    assert.equal(replay.status, 400);
    assert.equal((JSON.parse(replay.body) as { code: string }).code, 'admin.login_failed');

    const out = await send(`${w.adminUrl}/api/session`, { method: 'DELETE', headers: { cookie: `cortex_admin=${cookie}`, origin: w.adminUrl } });
    assert.equal(out.status, 204);
    assert.match(String(out.headers['set-cookie']), /cortex_admin=; .*Max-Age=0/);
  });

  test('bob (no admin role) gets 403 admin.forbidden and no cookie; the refusal is audited', async () => {
    const agent = new Agent();
    const done = await adminLogin(agent, w.adminUrl, 'bob');
    assert.equal(done.status, 403, done.body);
    assert.match(done.body, /admin\.forbidden/);
    assert.equal(agent.cookie(w.adminUrl, 'cortex_admin'), undefined);
    assert.equal(setCookieLine(done.headers, 'cortex_admin'), undefined);
    assert.equal((await whoami(undefined)).status, 401);
    const refused = await w.waitSystem((e) => e.action === 'admin_login' && e.who?.subject === 'bob', 'the admin_login refusal of bob');
    assert.deepEqual(refused.outcome, { status: 403, code: 'admin.forbidden' });
    assert.equal(refused.details.reason, 'missing_role');
  });

  test('forged, expired, tampered and role-less cookies are refused; a new sessionSecret ends every session', async () => {
    const agent = new Agent();
    assert.equal((await adminLogin(agent, w.adminUrl, 'alice')).status, 303);
    const good = agent.cookie(w.adminUrl, 'cortex_admin') ?? '';
    assert.equal((await whoami(good)).status, 200);

    const [v, exp, payload, mac] = good.split('.');
    const other = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    const tampered = Buffer.from(JSON.stringify({ ...other, s: 'mallory' })).toString('base64url');
    assert.equal((await whoami(`${v}.${exp}.${tampered}.${mac}`)).status, 401, 'another subject under the same MAC');
    assert.equal((await whoami(`${v}.${Number(exp) + 3600}.${payload}.${mac}`)).status, 401, 'a later expiry under the same MAC');

    const person = { subject: 'alice', issuer: w.idp.issuer, provider: 'dev', roles: ['admin'] };
    const value = (line: string) => line.slice('cortex_admin='.length, line.indexOf(';'));
    const forged = createLoginSessions(() => 'some-other-secret-0123456789abcdefghijkl').issue(person);
    assert.equal((await whoami(value(forged))).status, 401, 'signed with another key');
    const expired = createLoginSessions(() => LOGIN_SECRET).issue(person, Date.now() - 13 * 3600_000);
    assert.equal((await whoami(value(expired))).status, 401, 'expired');
    const roleless = createLoginSessions(() => LOGIN_SECRET).issue({ ...person, roles: ['customer'] });
    assert.equal((await whoami(value(roleless))).status, 401, 'without the admin role');
    const valid = createLoginSessions(() => LOGIN_SECRET).issue(person);
    assert.equal((await whoami(value(valid))).status, 200, 'the same cookie, correctly signed, is accepted');

    w.setSessionSecret('admin-login-secret-rotated-0123456789abcdef');
    try {
      assert.equal((await whoami(good)).status, 401, 'a new sessionSecret invalidates the cookie');
    } finally {
      w.setSessionSecret(LOGIN_SECRET);
    }
    assert.equal((await whoami(good)).status, 200);
  });

  test('a wrong state, a wrong PKCE verifier and a missing transaction are refused and audited', async () => {
    const agent = new Agent();
    const callback = await authorizeAdmin(agent, w.adminUrl, 'alice');
    const url = new URL(callback);

    const wrongState = new URL(url);
    wrongState.searchParams.set('state', 'not-the-state');
    const stateReply = await agent.request(wrongState.href, { headers: JSON_ACCEPT });
    assert.equal(stateReply.status, 400, stateReply.body);
    assert.equal((JSON.parse(stateReply.body) as { code: string }).code, 'admin.login_failed');
    assert.equal(agent.cookie(w.adminUrl, 'cortex_admin'), undefined);

    // The same state and nonce, but a PKCE verifier that is not the one the challenge was made from.
    const agent2 = new Agent();
    const callback2 = new URL(await authorizeAdmin(agent2, w.adminUrl, 'alice'));
    const sealer = transactionSealer(() => LOGIN_SECRET);
    const original = sealer.open(agent2.cookie(w.adminUrl, LOGIN_TX_COOKIE), Date.now());
    assert.ok(original, 'the transaction cookie opens with the secret');
    const swapped = sealer.seal({ ...original, verifier: 'a'.repeat(43) });
    const pkce = await send(callback2.href, { headers: { cookie: `${LOGIN_TX_COOKIE}=${swapped}`, ...JSON_ACCEPT } });
    assert.equal(pkce.status, 400, pkce.body);
    assert.equal((JSON.parse(pkce.body) as { code: string }).code, 'admin.login_failed');
    assert.doesNotMatch(String(pkce.headers['set-cookie']), /cortex_admin=v2/);

    const none = await send(callback2.href, { headers: JSON_ACCEPT });
    assert.equal(none.status, 400);

    const reasons = (await w.events()).filter((e) => e.type === 'system' && e.action === 'admin_login' && e.outcome.code === 'admin.login_failed').map((e) => (e.type === 'system' ? e.details.reason : undefined));
    for (const reason of ['state_mismatch', 'code_exchange', 'no_transaction']) assert.ok(reasons.includes(reason), `${reason} in ${reasons.join(', ')}`);
  });

  test('the admin token still works beside the login', async () => {
    const reply = await send(`${w.adminUrl}/api/whoami`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.deepEqual(JSON.parse(reply.body), { via: 'token', who: null });
  });
});
