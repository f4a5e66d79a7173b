import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { request } from 'undici';
import { createAdminServer, type AdminDeps } from '../../src/admin/server.ts';
import { baseConfigSchema } from '../../src/config/schema.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';

const TOKEN = 'admin-token-for-tests-0123456789';

const config = baseConfigSchema.parse({
  version: 1,
  admin: { token: TOKEN },
  upstreams: { orders: { url: 'http://svc:hunter2@orders.internal:8080' } },
  routes: {
    orders: {
      match: { prefix: '/orders/' },
      upstream: 'orders',
      requestHeaders: { set: { authorization: 'Basic c2VjcmV0', 'x-api-key': 'k-123', 'x-team': 'blue' } },
    },
  },
});

interface Harness {
  base: string;
  state: { ready: boolean; failStatus: boolean };
  close(): Promise<void>;
}

async function startAdmin(token: string | undefined): Promise<Harness> {
  const state = { ready: false, failStatus: false };
  const metrics = createMetrics();
  metrics.request('orders', 'GET', 200, 'ok', 0.01, 'user');
  const deps: AdminDeps = {
    metrics,
    token,
    readiness: () => ({ ready: state.ready, components: { config: true, upstreams: state.ready } }),
    config: () => config,
    status: () => {
      if (state.failStatus) throw new Error('status exploded');
      return { generation: 3, stage: 'dev', routes: 1 };
    },
    routes: () => [{ id: 'orders', upstream: 'orders' }],
    log: pino({ level: 'silent' }),
  };
  const admin = createAdminServer(deps);
  const { port } = await admin.listen('127.0.0.1', 0);
  return { base: `http://127.0.0.1:${port}`, state, close: () => admin.close() };
}

async function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'POST' | 'HEAD' = 'GET') {
  const res = await request(url, { method, headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

function problem(text: string): Record<string, unknown> {
  const body = JSON.parse(text) as Record<string, unknown>;
  for (const key of ['type', 'title', 'status', 'detail', 'code', 'requestId']) assert.ok(key in body, `problem has ${key}`);
  assert.doesNotMatch(text, /at .*\.ts:\d+/, 'no stack traces');
  return body;
}

describe('admin server with a token', () => {
  let h: Harness;
  before(async () => {
    h = await startAdmin(TOKEN);
  });
  after(() => h.close());
  const auth = { authorization: `Bearer ${TOKEN}` };

  test('healthz answers ok', async () => {
    const res = await get(`${h.base}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { status: 'ok' });
  });

  test('readyz follows readiness, with the components map', async () => {
    h.state.ready = false;
    const down = await get(`${h.base}/readyz`);
    assert.equal(down.status, 503);
    assert.deepEqual((JSON.parse(down.text) as { components: unknown }).components, { config: true, upstreams: false });
    h.state.ready = true;
    const up = await get(`${h.base}/readyz`);
    assert.equal(up.status, 200);
    assert.deepEqual((JSON.parse(up.text) as { components: unknown }).components, { config: true, upstreams: true });
  });

  test('metrics is Prometheus text with cortex_ series', async () => {
    const res = await get(`${h.base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(res.text, /^cortex_requests_total\{route="orders",method="GET",status="200",code="ok",kind="user"\} 1$/m);
  });

  test('HEAD on an open endpoint has headers and no body', async () => {
    const res = await get(`${h.base}/healthz`, {}, 'HEAD');
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
  });

  test('/api without a token is 401 problem+json with WWW-Authenticate', async () => {
    const res = await get(`${h.base}/api/status`);
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="cortex-admin"');
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    const body = problem(res.text);
    assert.equal(body.code, 'admin.unauthorized');
    assert.equal(body.type, 'https://cortex.dev/errors/admin.unauthorized');
    assert.equal(body.status, 401);
  });

  test('a wrong token, or the right one in another scheme, is 401', async () => {
    for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, 'Bearer']) {
      const res = await get(`${h.base}/api/status`, { authorization });
      assert.equal(res.status, 401, authorization);
      assert.equal(problem(res.text).code, 'admin.unauthorized');
    }
  });

  test('unknown /api/ paths are 401 before they are 404', async () => {
    const res = await get(`${h.base}/api/nope`);
    assert.equal(res.status, 401);
  });

  test('the right token reads status and routes', async () => {
    const status = await get(`${h.base}/api/status`, auth);
    assert.equal(status.status, 200);
    assert.deepEqual(JSON.parse(status.text), { generation: 3, stage: 'dev', routes: 1 });
    const routes = await get(`${h.base}/api/routes`, { authorization: `bearer ${TOKEN}` });
    assert.equal(routes.status, 200);
    assert.deepEqual(JSON.parse(routes.text), { routes: [{ id: 'orders', upstream: 'orders' }] });
  });

  test('/api/config redacts secrets and keeps the rest', async () => {
    const res = await get(`${h.base}/api/config`, auth);
    assert.equal(res.status, 200);
    assert.ok(!res.text.includes(TOKEN), 'admin token never shown');
    assert.ok(!res.text.includes('hunter2'), 'URL credentials never shown');
    assert.ok(!res.text.includes('c2VjcmV0') && !res.text.includes('k-123'), 'credential headers never shown');
    const shown = JSON.parse(res.text) as typeof config;
    assert.equal(shown.admin.token, '[redacted]');
    assert.equal(shown.upstreams.orders?.url, 'http://[redacted]@orders.internal:8080');
    assert.equal(shown.routes.orders?.requestHeaders?.set['x-team'], 'blue');
    assert.equal(shown.admin.listen.port, 9901);
  });

  test('unknown paths are 404 problem+json', async () => {
    const res = await get(`${h.base}/nope`);
    assert.equal(res.status, 404);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.equal(problem(res.text).code, 'admin.not_found');
    const api = await get(`${h.base}/api/nope`, auth);
    assert.equal(api.status, 404);
    assert.equal(problem(api.text).code, 'admin.not_found');
  });

  test('wrong method is 405 with Allow', async () => {
    const res = await get(`${h.base}/healthz`, {}, 'POST');
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'GET, HEAD');
    assert.equal(problem(res.text).code, 'admin.method_not_allowed');
  });

  test('a failing endpoint is a 500 filter.error without a stack', async () => {
    h.state.failStatus = true;
    try {
      const res = await get(`${h.base}/api/status`, auth);
      assert.equal(res.status, 500);
      const body = problem(res.text);
      assert.equal(body.code, 'filter.error');
      assert.ok(!res.text.includes('status exploded'));
    } finally {
      h.state.failStatus = false;
    }
  });
});

describe('admin server without a token', () => {
  let h: Harness;
  before(async () => {
    h = await startAdmin(undefined);
  });
  after(() => h.close());

  test('every /api/ call is 401, whatever is guessed', async () => {
    for (const authorization of ['Bearer undefined', 'Bearer ', `Bearer ${TOKEN}`, 'Bearer null']) {
      const res = await get(`${h.base}/api/config`, { authorization });
      assert.equal(res.status, 401, authorization);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="cortex-admin"');
      assert.equal(problem(res.text).code, 'admin.unauthorized');
    }
  });

  test('the open endpoints still answer', async () => {
    assert.equal((await get(`${h.base}/healthz`)).status, 200);
    assert.equal((await get(`${h.base}/metrics`)).status, 200);
  });
});
