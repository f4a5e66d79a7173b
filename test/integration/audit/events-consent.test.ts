// Delegation changes as system audit events, from a real gateway with browser sessions through the
// dev IdP: a person allowing and withdrawing an agent on /.cortex/consent (agent_grant_created /
// agent_grant_revoked, who being that person), and an operator's revocation
// through the admin API (token_revoked beside its admin_call).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CONSENT_PAGE, startConsentGateway } from '../../helpers/consent-gateway.ts';
import type { ConsentGateway } from '../../helpers/consent-gateway.ts';
import { ADMIN_TOKEN } from '../../helpers/gateway.ts';
import { send } from '../../helpers/gateway-checks.ts';
import { Agent, login } from '../session/flow-kit.ts';
import { systemEvents, waitSystem } from './events-kit.ts';

describe('delegation changes are audited', () => {
  let consent: ConsentGateway;

  before(async () => {
    consent = await startConsentGateway(['assistant']);
  });

  after(() => consent?.close());

  test('bob allows the assistant and withdraws it: agent_grant_created and agent_grant_revoked, by bob', async () => {
    const { gw, idp, post } = consent;
    const bob = new Agent();
    await login(bob, gw.url, 'bob', CONSENT_PAGE);
    assert.equal((await post(bob, 'action=grant&agent=assistant')).status, 303);
    assert.equal((await post(bob, 'action=revoke&agent=assistant')).status, 303);

    const person = { issuer: idp.issuer, subject: 'bob' };
    const [created] = await waitSystem(gw, 'agent_grant_created');
    assert.equal(created?.who?.subject, 'bob');
    assert.equal(created?.who?.method, 'session');
    assert.deepEqual({ ...created?.details, requestId: undefined }, { agent: 'assistant', person, createdBy: 'self', requestId: undefined });
    assert.deepEqual(created?.outcome, { status: 303, code: 'ok' });
    const [revoked] = await waitSystem(gw, 'agent_grant_revoked');
    assert.equal(revoked?.who?.subject, 'bob');
    assert.equal(revoked?.details.agent, 'assistant');
    assert.equal(revoked?.details.tokensRevoked, true);
    assert.notEqual(revoked?.details.requestId, created?.details.requestId);
  });

  test('a revocation through the admin API is token_revoked, by the admin token holder', async () => {
    const { gw } = consent;
    const reply = await send(`${gw.adminUrl}/api/revocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'agent', agent: 'assistant' }),
    });
    assert.equal(reply.status, 200, reply.body);
    const [event] = await waitSystem(gw, 'token_revoked');
    assert.equal(event?.who?.subject, 'admin-token');
    assert.equal(event?.details.kind, 'agent');
    assert.equal(event?.details.agent, 'assistant');
    assert.equal(typeof event?.details.at, 'number');
    const calls = await systemEvents(gw, 'admin_call');
    assert.ok(calls.some((e) => e.details.path === '/api/revocations' && e.details.method === 'POST' && e.outcome.status === 200), JSON.stringify(calls));
  });
});
