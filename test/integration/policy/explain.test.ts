// `cortex explain` as a user runs it (the real bin/cortex.js on the cortex dev config), resource
// attributes given by hand or looked up from a real orders service, and POST /api/explain on a real
// gateway giving the same answer as the command for the same input.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { ADMIN_TOKEN } from '../../helpers/gateway.ts';
import { providerYaml, startIdentityGateway } from '../../helpers/identity.ts';
import type { IdentityGateway } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { devConfigText } from '../../../src/dev/config.ts';

const BIN = resolve(import.meta.dirname, '../../../bin/cortex.js');

async function cortex(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'explain', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

async function explainJson(args: string[]): Promise<{ code: number | null; json: Record<string, unknown> }> {
  const r = await cortex([...args, '--json']);
  assert.equal(r.stderr, '');
  return { code: r.code, json: JSON.parse(r.stdout) as Record<string, unknown> };
}

describe('cortex explain on the cortex dev config', () => {
  test('alice may delete an order: allow, decided by the admin grant, with the group mapping shown', async () => {
    const r = await cortex(['--as', 'alice', 'DELETE', '/orders/ord_1']);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      [
        'allow  DELETE /orders/ord_1  →  route orders-delete, intent orders:delete',
        '  who: alice (user) via jwt, roles admin  [provider dev, mapped from groups: admins → admin]',
        '  decided by: grant:admin:orders:*',
        '',
      ].join('\n'),
    );
  });

  test('bob may not delete: deny naming orders:delete, and admin as the role that holds it', async () => {
    const r = await cortex(['--as', 'bob', 'DELETE', '/orders/ord_1']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^deny {2}DELETE \/orders\/ord_1 {2}→ {2}route orders-delete, intent orders:delete\n/);
    assert.match(r.stdout, /reason: authz\.denied \(needs orders:delete\)/);
    assert.match(r.stdout, /held by: role admin\n/);
    const { code, json } = await explainJson(['--as', 'bob', 'DELETE', '/orders/ord_1']);
    assert.equal(code, 1);
    assert.equal(json.reason, 'authz.denied');
    assert.equal(json.intent, 'orders:delete');
    assert.deepEqual(json.heldBy, ['admin']);
    assert.deepEqual(json.policies, []);
  });

  test('someone the dev identity provider does not know is a usage error (exit 2)', async () => {
    const r = await cortex(['--as', 'nobody', 'GET', '/orders']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /"nobody" is not a dev person/);
  });

  test('a request that names no method and path is a usage error', async () => {
    const r = await cortex(['--as', 'alice', '/orders']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /METHOD PATH/);
  });

  test('a path no route serves is route.not_found', async () => {
    const { code, json } = await explainJson(['--as', 'alice', 'GET', '/invoices/7']);
    assert.equal(code, 1);
    assert.equal(json.decision, 'deny');
    assert.equal(json.reason, 'route.not_found');
    assert.equal(json.route, undefined);
  });

  test('the path is normalized as the gateway does before routing', async () => {
    const { code, json } = await explainJson(['--as', 'carol', 'GET', '/orders//x/../ord_9']);
    assert.equal(code, 0);
    assert.equal(json.path, '/orders/ord_9');
    assert.equal(json.route, 'orders-read');
    assert.deepEqual(json.policies, ['grant:support:orders:read']);
  });

  test('the public /health needs no decision', async () => {
    const r = await cortex(['--as', 'bob', 'GET', '/health']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^allow {2}GET \/health {2}→ {2}route health\n/);
    assert.match(r.stdout, /decided by: public route: no decision needed/);
  });
});

describe('POST /api/explain on a running gateway', () => {
  let idp: TestIdp;
  let g: IdentityGateway;
  const ROLES = ['roles: { claim: groups, map: { admins: [admin], customers: [customer] } }'];
  const ROUTES = [
    '  read: { match: { methods: [GET], path: "/orders/{id}" }, upstream: up, intent: "orders:read" }',
    '  remove: { match: { methods: [DELETE], path: "/orders/{id}" }, upstream: up, intent: "orders:delete", tags: [destructive] }',
  ].join('\n');
  const POLICY = ['policy:', '  grants:', '    admin: ["orders:*"]', '    customer: ["orders:read"]'].join('\n');

  before(async () => {
    idp = await startTestIdp();
    g = await startIdentityGateway(providerYaml('dev', idp, ROLES), ROUTES, POLICY);
  });
  after(async () => {
    await g?.close();
    await idp?.close();
  });

  async function post(body: unknown, token: string | null = ADMIN_TOKEN): Promise<{ status: number; json: Record<string, unknown> }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const res = await request(`${g.gw.adminUrl}/api/explain`, { method: 'POST', headers, body: JSON.stringify(body) });
    return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
  }

  test('a real token gives the same decision as the command, for an allow and a deny', async () => {
    for (const [sub, expected] of [['alice', 'allow'], ['bob', 'deny']] as const) {
      const token = await idp.tokenFor({ sub, claims: { groups: [sub === 'alice' ? 'admins' : 'customers'] } });
      const cli = await explainJson(['--config', g.gw.configFile, '--token', token, 'DELETE', '/orders/ord_1']);
      const api = await post({ token, method: 'DELETE', path: '/orders/ord_1' });
      assert.equal(api.status, 200);
      assert.equal(api.json.decision, expected);
      assert.equal(cli.code, expected === 'allow' ? 0 : 1);
      assert.deepEqual(api.json, cli.json);
      assert.ok((api.json.notes as string[]).some((n) => n.includes('not verified')));
    }
  });

  test('a dev person by name gives the same answer as --as', async () => {
    const cli = await explainJson(['--config', g.gw.configFile, '--as', 'bob', 'GET', '/orders/ord_1']);
    const api = await post({ as: 'bob', method: 'GET', path: '/orders/ord_1' });
    assert.equal(api.status, 200);
    assert.deepEqual(api.json, cli.json);
    assert.deepEqual(api.json.policies, ['grant:customer:orders:read']);
  });

  test('without the admin token it is refused; a bad body and an unknown person are 400', async () => {
    assert.equal((await post({ as: 'bob', method: 'GET', path: '/orders/1' }, null)).status, 401);
    const bad = await post({ method: 'GET', path: '/orders/1' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'request.malformed');
    assert.equal((await post({ as: 'nobody', method: 'GET', path: '/orders/1' })).status, 400);
    const stage = await post({ as: 'bob', method: 'GET', path: '/orders/1', stage: 'prod' });
    assert.equal(stage.status, 400);
    assert.match(String(stage.json.detail), /runs stage dev/);
  });
});

