// Authorization through the real gateway: grants compiled to Cedar decide each request; a deny is
// 403 authz.denied naming the missing intent, nothing reaches the upstream, and the audit event
// records the decision and the policies behind it. Shadow mode decides and lets through.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertProblem, auditFor, send } from '../../helpers/gateway-checks.ts';
import { bearer, providerYaml, startIdentityGateway } from '../../helpers/identity.ts';
import type { IdentityGateway } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';

const ROLES = ['roles: { claim: groups, map: { admins: [admin], customers: [customer], support: [support] } }', 'agents: { assistant: { roles: [agent] } }'];

const ROUTES = [
  '  list: { match: { methods: [GET], path: /orders }, upstream: up, intent: "orders:read" }',
  '  remove: { match: { methods: [DELETE], path: "/orders/{id}" }, upstream: up, intent: "orders:delete", tags: [destructive] }',
  '  trial: { match: { methods: [POST], path: /orders }, upstream: up, intent: "orders:create", policyMode: shadow }',
  '  nameless: { match: { path: /nameless }, upstream: up }',
  '  health: { match: { path: /health }, upstream: up, auth: none }',
].join('\n');

const POLICY = [
  'policy:',
  '  grants:',
  '    admin: ["orders:*"]',
  '    customer: ["orders:read"]',
  '    agent: ["orders:read", "orders:delete"]',
].join('\n');

let idp: TestIdp;
let g: IdentityGateway;

before(async () => {
  idp = await startTestIdp();
  g = await startIdentityGateway(providerYaml('dev', idp, ROLES), ROUTES, POLICY);
});
after(async () => {
  await g?.close();
  await idp?.close();
});

async function call(method: 'GET' | 'DELETE' | 'POST', path: string, token?: string) {
  const before = g.upstream.requests.length;
  const reply = await send(`${g.gw.url}${path}`, { method, headers: token === undefined ? {} : bearer(token) });
  return { reply, reached: g.upstream.requests.length - before };
}

describe('grants decide, per role', () => {
  test('a role that holds the intent is let through, and the audit names the grant that allowed it', async () => {
    const { reply, reached } = await call('DELETE', '/orders/ord_1', await idp.tokenFor({ sub: 'alice' }));
    assert.equal(reply.status, 200);
    assert.equal(reached, 1);
    const event = await auditFor(g.gw, String(reply.headers['x-request-id']), 'ok');
    assert.deepEqual(event.decision, { allow: true, mode: 'enforce', policyIds: ['grant:admin:orders:*'], reason: 'ok' });
    assert.equal(event.what.intent, 'orders:delete');
  });

  test('a role without it gets 403 authz.denied naming the intent, and nothing reaches the upstream', async () => {
    const { reply, reached } = await call('DELETE', '/orders/ord_1', await idp.tokenFor({ sub: 'bob' }));
    const id = assertProblem(reply, 403, 'authz.denied');
    assert.match((JSON.parse(reply.body) as { detail: string }).detail, /orders:delete/);
    assert.doesNotMatch(reply.body, /permit|forbid|principal/, 'no policy text in the reply');
    assert.equal(reached, 0);
    const event = await auditFor(g.gw, id, 'authz.denied');
    assert.equal(event.decision?.allow, false);
    assert.equal(event.who?.subject, 'bob');
  });

  test('bob may read', async () => {
    const { reply, reached } = await call('GET', '/orders', await idp.tokenFor({ sub: 'bob' }));
    assert.equal(reply.status, 200);
    assert.equal(reached, 1);
  });
});

describe('agents', () => {
  test('an agent acting for bob may read (both hold orders:read)', async () => {
    const { reply } = await call('GET', '/orders', await idp.tokenFor({ sub: 'bob', actor: 'assistant' }));
    assert.equal(reply.status, 200);
  });

  test('an agent acting for bob may not delete: bob does not hold it, and destructive intents need a person', async () => {
    const { reply, reached } = await call('DELETE', '/orders/ord_1', await idp.tokenFor({ sub: 'bob', actor: 'assistant' }));
    assertProblem(reply, 403, 'authz.denied');
    assert.equal(reached, 0);
  });

  test('an agent acting for alice may not delete either, although both hold it: destructive needs a person', async () => {
    const { reply, reached } = await call('DELETE', '/orders/ord_1', await idp.tokenFor({ sub: 'alice', actor: 'assistant' }));
    const id = assertProblem(reply, 403, 'authz.denied');
    assert.equal(reached, 0);
    const event = await auditFor(g.gw, id, 'authz.denied');
    assert.deepEqual(event.decision?.policyIds, ['agent-forbid:destructive']);
  });
});

describe('modes and gaps', () => {
  test('shadow mode decides and records a deny, and lets the request through', async () => {
    const { reply, reached } = await call('POST', '/orders', await idp.tokenFor({ sub: 'bob' }));
    assert.equal(reply.status, 200);
    assert.equal(reached, 1);
    const event = await auditFor(g.gw, String(reply.headers['x-request-id']), 'ok');
    assert.equal(event.decision?.allow, false);
    assert.equal(event.decision?.mode, 'shadow');
  });

  test('an authenticated route without an intent is closed (authz.no_intent), never silently open', async () => {
    const { reply, reached } = await call('GET', '/nameless', await idp.tokenFor({ sub: 'alice' }));
    assertProblem(reply, 403, 'authz.no_intent');
    assert.equal(reached, 0);
  });

  test('a public route without an intent stays public', async () => {
    const { reply } = await call('GET', '/health');
    assert.equal(reply.status, 200);
  });

  test('authentication still comes first: no token is 401, not 403', async () => {
    const { reply } = await call('DELETE', '/orders/ord_1');
    assertProblem(reply, 401, 'authn.missing');
  });
});

test('a repeated decision comes from the decision cache, and /metrics says so', async () => {
  const metric = async (result: string): Promise<number> => {
    const body = (await send(`${g.gw.adminUrl}/metrics`)).body;
    const line = body.split('\n').find((l) => l.startsWith(`cortex_decision_cache_lookups_total{result="${result}"}`));
    return Number(line?.split(' ').at(-1) ?? 0);
  };
  const token = await idp.tokenFor({ sub: 'carol', claims: { groups: ['customers'] } });
  await call('GET', '/orders', token);
  const hitsBefore = await metric('hit');
  const missesBefore = await metric('miss');
  assert.equal((await call('GET', '/orders', token)).reply.status, 200);
  assert.equal((await call('GET', '/orders', await idp.tokenFor({ sub: 'bob' }))).reply.status, 200, 'another customer: the same inputs');
  assert.equal(await metric('hit'), hitsBefore + 2);
  assert.equal(await metric('miss'), missesBefore);
});
