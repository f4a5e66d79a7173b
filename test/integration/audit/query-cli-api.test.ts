// `cortex audit` against a config's SQLite trail, and GET /api/audit on a real admin listener.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { request } from 'undici';
import type { AdminDeps } from '../../../src/admin/endpoints.ts';
import { createAdminServer } from '../../../src/admin/server.ts';
import type { AuditEvent } from '../../../src/audit/event.ts';
import type { DurableAuditStore } from '../../../src/audit/record.ts';
import { openSqliteAuditStore } from '../../../src/audit/sinks/sqlite-store.ts';
import { runAudit } from '../../../src/cli/audit.ts';
import { baseConfigSchema } from '../../../src/config/schema.ts';
import { createMetrics } from '../../../src/telemetry/metrics.ts';
import { fillStore, recordOf, requestEvent } from './query-fixture.ts';
import type { EventSpec } from './query-fixture.ts';

const T = Date.parse('2026-11-20T10:00:00Z');
const MIN = 60_000;
const TOKEN = 'admin-token-for-audit-queries-0123456789';

const SPECS: EventSpec[] = [
  { id: 'alice-read', timeMs: T + 1 * MIN, subject: 'sub-alice', username: 'alice', path: '/orders', intent: 'orders:read', allow: true },
  { id: 'bob-read', timeMs: T + 2 * MIN, subject: 'sub-bob', username: 'bob', path: '/orders', intent: 'orders:read', allow: true },
  { id: 'bob-denied', timeMs: T + 3 * MIN, subject: 'sub-bob', username: 'bob', method: 'DELETE', path: '/orders/8', intent: 'orders:delete', allow: false, status: 403, code: 'authz.denied' },
  { id: 'bot-for-bob', timeMs: T + 4 * MIN, subject: 'orders-bot', kind: 'agent', person: 'sub-bob', method: 'POST', path: '/orders', intent: 'orders:create', allow: true, status: 201 },
  { id: 'anon-401', timeMs: T + 5 * MIN, path: '/orders', status: 401, code: 'authn.missing_token' },
];

interface Output {
  code: number;
  out: string[];
  err: string;
}

async function cli(argv: string[]): Promise<Output> {
  let out = '';
  let err = '';
  const code = await runAudit(argv, { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, env: {} });
  return { code, out: out.split('\n').filter((l) => l !== ''), err };
}

