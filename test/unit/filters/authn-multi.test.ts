// The multi-method authn filter's decisions, with in-process authenticators standing in for the
// real ones (their own tests run them against real stores, IdPs and certificates).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMultiAuthFilter } from '../../../src/filters/authn/authn-filter.ts';
import { ANONYMOUS } from '../../../src/identity/claims-identity.ts';
import { TokenCache } from '../../../src/identity/token-cache.ts';
import type { Authenticator, SessionAuthenticator } from '../../../src/identity/authenticator.ts';
import type { FilterResult, RequestContext } from '../../../src/gateway/types.ts';

interface Written {
  status?: number;
  headers?: Record<string, string>;
  ended: boolean;
}

function ctxFor(method: string, headers: Record<string, string>): { ctx: RequestContext; written: Written } {
  const written: Written = { ended: false };
  const ctx = {
    id: 'req-1',
    requestIdHeader: 'x-request-id',
    request: { method, path: '/orders', query: '' },
    req: { headers },
    res: {
      writeHead(status: number, h: Record<string, string>) {
        written.status = status;
        written.headers = h;
      },
      end() {
        written.ended = true;
      },
    },
  } as unknown as RequestContext;
  return { ctx, written };
}

function session(calls: string[]): SessionAuthenticator {
  return {
    method: 'session',
    origins: new Set(['https://app.example.com']),
    present: (ctx) => (ctx.req.headers.cookie ?? '').includes('cortex_session='),
    authenticate: () => {
      calls.push('session');
      return { ok: true, identity: { ...ANONYMOUS, subject: 'bob', kind: 'user', method: 'session' } };
    },
    loginLocation: () => '/.cortex/login?return=%2Forders',
  };
}

function apiKey(calls: string[]): Authenticator {
  return {
    method: 'api_key',
    present: (ctx) => ctx.req.headers['x-api-key'] !== undefined,
    authenticate: () => {
      calls.push('api_key');
      return { ok: false, code: 'authn.api_key_revoked', description: 'revoked' };
    },
  };
}

const reply = (r: FilterResult | Promise<FilterResult>) => {
  assert.ok(!(r instanceof Promise));
  return r;
};

test('an unsafe request with the session cookie from another site is refused before the session is looked up', () => {
  const calls: string[] = [];
  const filter = createMultiAuthFilter({ others: [session(calls)], csrf: true });
  const attempts: Record<string, string>[] = [
    { cookie: 'cortex_session=x', origin: 'https://evil.example' },
    { cookie: 'cortex_session=x', 'sec-fetch-site': 'cross-site' },
    { cookie: 'cortex_session=x', 'sec-fetch-site': 'same-site' },
    { cookie: 'cortex_session=x', origin: 'null' },
  ];
  for (const headers of attempts) {
    const r = reply(filter.onRequest!(ctxFor('POST', headers).ctx));
    assert.equal(r.action, 'reply');
    assert.equal(r.action === 'reply' && r.reply.code, 'authn.csrf_rejected', JSON.stringify(headers));
  }
  assert.deepEqual(calls, []);
});

test('same-origin unsafe requests, safe methods, and routes that opt out reach the session', () => {
  const calls: string[] = [];
  const strict = createMultiAuthFilter({ others: [session(calls)], csrf: true });
  assert.equal(reply(strict.onRequest!(ctxFor('POST', { cookie: 'cortex_session=x', origin: 'https://app.example.com' }).ctx)).action, 'continue');
  assert.equal(reply(strict.onRequest!(ctxFor('DELETE', { cookie: 'cortex_session=x', 'sec-fetch-site': 'same-origin' }).ctx)).action, 'continue');
  assert.equal(reply(strict.onRequest!(ctxFor('GET', { cookie: 'cortex_session=x', origin: 'https://evil.example' }).ctx)).action, 'continue');
  const open = createMultiAuthFilter({ others: [session(calls)], csrf: false });
  assert.equal(reply(open.onRequest!(ctxFor('POST', { cookie: 'cortex_session=x', origin: 'https://evil.example' }).ctx)).action, 'continue');
  assert.deepEqual(calls, ['session', 'session', 'session', 'session']);
});

test('without a credential a browser navigation is sent to log in; an API client gets 401', () => {
  const filter = createMultiAuthFilter({ others: [session([])], csrf: true });
  const nav = ctxFor('GET', { 'sec-fetch-mode': 'navigate', accept: 'text/html' });
  assert.equal(reply(filter.onRequest!(nav.ctx)).action, 'handled');
  assert.equal(nav.written.status, 302);
  assert.equal(nav.written.headers?.location, '/.cortex/login?return=%2Forders');
  const api = reply(filter.onRequest!(ctxFor('GET', { accept: 'application/json' }).ctx));
  assert.equal(api.action === 'reply' && api.reply.code, 'authn.missing');
  const fetchCall = reply(filter.onRequest!(ctxFor('GET', { 'sec-fetch-mode': 'cors', accept: 'text/html' }).ctx));
  assert.equal(fetchCall.action === 'reply' && fetchCall.reply.code, 'authn.missing', 'a script fetch is not a navigation');
});

test('the first credential present decides: a bad API key is refused, not passed over for the session', () => {
  const calls: string[] = [];
  const filter = createMultiAuthFilter({ others: [apiKey(calls), session(calls)], csrf: true });
  const r = reply(filter.onRequest!(ctxFor('GET', { 'x-api-key': 'ctx_x', cookie: 'cortex_session=x' }).ctx));
  assert.equal(r.action === 'reply' && r.reply.code, 'authn.api_key_revoked');
  assert.deepEqual(calls, ['api_key']);
});

test('an Authorization header on a route that takes no bearer tokens is named as the wrong kind of credential', () => {
  const filter = createMultiAuthFilter({ others: [session([])], csrf: true });
  const r = reply(filter.onRequest!(ctxFor('GET', { authorization: 'Bearer abc' }).ctx));
  assert.equal(r.action === 'reply' && r.reply.code, 'authn.method_not_allowed');
  assert.match(r.action === 'reply' ? (r.reply.detail ?? '') : '', /login session/);
});

test('an explicit bearer token outranks the session cookie', async () => {
  const calls: string[] = [];
  const bearer = { policy: { providers: [], audiences: new Map(), acceptIdTokens: false, maxTokenBytes: 8192 }, deps: { cache: new TokenCache(10), now: () => Date.now() } };
  const filter = createMultiAuthFilter({ bearer, others: [session(calls)], csrf: true });
  const r = await filter.onRequest!(ctxFor('GET', { authorization: 'Bearer opaque-token', cookie: 'cortex_session=x' }).ctx);
  assert.equal(r.action === 'reply' && r.reply.code, 'authn.malformed', 'the bearer path answered');
  assert.deepEqual(calls, [], 'the session was not consulted');
});
