// /.cortex/consent over real HTTP: a person signed in through the dev IdP (browser session) sees
// their grants to agents, allows a configured agent and withdraws it; form posts from another site
// are refused; what one person grants is invisible to another; withdrawing revokes the agent's
// delegated tokens for that person at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { IdpHost } from '../../../src/dev/idp/index.ts';
import type { AgentGrantStore, RevocationStore } from '../../../src/credentials/types.ts';
import { CONSENT_PAGE as PAGE, startConsentGateway } from '../../helpers/consent-gateway.ts';
import type { ConsentGateway } from '../../helpers/consent-gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { Agent, login } from '../session/flow-kit.ts';

describe('the consent page', () => {
  let consent: ConsentGateway;
  let idp: IdpHost;
  let gw: TestGateway;
  let grants: AgentGrantStore;
  let revocations: RevocationStore;

  before(async () => {
    consent = await startConsentGateway(['assistant', 'planner']);
    ({ idp, gw } = consent);
    const exchange = gw.runtime.gateway.exchange;
    assert.ok(exchange, 'token exchange is configured');
    ({ grants, revocations } = exchange);
  });

  after(() => consent?.close());

  const post = (agent: Agent, body: string, headers?: Record<string, string>) => consent.post(agent, body, headers);

  test('without a session, the page sends the browser to log in and back', async () => {
    const hop = await new Agent().request(`${gw.url}${PAGE}?agent=assistant`);
    assert.equal(hop.status, 302);
    assert.equal(hop.location, `${gw.url}/.cortex/login?return=${encodeURIComponent(`${PAGE}?agent=assistant`)}`);
    const refused = await post(new Agent(), 'action=grant&agent=assistant');
    assert.equal(refused.status, 401);
    assert.equal((JSON.parse(refused.body) as { code: string }).code, 'authn.session_invalid');
  });

  test('bob allows the assistant, sees it listed, and withdraws it; the store and revocations follow', async () => {
    const bob = new Agent();
    await login(bob, gw.url, 'bob', PAGE);
    const empty = await bob.request(`${gw.url}${PAGE}`);
    assert.equal(empty.status, 200);
    assert.match(empty.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(empty.body, /No agent may act for you/);

    const ask = await bob.request(`${gw.url}${PAGE}?agent=assistant`);
    assert.match(ask.body, /Allow <code>assistant<\/code> to act for you\?/);
    assert.match(ask.body, /<input type="hidden" name="action" value="grant"><input type="hidden" name="agent" value="assistant">/);

    const granted = await post(bob, 'action=grant&agent=assistant');
    assert.equal(granted.status, 303);
    assert.equal(granted.location, `${gw.url}${PAGE}`);
    const person = { issuer: idp.issuer, subject: 'bob' };
    assert.equal(await grants.has(person, 'assistant', Date.now()), true);
    assert.equal((await grants.list(person))[0]?.createdBy, 'self');
    const listed = await bob.request(`${gw.url}${PAGE}`);
    assert.match(listed.body, /<td><code>assistant<\/code><\/td>/);
    assert.match(listed.body, /value="revoke"><input type="hidden" name="agent" value="assistant"><button type="submit">Withdraw/);
    assert.match((await bob.request(`${gw.url}${PAGE}?agent=assistant`)).body, /may already act for you/);

    const issuedBefore = { jti: 'live-token', agent: 'assistant', ...person, iat: Math.floor(Date.now() / 1000) - 5 };
    assert.equal(revocations.isRevoked(issuedBefore), false);
    const withdrawn = await post(bob, 'action=revoke&agent=assistant', { 'sec-fetch-site': 'same-origin' });
    assert.equal(withdrawn.status, 303);
    assert.equal(await grants.has(person, 'assistant', Date.now()), false);
    assert.equal(revocations.isRevoked(issuedBefore), true, "the assistant's tokens for bob are revoked");
    assert.equal(revocations.isRevoked({ ...issuedBefore, agent: 'planner' }), false, "another agent's are not");
    assert.match((await bob.request(`${gw.url}${PAGE}`)).body, /No agent may act for you/);
  });

  test('a form post from another site is refused, and changes nothing', async () => {
    const carol = new Agent();
    await login(carol, gw.url, 'carol', PAGE);
    const attempts: Record<string, string>[] = [{ origin: 'http://evil.test' }, { 'sec-fetch-site': 'cross-site' }, { origin: 'null' }];
    for (const headers of attempts) {
      const hop = await post(carol, 'action=grant&agent=assistant', headers);
      assert.equal(hop.status, 403, JSON.stringify(headers));
      assert.equal((JSON.parse(hop.body) as { code: string }).code, 'authn.csrf_rejected');
    }
    assert.equal(await grants.has({ issuer: idp.issuer, subject: 'carol' }, 'assistant', Date.now()), false);
  });

  test('only configured agent clients can be allowed; an unknown name is shown escaped', async () => {
    const alice = new Agent();
    await login(alice, gw.url, 'alice', PAGE);
    const odd = await alice.request(`${gw.url}${PAGE}?agent=${encodeURIComponent('<img src=x onerror=alert(1)>')}`);
    assert.equal(odd.status, 200);
    assert.ok(!odd.body.includes('<img'), 'the agent name is escaped');
    assert.match(odd.body, /There is no agent <code>&lt;img src=x onerror=alert\(1\)&gt;<\/code> here/);
    const refused = await post(alice, 'action=grant&agent=stranger');
    assert.equal(refused.status, 400);
    assert.equal((await grants.list({ subject: 'alice' })).length, 0);
    const bad = await post(alice, 'action=explode&agent=assistant');
    assert.equal(bad.status, 400);
  });

  test("one person's grants are not another's", async () => {
    const bob = new Agent();
    await login(bob, gw.url, 'bob', PAGE);
    assert.equal((await post(bob, 'action=grant&agent=planner')).status, 303);
    const alice = new Agent();
    await login(alice, gw.url, 'alice', PAGE);
    const page = await alice.request(`${gw.url}${PAGE}`);
    assert.match(page.body, /No agent may act for you/);
    assert.ok(!page.body.includes('planner'));
    assert.equal(await grants.has({ issuer: idp.issuer, subject: 'alice' }, 'planner', Date.now()), false);
  });
});