describe('cortex audit and GET /api/audit', () => {
  let dir: string;
  let configFile: string;
  let store: DurableAuditStore;
  let adminBase: string;
  let closeAdmin: () => Promise<void>;
  const tz = process.env.TZ;

  before(async () => {
    process.env.TZ = 'Europe/Paris';
    dir = mkdtempSync(join(tmpdir(), 'cortex-audit-cli-'));
    const db = join(dir, 'audit.db');
    store = openSqliteAuditStore(db);
    await fillStore(store, SPECS.map((s, i) => recordOf('w-1', i + 1, requestEvent(s))));
    configFile = join(dir, 'cortex.yaml');
    writeFileSync(configFile, `version: 1\naudit:\n  sinks: [{ type: jsonl, path: stdout }, { type: sqlite, path: ${JSON.stringify(db)} }]\n`);
    const deps: AdminDeps = {
      metrics: createMetrics(),
      token: TOKEN,
      readiness: () => ({ ready: true, components: {} }),
      config: () => baseConfigSchema.parse({ version: 1 }),
      status: () => ({}),
      routes: () => [],
      auditQuery: () => store,
      log: pino({ level: 'silent' }),
    };
    const admin = createAdminServer(deps);
    const { port } = await admin.listen('127.0.0.1', 0);
    adminBase = `http://127.0.0.1:${port}`;
    closeAdmin = () => admin.close();
  });

  after(async () => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
    await closeAdmin();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists a person\'s timeline: time, who, method, path, intent, decision, status', async () => {
    const r = await cli(['--user', 'sub-bob', '--config', configFile]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out, [
      '2026-11-20T11:04:00+01:00  orders-bot for sub-bob (agent)  POST  /orders  orders:create  allow  201',
      '2026-11-20T11:03:00+01:00  bob (user)  DELETE  /orders/8  orders:delete  deny  403',
      '2026-11-20T11:02:00+01:00  bob (user)  GET  /orders  orders:read  allow  200',
    ]);
  });

  it('--denied, --since (an ISO time), --limit and --json', async () => {
    const denied = await cli(['--denied', '--since', '2026-11-20T10:00:00Z', '--config', configFile]);
    assert.deepEqual(denied.out, ['2026-11-20T11:05:00+01:00  -  GET  /orders  -  -  401', '2026-11-20T11:03:00+01:00  bob (user)  DELETE  /orders/8  orders:delete  deny  403']);
    const json = await cli(['--user', 'bob', '--limit', '1', '--json', '--config', configFile]);
    assert.equal(json.out.length, 1);
    assert.equal((JSON.parse(json.out[0] as string) as AuditEvent).id, 'bob-denied');
    assert.match(json.err, /older events exist/);
  });

  it('--since 1h finds nothing in an old trail, and says so', async () => {
    const r = await cli(['--user', 'bob', '--since', '1h', '--config', configFile]);
    assert.equal(r.code, 0);
    assert.deepEqual(r.out, []);
    assert.match(r.err, /no events match/);
  });

  it('refuses bad arguments with usage (exit 2)', async () => {
    for (const argv of [['--since', 'yesterday'], ['--status', 'x'], ['--limit', '5000'], ['--limit', '0'], ['--bogus'], ['stray']]) {
      const r = await cli([...argv, '--config', configFile]);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, /usage:/);
    }
  });

  it('a config without a queryable sink is an error (exit 1)', async () => {
    const other = join(dir, 'jsonl.yaml');
    writeFileSync(other, 'version: 1\naudit:\n  sinks: [{ type: jsonl, path: stdout }]\n');
    const r = await cli(['--config', other]);
    assert.equal(r.code, 1);
    assert.match(r.err, /no sqlite or postgres audit sink/);
  });

  async function api(query: string, token: string | null = TOKEN): Promise<{ status: number; link: string | undefined; body: Record<string, unknown> }> {
    const res = await request(`${adminBase}/api/audit${query}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    const link = res.headers.link;
    return { status: res.statusCode, link: typeof link === 'string' ? link : undefined, body: (await res.body.json()) as Record<string, unknown> };
  }

  it('GET /api/audit needs the admin token', async () => {
    assert.equal((await api('', null)).status, 401);
    assert.equal((await api('', 'wrong-token')).status, 401);
  });

  it('GET /api/audit filters like the CLI and pages with a Link header', async () => {
    const timeline = await api('?user=sub-bob&intent=orders:delete');
    assert.equal(timeline.status, 200);
    assert.deepEqual((timeline.body.events as AuditEvent[]).map((e) => e.id), ['bob-denied']);
    assert.equal(timeline.body.next, null);
    assert.equal(timeline.link, undefined);

    const seen: string[] = [];
    let url = '?denied=false&since=2026-11-20&limit=2';
    for (let i = 0; i < 5 && url !== ''; i += 1) {
      const page = await api(url);
      assert.equal(page.status, 200);
      seen.push(...(page.body.events as AuditEvent[]).map((e) => e.id));
      url = page.link === undefined ? '' : (/^<\/api\/audit(\?[^>]+)>; rel="next"$/.exec(page.link)?.[1] ?? 'bad link');
      if (page.link !== undefined) assert.ok(url.includes('limit=2') && url.includes('since=2026-11-20'), 'the next link keeps the filters');
    }
    assert.deepEqual(seen, ['anon-401', 'bot-for-bob', 'bob-denied', 'bob-read', 'alice-read']);
    assert.deepEqual(((await api('?denied=true&status=403')).body.events as AuditEvent[]).map((e) => e.id), ['bob-denied']);
  });

  it('GET /api/audit answers bad parameters with 400 problem+json', async () => {
    for (const q of ['?limit=0', '?limit=abc', '?status=99x', '?since=yesterday', '?cursor=bm90LWEtY3Vyc29y', '?user=a&user=b', '?colour=red', '?denied=maybe']) {
      const r = await api(q);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.code, 'request.malformed', q);
      assert.match(String(r.body.detail), /Cannot query the audit trail/, q);
    }
  });
});
