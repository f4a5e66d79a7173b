// System audit events from a real gateway, read back from its JSON-lines sink: config reloads
// (applied and rejected), a signing key rotation, every admin API call with who made it, API keys
// created and revoked through the admin API; and the username in request events (the issuer's
// preferred_username for its subject, on the person and never on the agent acting for them).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ADMIN_TOKEN, startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { auditFor, header, send } from '../../helpers/gateway-checks.ts';
import { bearer, providerYaml, waitIdentityReady } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { allEvents, systemEvents, waitSystem } from './events-kit.ts';

const HMAC_SECRET = 'events-test-hmac-secret-0123456789abcdef';

describe('system audit events', () => {
  let idp: TestIdp;
  let upstream: TestUpstream;
  let gw: TestGateway;
  let dir: string;
  let body: (routes: string) => string;
  const ROUTES = '  api: { match: { prefix: /api/ }, upstream: up }';
  const admin = (path: string, init: { method?: 'GET' | 'POST' | 'DELETE'; body?: string; token?: string } = {}) =>
    send(`${gw.adminUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.token ?? ADMIN_TOKEN}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: init.body }),
    });

  before(async () => {
    idp = await startTestIdp();
    upstream = await startUpstream();
    dir = mkdtempSync(join(tmpdir(), 'cortex-audit-events-'));
    body = (routes) =>
      [
        'identity:',
        '  providers:',
        providerYaml('dev', idp),
        '  apiKeys:',
        `    store: { type: sqlite, path: ${JSON.stringify(join(dir, 'keys.db'))} }`,
        `    hmacSecret: ${HMAC_SECRET}`,
        `upstreams:\n  up: { url: "${upstream.url}" }`,
        'routes:',
        routes,
      ].join('\n');
    gw = await startTestGateway(body(ROUTES), { dir });
    await waitIdentityReady(gw);
  });

  after(async () => {
    await gw?.close();
    await upstream?.close();
    await idp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an applied reload and a rejected one are config_reload events, made by the gateway (who: null)', async () => {
    const ok = gw.rewrite(body(`${ROUTES}\n  more: { match: { prefix: /more/ }, upstream: up }`));
    assert.ok(ok.ok);
    const bad = gw.rewrite(body('  broken: { match: { prefix: /x/ }, upstream: nowhere }'));
    assert.equal(bad.ok, false);
    const events = await waitSystem(gw, 'config_reload', 2);
    const applied = events.find((e) => e.outcome.code === 'ok');
    const rejected = events.find((e) => e.outcome.code === 'rejected');
    assert.ok(applied && rejected, JSON.stringify(events));
    assert.deepEqual(applied.details, { generation: ok.generation });
    assert.equal(applied.outcome.status, 200);
    assert.equal(applied.who, null);
    assert.equal(rejected.outcome.status, 422);
    assert.equal(rejected.details.servingGeneration, ok.generation, 'the config that keeps serving');
    assert.ok((rejected.details.problems as number) >= 1);
    for (const e of events) {
      assert.equal(e.v, 1);
      assert.equal(e.type, 'system');
      assert.equal(e.stage, gw.runtime.gateway.current().stage);
      assert.match(e.id, /^[0-9a-f-]{36}$/);
      assert.ok(!Number.isNaN(Date.parse(e.time)));
    }
  });

  test('a rotation of the signing key is a key_rotation event naming the new and the previous kid', async () => {
    const ring = await gw.runtime.gateway.credentials.ready();
    const before = ring.signer().kid;
    await ring.rotateNow();
    const after = ring.signer();
    assert.notEqual(after.kid, before);
    const [event] = await waitSystem(gw, 'key_rotation');
    assert.deepEqual(event?.details, { kid: after.kid, alg: after.alg, previousKid: before });
    assert.equal(event?.who, null);
    assert.deepEqual(event?.outcome, { status: 200, code: 'ok' });
  });

  test('every admin API call is an admin_call, with the admin token holder as who, no query values but plain ones', async () => {
    const status = await admin('/api/status?token=sekrit-value-42&limit=5');
    assert.equal(status.status, 200);
    const refused = await admin('/api/routes', { token: 'not-the-admin-token' });
    assert.equal(refused.status, 401);
    const calls = await waitSystem(gw, 'admin_call', 2);
    const ok = calls.find((e) => e.details.path === '/api/status');
    assert.ok(ok, JSON.stringify(calls));
    assert.equal(ok.who?.subject, 'admin-token');
    assert.equal(ok.who?.kind, 'admin');
    assert.equal(ok.details.method, 'GET');
    assert.equal(ok.details.requestId, header(status, 'x-request-id'));
    assert.deepEqual(ok.details.query, { token: '[redacted]', limit: '5' });
    assert.deepEqual(ok.outcome, { status: 200, code: 'ok' });
    const denied = calls.find((e) => e.details.path === '/api/routes');
    assert.ok(denied, JSON.stringify(calls));
    assert.equal(denied.who, null, 'a wrong token is nobody');
    assert.deepEqual(denied.outcome, { status: 401, code: 'admin.unauthorized' });
    const text = JSON.stringify(await allEvents(gw));
    assert.ok(!text.includes('sekrit-value-42'), 'a query value is never recorded');
    assert.ok(!text.includes('not-the-admin-token') && !text.includes(ADMIN_TOKEN), 'no bearer token is recorded');
    const probes = (await systemEvents(gw, 'admin_call')).filter((e) => !String(e.details.path).startsWith('/api'));
    assert.deepEqual(probes, [], 'health, readiness and metrics probes are not admin calls');
  });

  test('an API key created and revoked through the admin API: api_key_created / api_key_revoked beside the admin_call, never the key', async () => {
    const created = await admin('/api/api-keys', { method: 'POST', body: JSON.stringify({ kind: 'service', subject: 'payments', roles: ['payer'], description: 'CI' }) });
    assert.equal(created.status, 201, created.body);
    const { key, keyId } = JSON.parse(created.body) as { key: string; keyId: string };
    const revoked = await admin(`/api/api-keys/${keyId}`, { method: 'DELETE' });
    assert.equal(revoked.status, 200, revoked.body);

    const [made] = await waitSystem(gw, 'api_key_created');
    assert.equal(made?.who?.subject, 'admin-token');
    assert.deepEqual(made?.details, { keyId, kind: 'service', subject: 'payments', roles: ['payer'], requestId: header(created, 'x-request-id') });
    assert.deepEqual(made?.outcome, { status: 201, code: 'ok' });
    const [gone] = await waitSystem(gw, 'api_key_revoked');
    assert.equal(gone?.who?.subject, 'admin-token');
    assert.deepEqual(gone?.details, { keyId, alreadyRevoked: false, requestId: header(revoked, 'x-request-id') });
    const calls = await systemEvents(gw, 'admin_call');
    assert.ok(calls.some((e) => e.details.method === 'POST' && e.details.path === '/api/api-keys' && e.outcome.status === 201));
    assert.ok(calls.some((e) => e.details.method === 'DELETE' && e.details.path === `/api/api-keys/${keyId}` && e.outcome.status === 200));
    const text = JSON.stringify(await allEvents(gw));
    assert.ok(!text.includes(key) && !text.includes(key.slice(-20)), 'the API key never reaches the audit trail');
  });

  test("request events carry the person's username; an agent's token gives it to onBehalfOf, not to the agent", async () => {
    const person = await send(`${gw.url}/api/mine`, { headers: bearer(await idp.tokenFor({ sub: 'alice', claims: { preferred_username: 'alice.smith' } })) });
    assert.equal(person.status, 200, person.body);
    const mine = await auditFor(gw, String(header(person, 'x-request-id')), 'ok');
    assert.equal(mine.who?.subject, 'alice');
    assert.equal(mine.who?.username, 'alice.smith');

    const agentToken = await idp.tokenFor({ sub: 'alice', actor: 'assistant', claims: { preferred_username: 'alice.smith' } });
    const agent = await send(`${gw.url}/api/for-alice`, { headers: bearer(agentToken) });
    assert.equal(agent.status, 200, agent.body);
    const acting = await auditFor(gw, String(header(agent, 'x-request-id')), 'ok');
    assert.equal(acting.who?.subject, 'assistant');
    assert.equal(acting.who?.kind, 'agent');
    assert.equal(acting.who?.username, undefined, "the person's name is not the agent's");
    assert.deepEqual(acting.who?.onBehalfOf, { subject: 'alice', kind: 'user', username: 'alice.smith' });

    // preferred_username: null leaves out the one the dev identity provider adds.
    const cognito = await send(`${gw.url}/api/c`, { headers: bearer(await idp.tokenFor({ sub: 'bob', claims: { preferred_username: null, username: 'bob-c', email: 'bob@example.com' } })) });
    assert.equal((await auditFor(gw, String(header(cognito, 'x-request-id')), 'ok')).who?.username, 'bob-c', 'username before email');
    const mailOnly = await send(`${gw.url}/api/m`, { headers: bearer(await idp.tokenFor({ sub: 'carol', claims: { preferred_username: null, email: 'carol@example.com' } })) });
    assert.equal((await auditFor(gw, String(header(mailOnly, 'x-request-id')), 'ok')).who?.username, 'carol@example.com', 'an email only when it is all there is');
  });
});
