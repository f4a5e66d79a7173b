// GET /api/routes and /api/policies on a real gateway started from a config file whose prod stage
// widens a mapping (group support → [support, admin]): the routes show who holds each intent in
// each stage and flag the route whose holders differ; the policies list the ids per intent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { ADMIN_TOKEN, startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { providerYaml } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { startApisGateway } from '../intents/gateway-setup.ts';
import type { ApisGateway } from '../intents/gateway-setup.ts';
import { op, openapi, ordersPaths, startSpecServer } from '../intents/spec-server.ts';
import type { SpecServer } from '../intents/spec-server.ts';

const POLICY = `@id("support-never-deletes")
forbid (principal is User, action == Action::"orders:delete", resource)
when { principal in Role::"support" && !(principal in Role::"admin") };
`;

interface Grants {
  intent: string | null;
  policy: boolean;
  roles: string[];
  groups: { provider: string; name: string }[];
  services: { provider: string; name: string }[];
  agents: { provider: string; name: string }[];
}

interface RouteView {
  id: string;
  upstream: string;
  match: { path?: string };
  filters: string[];
  auth: string[];
  intent: string | null;
  tags: string[];
  policyMode: string | null;
  attributeSource: string | null;
  importedFrom: string | null;
  grants: Record<'dev' | 'staging' | 'prod', Grants>;
  differs: boolean;
  pending: unknown;
}

async function getJson(url: string, token: string | null = ADMIN_TOKEN): Promise<{ status: number; type: string; body: unknown }> {
  const res = await request(url, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, type: String(res.headers['content-type']), body: await res.body.json() };
}

const names = (list: { provider: string; name: string }[]): string[] => list.map((g) => `${g.provider}/${g.name}`).sort();

