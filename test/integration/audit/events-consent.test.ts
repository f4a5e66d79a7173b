// Delegation changes as system audit events, from a real gateway with browser sessions through the
// dev IdP: a person allowing and withdrawing an agent on /.cortex/consent (agent_grant_created /
// agent_grant_revoked, who being that person), and an operator's revocation
// through the admin API (token_revoked beside its admin_call).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startIdpHost } from '../../../src/dev/idp/index.ts';
import type { IdpHost } from '../../../src/dev/idp/index.ts';
import { ADMIN_TOKEN } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { send } from '../../helpers/gateway-checks.ts';
import { Agent, login, reservePort, SECRET_A, startSessionGateway } from '../session/flow-kit.ts';
import { systemEvents, waitSystem } from './events-kit.ts';

const PAGE = '/.cortex/consent';

describe('delegation changes are audited', () => {
  let idp: IdpHost;
  let gw: TestGateway;
  let dir: string;
  let origin: string;

  before(async () => {
    const port = await reservePort();
    origin = `http://127.0.0.1:${port}`;
    idp = await startIdpHost({ host: '127.0.0.1', port: 0, webRedirectUris: [`${origin}/.cortex/callback`], postLogoutRedirectUris: [`${origin}/`] });
    dir = mkdtempSync(join(tmpdir(), 'cortex-audit-consent-'));
    gw = await startSessionGateway(port, [
      'identity:',
      '  providers:',
      '    dev:',
      `      issuer: ${idp.issuer}`,
      '      audiences: [cortex-gateway]',
      '      agents: { assistant: { roles: [agent] } }',
      '  sessions:',
      '    provider: dev',
      '    clientId: cortex-web',
      `    clientSecret: ${idp.clients['cortex-web']?.clientSecret ?? ''}`,
      `    redirectUri: ${origin}/.cortex/callback`,
      `    secrets: [${SECRET_A}]`,
      '    cookie: { secure: false }',
      'credentials:',
      '  tokenExchange:',
      '    clients:',
      '      assistant: { secret: assistant-secret-0123456789 }',
      `    grants: { type: sqlite, path: ${JSON.stringify(join(dir, 'grants.db'))} }`,
      'upstreams:\n  up: { url: "http://127.0.0.1:9" }',
      'routes:',
      '  app: { match: { prefix: /app/ }, upstream: up, auth: session }',
    ], dir);
  });

  after(async () => {
    await gw?.close();
    await idp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('bob allows the assistant and withdraws it: agent_grant_created and agent_grant_revoked, by bob', async () => {
    const bob = new Agent();
    await login(bob, gw.url, 'bob', PAGE);
    const post = (body: string) => bob.request(`${gw.url}${PAGE}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin }, body });
    assert.equal((await post('action=grant&agent=assistant')).status, 303);
    assert.equal((await post('action=revoke&agent=assistant')).status, 303);

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