describe('cortex explain with resource attributes', () => {
  let orders: TestUpstream;
  let dir: string;
  let config: string;

  before(async () => {
    // The orders service the dev config's attribute source asks: ord_bob is bob's, ord_gone does not exist, ord_bad is broken.
    orders = await startUpstream((req, res) => {
      if (req.url === '/orders/ord_gone') return void res.writeHead(404).end();
      if (req.url === '/orders/ord_bad') return void res.writeHead(500).end();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: req.url?.slice('/orders/'.length), owner: req.url === '/orders/ord_bob' ? 'bob' : 'alice' }));
    });
    dir = mkdtempSync(join(tmpdir(), 'cortex-explain-'));
    config = join(dir, 'cortex.yaml');
    writeFileSync(config, devConfigText({ ordersUrl: orders.url }));
  });
  after(async () => {
    await orders?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('--lookup asks the live service: bob reads his own order and not alice\'s, and says where the owner came from', async () => {
    const own = await explainJson(['--config', config, '--as', 'bob', 'GET', '/orders/ord_bob', '--lookup']);
    assert.equal(own.code, 0);
    assert.deepEqual(own.json.resource, { source: 'lookup', attributes: { owner: 'bob' }, found: true });
    const other = await cortex(['--config', config, '--as', 'bob', 'GET', '/orders/ord_alice', '--lookup']);
    assert.equal(other.code, 1);
    assert.match(other.stdout, /reason: authz\.denied \(needs orders:read\), by customers-read-own-orders\n/);
    assert.match(other.stdout, /\n {2}resource: owner=alice \(looked up\)\n/);
    assert.deepEqual(
      orders.requests.map((r) => r.url),
      ['/orders/ord_bob', '/orders/ord_alice'],
    );
  });

  test('--lookup of an order that does not exist: no owner, the grants decide; a broken source denies as the gateway does', async () => {
    const gone = await explainJson(['--config', config, '--as', 'bob', 'GET', '/orders/ord_gone', '--lookup']);
    assert.equal(gone.code, 0);
    assert.deepEqual(gone.json.resource, { source: 'lookup', attributes: {}, found: false });
    const bad = await explainJson(['--config', config, '--as', 'carol', 'GET', '/orders/ord_bad', '--lookup']);
    assert.equal(bad.code, 1);
    assert.equal(bad.json.reason, 'authz.attribute_unavailable');
    assert.deepEqual(bad.json.resource, { source: 'lookup', attributes: {}, error: 'the attribute source answered 500' });
  });

  test('--resource gives the owner by hand, for a person and for the agent acting for one', async () => {
    const mine = await explainJson(['--agent', 'assistant', '--for', 'bob', 'GET', '/orders/ord_1', '--resource', 'owner=bob']);
    assert.equal(mine.code, 0);
    assert.deepEqual(mine.json.resource, { source: 'given', attributes: { owner: 'bob' } });
    const theirs = await cortex(['--agent', 'assistant', '--for', 'bob', 'GET', '/orders/ord_1', '--resource', 'owner=alice']);
    assert.equal(theirs.code, 1);
    assert.match(theirs.stdout, /by agents-read-their-persons-orders\n/);
    assert.match(theirs.stdout, /resource: owner=alice \(given\)/);
  });

  test('without either, the note says ownership rules did not apply; both at once is a usage error', async () => {
    const plain = await explainJson(['--as', 'bob', 'GET', '/orders/ord_1']);
    assert.deepEqual(plain.json.resource, { source: 'none', attributes: {} });
    assert.ok((plain.json.notes as string[]).some((n) => n.includes('ownership') && n.includes('--lookup')));
    const both = await cortex(['--as', 'bob', 'GET', '/orders/ord_1', '--lookup', '--resource', 'owner=bob']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /not both/);
    const malformed = await cortex(['--as', 'bob', 'GET', '/orders/ord_1', '--resource', 'owner']);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /NAME=VALUE/);
  });
});