describe('admin /api/routes and /api/policies', () => {
  let idp: TestIdp;
  let upstream: TestUpstream;
  let gw: TestGateway;
  let dir: string;

  before(async () => {
    idp = await startTestIdp();
    upstream = await startUpstream();
    dir = mkdtempSync(join(tmpdir(), 'cortex-admin-views-'));
    const policyFile = join(dir, 'orders.cedar');
    writeFileSync(policyFile, POLICY);
    gw = await startTestGateway(
      [
        'stage: staging',
        'identity:',
        '  providers:',
        providerYaml('corp', idp, [
          'roles: { claim: groups, map: { support: [support], admins: [admin] } }',
          'services: { reporting: { roles: [reader] } }',
          'agents: { assistant: { roles: [support, admin] } }',
        ]),
        `upstreams:\n  up: { url: "${upstream.url}" }`,
        'routes:',
        '  orders-read:',
        '    match: { methods: [GET], path: "/orders/{id}" }',
        '    upstream: up',
        '    intent: orders:read',
        '    resource: { attributes: { url: "http://orders.internal/orders/{id}", pick: { owner: owner } } }',
        '  orders-delete: { match: { methods: [DELETE], path: "/orders/{id}" }, upstream: up, intent: orders:delete, tags: [destructive], policyMode: shadow }',
        '  health: { match: { methods: [GET], path: /health }, upstream: up, auth: none }',
        'policy:',
        '  grants:',
        '    admin: ["orders:*"]',
        '    support: ["orders:read"]',
        '    reader: ["orders:read"]',
        '  agents: { forbidTags: [destructive] }',
        `  files: [${JSON.stringify(policyFile)}]`,
        'stages:',
        '  prod:',
        '    identity: { providers: { corp: { roles: { map: { support: [support, admin] } } } } }',
      ].join('\n'),
      { dir },
    );
  });

  after(async () => {
    await gw?.close();
    await upstream?.close();
    await idp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('both answer 401 problem+json without the admin token', async () => {
    for (const path of ['/api/routes', '/api/policies', '/api/openapi.json']) {
      const res = await getJson(`${gw.adminUrl}${path}`, null);
      assert.equal(res.status, 401, path);
      assert.match(res.type, /^application\/problem\+json/);
      assert.equal((res.body as { code: string }).code, 'admin.unauthorized');
    }
  });

  test('each route shows its match, auth, intent, tags, policy mode and attribute source', async () => {
    const { status, body } = await getJson(`${gw.adminUrl}/api/routes`);
    assert.equal(status, 200);
    const routes = new Map((body as { routes: RouteView[] }).routes.map((r) => [r.id, r]));
    const read = routes.get('orders-read');
    assert.ok(read);
    assert.equal(read.upstream, 'up');
    assert.equal(read.match.path, '/orders/{id}');
    assert.ok(read.filters.includes('authz'), read.filters.join(','));
    assert.deepEqual(read.auth, ['bearer']);
    assert.equal(read.intent, 'orders:read');
    assert.equal(read.policyMode, 'enforce');
    assert.equal(read.attributeSource, 'http://orders.internal/orders/{id}');
    assert.equal(read.importedFrom, null);
    assert.equal(read.pending, null);
    const del = routes.get('orders-delete');
    assert.deepEqual(del?.tags, ['destructive']);
    assert.equal(del?.policyMode, 'shadow');
    assert.deepEqual(routes.get('health')?.auth, ['none']);
    assert.equal(routes.get('health')?.intent, null);
  });

  test('grants per stage follow each stage mapping, and the widened one is flagged', async () => {
    const { body } = await getJson(`${gw.adminUrl}/api/routes`);
    const routes = new Map((body as { routes: RouteView[] }).routes.map((r) => [r.id, r]));
    const del = routes.get('orders-delete');
    assert.ok(del);
    for (const stage of ['dev', 'staging'] as const) {
      assert.deepEqual(del.grants[stage].roles, ['admin'], stage);
      assert.deepEqual(names(del.grants[stage].groups), ['corp/admins'], stage);
    }
    assert.deepEqual(del.grants.prod.roles, ['admin']);
    assert.deepEqual(names(del.grants.prod.groups), ['corp/admins', 'corp/support']);
    assert.deepEqual(del.grants.prod.agents, [], 'agents never hold a destructive intent');
    assert.equal(del.differs, true);

    const read = routes.get('orders-read');
    assert.ok(read);
    assert.equal(read.differs, false);
    for (const stage of ['dev', 'staging', 'prod'] as const) {
      assert.deepEqual(read.grants[stage].roles, ['admin', 'reader', 'support'], stage);
      assert.deepEqual(names(read.grants[stage].groups), ['corp/admins', 'corp/support'], stage);
      assert.deepEqual(names(read.grants[stage].services), ['corp/reporting'], stage);
      assert.deepEqual(names(read.grants[stage].agents), ['corp/assistant'], stage);
    }
  });

  test('the policies: generated text, schema, files with their ids, and the ids per intent', async () => {
    const { status, body } = await getJson(`${gw.adminUrl}/api/policies`);
    assert.equal(status, 200);
    const p = body as { enabled: boolean; mode: string; generated: string; schema: string; files: { path: string; ids: string[] }[]; intents: Record<string, string[]> };
    assert.equal(p.enabled, true);
    assert.equal(p.mode, 'enforce');
    assert.match(p.generated, /@id\("grant:admin:orders:\*"\)/);
    assert.match(p.schema, /entity Route/);
    assert.deepEqual(p.files, [{ path: join(dir, 'orders.cedar'), ids: ['support-never-deletes'] }]);
    assert.ok(p.intents['orders:delete']?.includes('support-never-deletes'), JSON.stringify(p.intents));
    assert.ok(p.intents['orders:delete']?.includes('grant:admin:orders:*'));
    assert.ok(p.intents['orders:delete']?.includes('agent-forbid:destructive'));
    assert.ok(!p.intents['orders:read']?.includes('support-never-deletes'), 'a forbid on another action is not listed');
    assert.ok(p.intents['orders:read']?.includes('grant:support:orders:read'));
  });
});

describe('admin /api/routes with an imported API', () => {
  let idp: TestIdp;
  let spec: SpecServer;
  let g: ApisGateway;

  before(async () => {
    idp = await startTestIdp();
    spec = await startSpecServer(openapi(ordersPaths()));
    g = await startApisGateway(idp, spec.url(), 'prod');
  });

  after(async () => {
    await g?.close();
    await spec?.close();
    await idp?.close();
  });

  test('an imported route names its API, and a retag held in prod shows as pending on it', async () => {
    const paths = ordersPaths();
    paths['/orders/{id}'] = { ...paths['/orders/{id}'], delete: op('deleteOrder', 'orders:read') };
    spec.set(openapi(paths));
    await g.gw.runtime.gateway.apis.refreshNow();
    const { status, body } = await getJson(`${g.gw.adminUrl}/api/routes`);
    assert.equal(status, 200);
    const routes = (body as { routes: (RouteView & { match: { methods?: string[] } })[] }).routes;
    const del = routes.find((r) => r.match.path === '/api/orders/{id}' && r.match.methods?.includes('DELETE'));
    assert.ok(del, JSON.stringify(routes.map((r) => r.id)));
    assert.equal(del.importedFrom, 'orders');
    assert.equal(del.intent, 'orders:delete', 'prod serves the approved intent');
    assert.deepEqual(del.pending, {
      api: 'orders',
      operation: 'DELETE /orders/{id}',
      approved: { intent: 'orders:delete', tags: ['destructive'] },
      proposed: { intent: 'orders:read', tags: [] },
    });
    assert.deepEqual(del.grants.prod.roles, ['admin']);
    assert.deepEqual(del.grants.staging.roles, ['admin'], 'an imported route is judged in each stage with its intent as served');
    const read = routes.find((r) => r.match.path === '/api/orders/{id}' && r.match.methods?.includes('GET'));
    assert.equal(read?.importedFrom, 'orders');
    assert.equal(read?.pending, null);
    assert.equal(routes.find((r) => r.id === 'health')?.importedFrom, null);
  });
});
