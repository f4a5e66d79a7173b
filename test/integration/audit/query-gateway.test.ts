// End to end: a real gateway (the test IdP's alice and bob) records requests in its SQLite trail;
// GET /api/audit on its admin listener and `cortex audit --config` (read-only, beside the running
// gateway) list them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { AuditEvent } from '../../../src/audit/event.ts';
import { runAudit } from '../../../src/cli/audit.ts';
import { startRuntime } from '../../../src/cli/run-gateway.ts';
import type { Runtime } from '../../../src/cli/run-gateway.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { eventually } from '../../helpers/gateway-checks.ts';
import { bearer, providerYaml } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';

const TOKEN = 'admin-token-for-audit-gateway-0123456789';

describe('GET /api/audit and cortex audit on a running gateway', () => {
  let dir: string;
  let configFile: string;
  let upstream: TestUpstream;
  let idp: TestIdp;
  let runtime: Runtime | undefined;
  let base: string;
  let admin: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cortex-audit-gw-'));
    upstream = await startUpstream();
    idp = await startTestIdp();
    configFile = join(dir, 'cortex.yaml');
    writeFileSync(
      configFile,
      [
        'version: 1',
        'gateway:',
        '  listen: { host: 127.0.0.1, port: 0 }',
        'admin:',
        '  listen: { host: 127.0.0.1, port: 0 }',
        `  token: ${TOKEN}`,
        'audit:',
        `  sinks: [{ type: sqlite, path: ${JSON.stringify(join(dir, 'audit.db'))} }]`,
        `  spool: { dir: ${JSON.stringify(join(dir, 'spool'))} }`,
        '  batch: { maxDelayMs: 10 }',
        'log: { level: silent }',
        'identity:',
        '  providers:',
        providerYaml('dev', idp),
        'upstreams:',
        `  up: { url: ${JSON.stringify(upstream.url)} }`,
        'routes:',
        '  items: { match: { prefix: /items/ }, upstream: up, auth: none }',
        '  private: { match: { path: /private }, upstream: up }',
        '  orders: { match: { prefix: /orders/ }, upstream: up }',
      ].join('\n'),
    );
    const rt = await startRuntime({ configFile, env: { ...process.env }, log: createLogger({ level: 'silent' }), watch: false });
    runtime = rt;
    await eventually(() => (rt.gateway.readiness().components.identity ? true : undefined), 'identity ready', 10_000);
    base = `http://127.0.0.1:${rt.addresses.gateway.port}`;
    admin = `http://127.0.0.1:${rt.addresses.admin.port}`;
    const alice = bearer(await idp.tokenFor({ sub: 'alice' }));
    const bob = bearer(await idp.tokenFor({ sub: 'bob' }));
    const calls: [string, Record<string, string>][] = [['/items/1', {}], ['/orders/1', bob], ['/private', alice], ['/private', bob], ['/private', {}], ['/items/3', {}], ['/nowhere', {}]];
    for (const [path, headers] of calls) await (await request(`${base}${path}`, { headers })).body.dump();
    await rt.gateway.flushAudit();
  });

  after(async () => {
    await runtime?.close(1_000);
    await upstream.close();
    await idp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function api(query: string, token: string | null = TOKEN): Promise<{ status: number; link: unknown; body: { events?: AuditEvent[]; next?: string | null } }> {
    const res = await request(`${admin}/api/audit${query}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    return { status: res.statusCode, link: res.headers.link, body: (await res.body.json()) as { events?: AuditEvent[] } };
  }

  it('lists the requests the gateway recorded, newest first, by route and denial', async () => {
    const items = await api('?route=items');
    assert.equal(items.status, 200);
    assert.deepEqual(items.body.events?.map((e) => (e.type === 'request' ? e.what.path : e.type)), ['/items/3', '/items/1']);
    const denied = await api('?denied=true&since=1h');
    assert.deepEqual(denied.body.events?.map((e) => (e.type === 'request' ? `${e.what.path} ${e.outcome.status}` : e.type)), ['/private 401']);
    const bob = await api('?user=bob');
    assert.deepEqual(bob.body.events?.map((e) => (e.type === 'request' ? `${e.who?.subject} ${e.what.path}` : e.type)), ['bob /private', 'bob /orders/1']);
    const paged = await api('?route=items&limit=1');
    assert.equal(paged.body.events?.length, 1);
    assert.match(String(paged.link), /^<\/api\/audit\?route=items&limit=1&cursor=[A-Za-z0-9_-]+>; rel="next"$/);
  });

  it('refuses callers without the admin token', async () => {
    const r = await api('?route=items', null);
    assert.equal(r.status, 401);
    assert.equal(r.body.events, undefined);
  });

  it('cortex audit --config reads the same trail beside the running gateway', async () => {
    let out = '';
    let err = '';
    const code = await runAudit(['--user', 'bob', '--config', configFile], { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, env: {} });
    assert.equal(code, 0, err);
    const lines = out.trim().split('\n');
    assert.equal(lines.length, 2, out);
    const fields = lines.map((l) => l.split('  '));
    assert.match(fields[0]?.[0] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    assert.deepEqual(fields.map((f) => f.slice(1)), [
      ['bob (user)', 'GET', '/private', '-', '-', '200'],
      ['bob (user)', 'GET', '/orders/1', '-', '-', '200'],
    ]);
  });
});
