// The admin login's cookies without a listener: the login session (who, under an HMAC and an expiry),
// the sealed login transaction, who an admin call is audited as, and GET /api/whoami's answer.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { transactionSealer } from '../../../src/admin/admin-login.ts';
import { createAdminSessions, createLoginSessions } from '../../../src/admin/admin-session.ts';
import { adminCallerOf, callerWho, whoamiEndpoint } from '../../../src/admin/whoami.ts';
import { ADMIN_TOKEN_WHO } from '../../../src/audit/system-events.ts';

const T0 = Date.UTC(2026, 0, 1);
const KEY = 'login-secret-0123456789abcdefghijklmnop';
const ALICE = { subject: 'alice', issuer: 'http://idp', provider: 'dev', roles: ['admin'], username: 'alice', name: 'Alice Admin' };

const valueOf = (setCookie: string) => setCookie.split(';')[0] as string;

test('a login cookie carries who for 12 hours, under this key only, and not once altered', () => {
  const logins = createLoginSessions(() => KEY);
  const line = logins.issue(ALICE, T0);
  for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=43200']) assert.ok(line.includes(attr), attr);
  const cookie = valueOf(line);
  assert.deepEqual(logins.check(cookie, T0 + 1_000), ALICE);
  assert.equal(logins.check(cookie, T0 + 12 * 3600_000 + 1_000), undefined, 'expired');
  assert.equal(createLoginSessions(() => 'another-secret-0123456789abcdefghijk').check(cookie, T0 + 1_000), undefined, 'a new key ends old sessions');
  const [v, exp, payload, mac] = cookie.slice('cortex_admin='.length).split('.');
  const bob = Buffer.from(JSON.stringify({ s: 'bob', i: 'http://idp', p: 'dev', r: ['admin'] })).toString('base64url');
  assert.equal(logins.check(`cortex_admin=${v}.${exp}.${bob}.${mac}`, T0), undefined, 'the person is signed');
  assert.equal(logins.check(`cortex_admin=${v}.${Number(exp) + 60}.${payload}.${mac}`, T0), undefined, 'the expiry is signed');
  assert.equal(logins.check(`${cookie}; ${cookie}`, T0), undefined, 'two cookies of that name are refused');
  assert.equal(logins.check(undefined, T0), undefined);
});

test('the two kinds of cookie never pass for each other', () => {
  const token = 'the-admin-token-0123456789';
  const tokenCookie = valueOf(createAdminSessions(token).issue(T0));
  assert.equal(createLoginSessions(() => token).check(tokenCookie, T0), undefined);
  const loginCookie = valueOf(createLoginSessions(() => token).issue(ALICE, T0));
  assert.equal(createAdminSessions(token).check(loginCookie, T0), 'invalid');
});

test('long fields and many roles are cut so the cookie stays small', () => {
  const logins = createLoginSessions(() => KEY);
  const cookie = valueOf(logins.issue({ ...ALICE, name: 'x'.repeat(5_000), roles: Array.from({ length: 100 }, (_, i) => `role-${i}`) }, T0));
  assert.ok(cookie.length < 3_500, `${cookie.length} characters`);
  const back = logins.check(cookie, T0);
  assert.equal(back?.name?.length, 256);
  assert.equal(back?.roles.length, 32);
});

test('the login transaction is sealed: unreadable, untamperable, and it lapses', () => {
  const sealer = transactionSealer(() => KEY);
  const tx = { state: 's-1', nonce: 'n-1', verifier: 'v'.repeat(43), exp: Math.floor(T0 / 1000) + 600 };
  const sealed = sealer.seal(tx);
  assert.doesNotMatch(Buffer.from(sealed, 'base64url').toString('latin1'), /vvvv/, 'the PKCE verifier is not readable');
  assert.deepEqual(sealer.open(sealed, T0), tx);
  assert.equal(sealer.open(sealed, T0 + 601_000), undefined, 'expired');
  assert.equal(transactionSealer(() => 'another-secret-0123456789abcdefghijk').open(sealed, T0), undefined);
  const raw = Buffer.from(sealed, 'base64url');
  raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
  assert.equal(sealer.open(raw.toString('base64url'), T0), undefined, 'tampered');
  assert.equal(sealer.open('not!base64', T0), undefined);
  assert.equal(sealer.open(undefined, T0), undefined);
});

const request = (headers: Record<string, string>, method = 'GET') => ({ method, headers }) as unknown as IncomingMessage;

test('the caller: bearer token first, a cookie only from the admin listener itself for changes', () => {
  const checks = { token: (h: string | undefined) => h === 'Bearer t', tokenSession: (c: string | undefined) => c === 'cortex_admin=tok', loginPerson: (c: string | undefined) => (c === 'cortex_admin=alice' ? ALICE : undefined) };
  assert.deepEqual(adminCallerOf(request({ authorization: 'Bearer t' }), checks), { via: 'token' });
  assert.deepEqual(adminCallerOf(request({ cookie: 'cortex_admin=tok' }), checks), { via: 'session' });
  assert.deepEqual(adminCallerOf(request({ cookie: 'cortex_admin=alice' }), checks), { via: 'login', person: ALICE });
  assert.equal(adminCallerOf(request({ cookie: 'cortex_admin=alice', host: 'a:1', origin: 'http://evil:1' }, 'POST'), checks), undefined);
  assert.deepEqual(adminCallerOf(request({ cookie: 'cortex_admin=alice', host: 'a:1', origin: 'http://a:1' }, 'POST'), checks), { via: 'login', person: ALICE });
  assert.equal(adminCallerOf(request({}), checks), undefined);
});

test('who an admin call is audited as, and what /api/whoami answers', () => {
  const login = { via: 'login', person: ALICE } as const;
  assert.deepEqual(callerWho(login), { subject: 'alice', issuer: 'http://idp', provider: 'dev', kind: 'user', method: 'admin_login', roles: ['admin'], username: 'alice' });
  assert.deepEqual(callerWho({ via: 'token' }), ADMIN_TOKEN_WHO);
  assert.deepEqual(callerWho({ via: 'session' }), ADMIN_TOKEN_WHO);
  assert.equal(callerWho(undefined), null);
  assert.deepEqual(JSON.parse(whoamiEndpoint(login).body), { via: 'login', who: { subject: 'alice', username: 'alice', name: 'Alice Admin', roles: ['admin'] } });
  assert.deepEqual(JSON.parse(whoamiEndpoint({ via: 'session' }).body), { via: 'session', who: null });
});
