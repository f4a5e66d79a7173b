// GET /api/keys and /api/agents end to end: a real gateway with token exchange and a real IdP. The
// key ring is listed without private material; a grant recorded by an admin lets the agent act
// for the person, and withdrawing it ends the agent's live tokens too, with both changes in the trail.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_TOKEN, startTestGateway } from '../../helpers/gateway.ts';
import { assertProblem, send } from '../../helpers/gateway-checks.ts';
import { bearer } from '../../helpers/identity.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import { waitSystem } from '../audit/events-kit.ts';
import { startExchangeWorld } from '../credentials/exchange-setup.ts';
import type { ExchangeWorld } from '../credentials/exchange-setup.ts';

const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
const JSON_AUTH = { ...AUTH, 'content-type': 'application/json' };

interface GrantView {
  issuer: string;
  subject: string;
  agent: string;
  createdAt: string;
  expiresAt: string | null;
  expired: boolean;
  createdBy: string;
}

describe('GET /api/keys, /api/agents', () => {
  let w: ExchangeWorld;
  before(async () => {
    w = await startExchangeWorld();
  });
  after(async () => {
    await w.close();
  });

  test('/api/keys lists the ring: public facts only, never a private member', async () => {
    assertProblem(await send(`${w.gw.adminUrl}/api/keys`), 401, 'admin.unauthorized');
    const reply = await send(`${w.gw.adminUrl}/api/keys`, { headers: AUTH });
    assert.equal(reply.status, 200, reply.body);
    const { keys } = JSON.parse(reply.body) as { keys: Record<string, unknown>[] };
    const ring = w.gw.runtime.gateway.credentials.ring?.list() ?? [];
    assert.ok(ring.length > 0);
    assert.deepEqual(keys.map((k) => k.kid).sort(), ring.map((k) => k.kid).sort());
    const active = keys.find((k) => k.state === 'active');
    assert.ok(active, 'an active key');
    assert.equal(active.kid, w.gw.runtime.gateway.credentials.ring?.signer().kid);
    for (const k of keys) {
      assert.deepEqual(Object.keys(k).sort(), ['activatesAt', 'ageSeconds', 'alg', 'createdAt', 'kid', 'published', 'retiresAt', 'state']);
      assert.equal(typeof k.ageSeconds, 'number');
      assert.ok(!Number.isNaN(Date.parse(k.createdAt as string)));
    }
    assert.doesNotMatch(reply.body, /"(d|p|q|dp|dq|qi|privateKey|sealed|pem)"/, 'no private member');
    assert.doesNotMatch(reply.body, /PRIVATE KEY/);
  });

  test('grant → list → revoke: the agent acts for the person only while the grant stands', async () => {
    const alice = await w.idp.tokenFor({ sub: 'alice' });
    assert.equal((await w.exchangeFor(alice)).status, 400, 'no grant yet');

    const refused = await send(`${w.gw.adminUrl}/api/agents`, { method: 'POST', headers: JSON_AUTH, body: JSON.stringify({ subject: 'alice', agent: 'nobody' }) });
    assertProblem(refused, 400, 'request.malformed');

    const created = await send(`${w.gw.adminUrl}/api/agents`, { method: 'POST', headers: JSON_AUTH, body: JSON.stringify({ subject: 'alice', agent: 'assistant' }) });
    assert.equal(created.status, 201, created.body);
    const { grant } = JSON.parse(created.body) as { grant: GrantView };
    assert.equal(grant.issuer, w.idp.issuer, 'the only provider\'s issuer by default');
    assert.equal(grant.createdBy, 'admin:admin-token');
    assert.equal(grant.expiresAt, null);

    const listed = await send(`${w.gw.adminUrl}/api/agents?user=alice&agent=assistant`, { headers: AUTH });
    assert.equal(listed.status, 200, listed.body);
    const { grants } = JSON.parse(listed.body) as { grants: GrantView[] };
    assert.deepEqual(grants.map((g) => [g.subject, g.agent, g.expired]), [['alice', 'assistant', false]]);
    const none = JSON.parse((await send(`${w.gw.adminUrl}/api/agents?user=nobody`, { headers: AUTH })).body) as { grants: GrantView[] };
    assert.deepEqual(none.grants, []);

    const exchanged = await w.exchangeFor(alice);
    assert.equal(exchanged.status, 200, JSON.stringify(exchanged.body));
    const delegated = exchanged.body.access_token as string;
    assert.equal((await send(`${w.gw.url}/api/orders`, { headers: bearer(delegated) })).status, 200, 'the agent acts for alice');

    const revoked = await send(`${w.gw.adminUrl}/api/agents/assistant?subject=alice`, { method: 'DELETE', headers: AUTH });
    assert.equal(revoked.status, 200, revoked.body);
    assert.deepEqual(JSON.parse(revoked.body), { revoked: { agent: 'assistant', issuer: w.idp.issuer, subject: 'alice' }, tokensRevoked: true });
    assert.equal((await send(`${w.gw.url}/api/orders`, { headers: bearer(delegated) })).status, 401, 'the live delegated token is revoked');
    assert.equal((await w.exchangeFor(alice)).status, 400, 'no new token without the grant');
    assertProblem(await send(`${w.gw.adminUrl}/api/agents/assistant?subject=alice`, { method: 'DELETE', headers: AUTH }), 404, 'admin.not_found');

    const [createdEvent] = await waitSystem(w.gw, 'agent_grant_created');
    assert.equal(createdEvent?.who?.subject, 'admin-token');
    assert.deepEqual(createdEvent?.details.person, { issuer: w.idp.issuer, subject: 'alice' });
    assert.equal(createdEvent?.details.agent, 'assistant');
    const [revokedEvent] = await waitSystem(w.gw, 'agent_grant_revoked');
    assert.equal(revokedEvent?.who?.subject, 'admin-token');
    assert.equal(revokedEvent?.details.tokensRevoked, true);
    assert.equal(revokedEvent?.outcome.status, 200);
  });

  test('an expiring grant is shown with its expiry; a past expiry is refused', async () => {
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const created = await send(`${w.gw.adminUrl}/api/agents`, { method: 'POST', headers: JSON_AUTH, body: JSON.stringify({ subject: 'bob', agent: 'assistant', expiresAt: until, issuer: `${w.idp.issuer}/` }) });
    assert.equal(created.status, 201, created.body);
    assert.equal((JSON.parse(created.body) as { grant: GrantView }).grant.expiresAt, until);
    const past = await send(`${w.gw.adminUrl}/api/agents`, { method: 'POST', headers: JSON_AUTH, body: JSON.stringify({ subject: 'bob', agent: 'assistant', expiresAt: '2001-01-01T00:00:00Z' }) });
    assertProblem(past, 400, 'request.malformed');
  });
});

test('/api/agents answers 404 when token exchange is not configured', async () => {
  const upstream = await startUpstream();
  const gw = await startTestGateway(`upstreams:\n  up: { url: "${upstream.url}" }\nroutes:\n  all: { match: { prefix: / }, upstream: up, auth: none }`).catch(async (err: unknown) => {
    await upstream.close();
    throw err;
  });
  try {
    assertProblem(await send(`${gw.adminUrl}/api/agents`, { headers: AUTH }), 404, 'admin.not_found');
    assertProblem(await send(`${gw.adminUrl}/api/agents/assistant?subject=alice`, { method: 'DELETE', headers: AUTH }), 404, 'admin.not_found');
    const keys = await send(`${gw.adminUrl}/api/keys`, { headers: AUTH });
    assert.equal(keys.status, 200, 'the ring exists without token exchange');
  } finally {
    await gw.close();
    await upstream.close();
  }
});
