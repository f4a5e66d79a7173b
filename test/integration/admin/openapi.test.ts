// The admin API's own OpenAPI document: every /api/ endpoint of the table is documented with its
// methods, nothing undocumented is served, and a real gateway serves the document behind the token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { ADMIN_ENDPOINTS, isApiPath } from '../../../src/admin/endpoints.ts';
import { OPENAPI } from '../../../src/admin/openapi.ts';
import { ADMIN_TOKEN, startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';

/** The table's `/x/*` is the document's `/x/{param}`. */
const tablePath = (documented: string): string => documented.replace(/\{[^}]+\}$/, '*');

const tableMethods = (path: string): string[] =>
  (ADMIN_ENDPOINTS[path]?.methods ?? [])
    .filter((m) => m !== 'HEAD')
    .map((m) => m.toLowerCase())
    .sort();

describe('the admin OpenAPI document', () => {
  test('every /api/ endpoint of the table is documented, with the same methods', () => {
    const documented = new Set(Object.keys(OPENAPI.paths).map(tablePath));
    const api = Object.keys(ADMIN_ENDPOINTS).filter(isApiPath);
    assert.ok(api.length >= 10, `found ${api.length} /api/ endpoints`);
    assert.deepEqual(api.filter((p) => !documented.has(p)), [], 'endpoints without documentation');
    for (const [path, item] of Object.entries(OPENAPI.paths)) {
      assert.deepEqual(Object.keys(item).sort(), tableMethods(tablePath(path)), `methods of ${path}`);
    }
  });

  test('every documented path exists in the table', () => {
    const missing = Object.keys(OPENAPI.paths).filter((p) => !Object.hasOwn(ADMIN_ENDPOINTS, tablePath(p)));
    assert.deepEqual(missing, []);
  });

  test('every operation names its path parameters, the 401 and a problem+json default', () => {
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(OPENAPI.paths)) {
      for (const [method, op] of Object.entries(item)) {
        assert.ok(!ids.has(op.operationId), `operationId ${op.operationId} is unique`);
        ids.add(op.operationId);
        const params = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        for (const p of params) assert.ok(op.parameters?.some((x) => x.in === 'path' && x.name === p && x.required), `${method} ${path} documents {${p}}`);
        assert.deepEqual(op.responses['401'], { $ref: '#/components/responses/Unauthorized' }, `${method} ${path}`);
        assert.deepEqual(op.responses.default, { $ref: '#/components/responses/Problem' }, `${method} ${path}`);
      }
    }
    assert.deepEqual(OPENAPI.security, [{ adminToken: [] }, { adminCookie: [] }]);
    assert.deepEqual(OPENAPI.components.securitySchemes.adminCookie, { type: 'apiKey', in: 'cookie', name: 'cortex_admin', description: 'Set by POST /api/session.' });
    const events = OPENAPI.paths['/api/events']?.get?.responses['200'];
    assert.ok(events !== undefined && 'content' in events && events.content?.['text/event-stream'] !== undefined, '/api/events is an event stream');
  });

  describe('served by a gateway', () => {
    let upstream: TestUpstream;
    let gw: TestGateway;
    before(async () => {
      upstream = await startUpstream();
      gw = await startTestGateway(`upstreams:\n  up: { url: "${upstream.url}" }\nroutes:\n  all: { match: { prefix: / }, upstream: up, auth: none }`);
    });
    after(async () => {
      await gw?.close();
      await upstream?.close();
    });

    test('GET /api/openapi.json answers the document with the token, 401 without', async () => {
      const res = await request(`${gw.adminUrl}/api/openapi.json`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const doc = (await res.body.json()) as typeof OPENAPI;
      assert.equal(doc.openapi, '3.1.0');
      assert.deepEqual(Object.keys(doc.paths).sort(), Object.keys(OPENAPI.paths).sort());
      const denied = await request(`${gw.adminUrl}/api/openapi.json`);
      assert.equal(denied.statusCode, 401);
      assert.match(String(denied.headers['content-type']), /^application\/problem\+json/);
      await denied.body.dump();
    });

    test('a gateway without a policy section lists its routes and says it has no policies', async () => {
      const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const routes = (await (await request(`${gw.adminUrl}/api/routes`, { headers: auth })).body.json()) as { routes: { id: string; grants: Record<string, unknown>; differs: boolean }[] };
      const all = routes.routes.find((r) => r.id === 'all');
      assert.deepEqual(all?.grants.prod, { intent: null, policy: false });
      assert.equal(all?.differs, false);
      const policies = (await (await request(`${gw.adminUrl}/api/policies`, { headers: auth })).body.json()) as { enabled: boolean };
      assert.equal(policies.enabled, false);
    });
  });
});
