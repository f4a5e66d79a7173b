// Ownership through the real gateway: the orders route looks each order's owner up in a real
// attribute server, and the demo's Cedar rules (src/dev/policies/orders.cedar) compare it with the
// caller. bob reads his own orders only, support reads all, an agent acting for bob reads only
// bob's; a failed lookup denies with authz.attribute_unavailable and nothing reaches the upstream;
// a 404 from the source leaves the owner absent, so the grants decide (bob is let through, and the
// upstream answers for the order that does not exist).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRuntime } from '../../../src/cli/run-gateway.ts';
import type { Runtime } from '../../../src/cli/run-gateway.ts';
import { DEV_POLICY_FILE, devConfigText } from '../../../src/dev/config.ts';
import { startOrdersApi } from '../../../src/dev/orders-api.ts';
import type { OrdersApi } from '../../../src/dev/orders-api.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { assertProblem, auditFor, eventually, send } from '../../helpers/gateway-checks.ts';
import { bearer, providerYaml, startIdentityGateway } from '../../helpers/identity.ts';
import type { IdentityGateway } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';

const ROLES = ['roles: { claim: groups, map: { admins: [admin], customers: [customer], support: [support] } }', 'agents: { assistant: { roles: [agent] } }'];
const OWNERS: Record<string, string> = { ord_bob: 'bob', ord_alice: 'alice', ord_cached: 'bob' };

let idp: TestIdp;
let g: IdentityGateway;
let attrs: http.Server;
const lookups: string[] = [];

