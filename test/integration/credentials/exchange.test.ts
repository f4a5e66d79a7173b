// RFC 8693 token exchange at /.cortex/token against tokens from a real oidc-provider: consent (azp
// or a recorded grant), scope narrowing, lifetime capping, refusals, and the delegated token used
// at routes until it is revoked by jti, by agent or by person.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bearer } from '../../helpers/identity.ts';
import { ACCESS, EXCHANGE, REPORTING_SECRET, payloadOf, startExchangeWorld } from './exchange-setup.ts';
import type { ExchangeWorld } from './exchange-setup.ts';

describe('token exchange', () => {
  let w: ExchangeWorld;
  before(async () => {
    w = await startExchangeWorld();
  });
  after(async () => {
    await w.close();
  });

  const person = (subject: string) => ({ issuer: w.idp.issuer, subject });

  test('a token issued to the agent for bob is consent enough: a delegated token with act, scope and no refresh token', async () => {
    const subject = await w.idp.tokenFor({ sub: 'bob', actor: 'assistant' });
    const { status, body } = await w.exchangeFor(subject);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.issued_token_type, ACCESS);
    assert.equal(body.refresh_token, undefined);
    assert.equal(body.scope, 'orders:create orders:read');
    const claims = payloadOf(body.access_token as string);
    assert.equal(claims.sub, 'bob');
    assert.deepEqual(claims.act, { sub: 'assistant' });
    assert.equal(claims.client_id, 'assistant');
    assert.equal(claims.aud, 'cortex-gateway');
    assert.equal(claims.iss, w.gw.url);
    assert.equal((claims.exp as number) - (claims.iat as number), body.expires_in);
    assert.ok((body.expires_in as number) <= 300);
    assert.equal(typeof claims.jti, 'string');
  });

  test('a token issued to another client needs a recorded grant: refused without, accepted with, refused again once revoked', async () => {
    const subject = await w.idp.tokenFor({ sub: 'carol' });
    const missing = await w.exchangeFor(subject);
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, 'invalid_grant');
    assert.match(missing.body.error_description as string, /carol has not authorized assistant/);

    await w.exchange.grants.grant({ ...person('carol'), agent: 'assistant', createdBy: 'test' });
    const granted = await w.exchangeFor(subject);
    assert.equal(granted.status, 200, JSON.stringify(granted.body));
    assert.equal(granted.body.scope, 'orders:read');

    assert.equal(await w.exchange.grants.revoke(person('carol'), 'assistant'), true);
    const revoked = await w.exchangeFor(subject);
    assert.equal(revoked.status, 400);
    assert.equal(revoked.body.error, 'invalid_grant');
  });

  test('scope is requested ∩ the agent\'s ∩ the person\'s, and a destructive intent is never delegated', async () => {
    await w.exchange.grants.grant({ ...person('alice'), agent: 'assistant', createdBy: 'test' });
    const alice = await w.idp.tokenFor({ sub: 'alice' });
    const all = await w.exchangeFor(alice);
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.equal(all.body.scope, 'orders:create orders:export orders:read', 'admin and agent both hold orders:*, but orders:delete is destructive');

    const bob = await w.idp.tokenFor({ sub: 'bob', actor: 'assistant' });
    const narrowed = await w.exchangeFor(bob, { scope: 'orders:read orders:export orders:delete' });
    assert.equal(narrowed.status, 200);
    assert.equal(narrowed.body.scope, 'orders:read', 'bob holds neither orders:export nor orders:delete');

    const none = await w.exchangeFor(bob, { scope: 'orders:delete' });
    assert.equal(none.status, 400);
    assert.equal(none.body.error, 'invalid_scope');
  });

  test('the lifetime is capped by the user token: one expiring in 60 s gives a delegated token expiring no later', async () => {
    const subject = await w.idp.tokenFor({ sub: 'bob', actor: 'assistant', ttlSeconds: 60 });
    const subjectExp = payloadOf(subject).exp as number;
    const { status, body } = await w.exchangeFor(subject);
    assert.equal(status, 200);
    assert.ok((body.expires_in as number) <= 60, `expires_in ${String(body.expires_in)}`);
    assert.ok((payloadOf(body.access_token as string).exp as number) <= subjectExp);
  });

  test('the delegated token at routes: an intent in scope passes, one outside is 403 naming it', async () => {
    const subject = await w.idp.tokenFor({ sub: 'bob', actor: 'assistant' });
    const token = (await w.exchangeFor(subject, { scope: 'orders:read' })).body.access_token as string;
    const ok = await fetch(`${w.gw.url}/api/orders`, { headers: bearer(token) });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    const out = await fetch(`${w.gw.url}/api/orders`, { method: 'POST', headers: bearer(token) });
    assert.equal(out.status, 403);
    const problem = (await out.json()) as { code: string; detail: string };
    assert.equal(problem.code, 'authz.denied');
    assert.match(problem.detail, /orders:create is not in the scope/);
    const events = await w.gw.audit();
    const used = events.find((e) => e.what.route === 'read' && e.who?.provider === 'cortex');
    assert.equal(used?.who?.kind, 'agent');
    assert.equal(used?.who?.subject, 'assistant');
    assert.deepEqual(used?.who?.onBehalfOf, { subject: 'bob', kind: 'user' });
  });

  // The agent's revocation last: it refuses every token of the agent issued before it.
  for (const [how, sub] of [['jti', 'bob'], ['person', 'user-0001'], ['agent', 'bob']] as const) {
    test(`revoked by ${how}: 401 authn.token_revoked at once, although the token was cached`, async () => {
      const subject = await w.idp.tokenFor({ sub, actor: 'assistant' });
      const token = (await w.exchangeFor(subject)).body.access_token as string;
      const first = await fetch(`${w.gw.url}/api/orders`, { headers: bearer(token) });
      assert.equal(first.status, 200);
      await first.arrayBuffer();
      const c = payloadOf(token);
      const at = (c.iat as number) + 1;
      if (how === 'jti') await w.exchange.revocations.revoke({ kind: 'jti', jti: c.jti as string, exp: c.exp as number });
      else if (how === 'agent') await w.exchange.revocations.revoke({ kind: 'agent', agent: 'assistant', at });
      else await w.exchange.revocations.revoke({ kind: 'person', issuer: w.idp.issuer, subject: sub, at });
      const res = await fetch(`${w.gw.url}/api/orders`, { headers: bearer(token) });
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { code: string }).code, 'authn.token_revoked');
    });
  }

  test('refusals: wrong secret, a service client, an agent token as subject, an unknown grant type', async () => {
    const bob = await w.idp.tokenFor({ sub: 'bob', actor: 'assistant' });
    const wrong = await w.post({ grant_type: EXCHANGE, subject_token: bob, subject_token_type: ACCESS }, { secret: 'not-the-secret-at-all' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, 'invalid_client');
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /);
    assert.equal(wrong.headers.get('cache-control'), 'no-store');

    const service = await w.post({ grant_type: EXCHANGE, subject_token: bob, subject_token_type: ACCESS }, { client: 'reporting', secret: REPORTING_SECRET });
    assert.equal(service.status, 400);
    assert.equal(service.body.error, 'unauthorized_client');

    const delegated = (await w.exchangeFor(bob)).body.access_token as string;
    const again = await w.exchangeFor(delegated);
    assert.equal(again.status, 400);
    assert.equal(again.body.error, 'invalid_grant');

    const serviceToken = await w.idp.serviceToken();
    const noPerson = await w.exchangeFor(serviceToken);
    assert.equal(noPerson.body.error, 'invalid_grant');

    const grant = await w.post({ grant_type: 'client_credentials' });
    assert.equal(grant.body.error, 'unsupported_grant_type');
    const text = JSON.stringify([wrong.body, service.body, again.body, noPerson.body]);
    assert.ok(!text.includes(bob) && !text.includes(delegated), 'no token is echoed');
  });

  test('the agent may authenticate with an actor token its provider issued to it (client credentials)', async () => {
    const actor = await w.idp.serviceToken({ clientId: 'assistant' });
    const bob = await w.idp.tokenFor({ sub: 'bob', actor: 'assistant' });
    const form = (actorToken: string) =>
      fetch(`${w.gw.url}/.cortex/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: EXCHANGE, subject_token: bob, subject_token_type: ACCESS, actor_token: actorToken, actor_token_type: ACCESS }),
      });
    const ok = await form(actor);
    const body = (await ok.json()) as Record<string, unknown>;
    assert.equal(ok.status, 200, JSON.stringify(body));
    assert.deepEqual(payloadOf(body.access_token as string).act, { sub: 'assistant' });
    const byPerson = await form(bob);
    assert.equal(byPerson.status, 401, "a token acting for a person does not authenticate the agent");
    assert.equal(((await byPerson.json()) as { error: string }).error, 'invalid_client');
  });

  test('the audit event records the exchange: person, agent, intents, expiry, jti; or the refusal', async () => {
    const bob = await w.idp.tokenFor({ sub: 'bob', actor: 'assistant' });
    const ok = await w.exchangeFor(bob, { scope: 'orders:read' });
    const jti = payloadOf(ok.body.access_token as string).jti;
    const events = (await w.gw.audit()).filter((e) => e.what.path === '/.cortex/token');
    const granted = events.find((e) => e.exchange?.jti === jti);
    assert.equal(granted?.exchange?.agent, 'assistant');
    assert.deepEqual(granted?.exchange?.person, { issuer: w.idp.issuer, subject: 'bob' });
    assert.deepEqual(granted?.exchange?.intents, ['orders:read']);
    assert.equal(granted?.exchange?.consent, 'azp');
    assert.equal(typeof granted?.exchange?.expiresAt, 'string');
    const refused = events.find((e) => e.exchange?.refused === 'invalid_client');
    assert.equal(refused?.outcome.code, 'credentials.exchange_refused');
    assert.equal(refused?.outcome.status, 401);
    assert.equal(granted?.outcome.code, 'ok');
    assert.ok(!JSON.stringify(events).includes(bob), 'no token in the audit trail');
  });
});