function serveAttributes(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = req.url ?? '';
  lookups.push(path);
  const id = path.replace(/^\/orders\//, '');
  const reply = (status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  };
  if (id === 'ord_broken') return reply(500, '{"owner":"bob"}');
  if (id === 'ord_garbled') return reply(200, '{"owner": "bo');
  if (id === 'ord_ownerless') return reply(200, '{"item":"desk"}');
  if (id === 'ord_slow') return; // never answers: the route's timeoutMs runs out
  const owner = OWNERS[id];
  if (owner === undefined) return reply(404, '{"code":"orders.not_found"}');
  reply(200, JSON.stringify({ id, owner, item: 'Standing desk' }));
}

async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

before(async () => {
  attrs = http.createServer(serveAttributes);
  await new Promise<void>((resolve) => attrs.listen(0, '127.0.0.1', resolve));
  const source = `http://127.0.0.1:${(attrs.address() as AddressInfo).port}`;
  const down = `http://127.0.0.1:${await deadPort()}`;
  const routes = [
    `  read: { match: { methods: [GET], path: "/orders/{id}" }, upstream: up, intent: "orders:read", resource: { attributes: { url: "${source}/orders/{id}", pick: { owner: owner }, timeoutMs: 300, cacheSeconds: 30 } } }`,
    `  down: { match: { methods: [GET], path: "/down/{id}" }, upstream: up, intent: "orders:read", resource: { attributes: { url: "${down}/orders/{id}", pick: { owner: owner } } } }`,
  ].join('\n');
  const policy = ['policy:', '  grants:', '    admin: ["orders:*"]', '    support: ["orders:read"]', '    customer: ["orders:read"]', '    agent: ["orders:read"]', `  files: [${JSON.stringify(DEV_POLICY_FILE)}]`].join('\n');
  idp = await startTestIdp();
  g = await startIdentityGateway(providerYaml('dev', idp, ROLES), routes, policy);
});
after(async () => {
  await g?.close();
  await idp?.close();
  attrs?.closeAllConnections();
  attrs?.close();
});

async function get(path: string, who: { sub: string; actor?: string }) {
  const before = g.upstream.requests.length;
  const reply = await send(`${g.gw.url}${path}`, { headers: bearer(await idp.tokenFor(who)) });
  return { reply, reached: g.upstream.requests.length - before };
}

describe('ownership through the attribute source', () => {
  test('bob reads his own order', async () => {
    const { reply, reached } = await get('/orders/ord_bob', { sub: 'bob' });
    assert.equal(reply.status, 200);
    assert.equal(reached, 1);
  });

  test("bob may not read alice's: 403 authz.denied naming orders:read, nothing upstream, the rule in the audit", async () => {
    const { reply, reached } = await get('/orders/ord_alice', { sub: 'bob' });
    const id = assertProblem(reply, 403, 'authz.denied');
    assert.match((JSON.parse(reply.body) as { detail: string }).detail, /orders:read/);
    assert.doesNotMatch(reply.body, /owner|forbid/, 'no policy text in the reply');
    assert.equal(reached, 0);
    const event = await auditFor(g.gw, id, 'authz.denied');
    assert.deepEqual(event.decision?.policyIds, ['customers-read-own-orders']);
  });

  test("carol (support) reads alice's and bob's", async () => {
    for (const order of ['ord_alice', 'ord_bob']) assert.equal((await get(`/orders/${order}`, { sub: 'carol' })).reply.status, 200, order);
  });

  test("the agent acting for bob reads bob's order, not alice's", async () => {
    assert.equal((await get('/orders/ord_bob', { sub: 'bob', actor: 'assistant' })).reply.status, 200);
    const { reply, reached } = await get('/orders/ord_alice', { sub: 'bob', actor: 'assistant' });
    const id = assertProblem(reply, 403, 'authz.denied');
    assert.equal(reached, 0);
    assert.deepEqual((await auditFor(g.gw, id, 'authz.denied')).decision?.policyIds, ['agents-read-their-persons-orders']);
  });

  test('a 404 from the source: no owner, the rules do not apply and the grants decide (bob is let through)', async () => {
    const { reply, reached } = await get('/orders/ord_nowhere', { sub: 'bob' });
    assert.equal(reply.status, 200, 'the test upstream answers every path; the orders API would answer 404');
    assert.equal(reached, 1);
  });

  test('two requests for the same order: one lookup', async () => {
    for (const who of ['bob', 'carol']) assert.equal((await get('/orders/ord_cached', { sub: who })).reply.status, 200);
    assert.equal(lookups.filter((l) => l === '/orders/ord_cached').length, 1);
  });
});

describe('a failed lookup denies: 403 authz.attribute_unavailable, nothing upstream', () => {
  for (const [label, path] of [
    ['the source answers 500', '/orders/ord_broken'],
    ['the source answers broken JSON', '/orders/ord_garbled'],
    ['the answer has no owner field', '/orders/ord_ownerless'],
    ['the source does not answer in time', '/orders/ord_slow'],
    ['the source is down', '/down/ord_bob'],
  ] as const) {
    test(label, async () => {
      const { reply, reached } = await get(path, { sub: 'carol' });
      const id = assertProblem(reply, 403, 'authz.attribute_unavailable');
      assert.match((JSON.parse(reply.body) as { detail: string }).detail, /orders:read/);
      assert.equal(reached, 0);
      const event = await auditFor(g.gw, id, 'authz.attribute_unavailable');
      assert.equal(event.decision?.allow, false);
    });
  }
});

// The seeded demo orders: ord_1001 is alice's, ord_1003 bob's (src/dev/orders-store.ts).
describe("cortex dev's config: the demo orders API as the attribute source", () => {
  let dev: TestIdp;
  let orders: OrdersApi;
  let runtime: Runtime;
  let dir: string;
  let origin: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cortex-attrs-'));
    dev = await startTestIdp();
    const gatewayPort = await deadPort();
    origin = `http://127.0.0.1:${gatewayPort}`;
    // As in cortex dev: the orders API trusts only the gateway's signed assertion, so the ownership
    // lookups must carry the gateway's own (src/credentials/gateway-identity.ts).
    orders = await startOrdersApi({ assertion: { issuer: origin, audience: 'orders' } });
    const configText = devConfigText({
      gatewayPort,
      adminPort: 0,
      ordersUrl: orders.url,
      auditPath: join(dir, 'audit.jsonl'),
      apiKeysPath: join(dir, 'keys.db'),
      signingKeysPath: join(dir, 'signing-keys.json'),
      idpIssuer: dev.issuer,
    });
    runtime = await startRuntime({ configText, env: { ...process.env, CORTEX_ADMIN_TOKEN: 'test-admin-token-0123456789' }, log: createLogger({ level: 'silent' }) });
    await eventually(() => (runtime.gateway.readiness().ready ? true : undefined), 'the dev gateway ready', 10_000);
  });
  after(async () => {
    await runtime?.close({ drainDelayMs: 0, graceMs: 1_000 });
    await Promise.all([orders?.close(), dev?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const status = async (path: string, who: { sub: string; actor?: string }): Promise<number> =>
    (await send(`${origin}${path}`, { headers: bearer(await dev.tokenFor(who)) })).status;

  test('bob reads his order and not alice\'s; carol reads both; the agent for bob reads only bob\'s', async () => {
    assert.deepEqual(
      [
        await status('/orders/ord_1003', { sub: 'bob' }),
        await status('/orders/ord_1001', { sub: 'bob' }),
        await status('/orders/ord_1001', { sub: 'carol' }),
        await status('/orders/ord_1003', { sub: 'carol' }),
        await status('/orders/ord_1003', { sub: 'bob', actor: 'assistant' }),
        await status('/orders/ord_1001', { sub: 'bob', actor: 'assistant' }),
      ],
      [200, 403, 200, 200, 200, 403],
    );
  });

  test('an order that does not exist: the grants let bob through and the orders API answers 404', async () => {
    assert.equal(await status('/orders/ord_9999', { sub: 'bob' }), 404);
  });
});
