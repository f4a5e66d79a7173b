// The real `cortex` command as a newcomer runs it: `cortex dev` serving the demo through the gateway,
// and `cortex serve` reloading on SIGHUP and draining on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { request } from 'undici';
import { startUpstream } from '../helpers/upstream.ts';

const BIN = resolve(import.meta.dirname, '../../bin/cortex.js');

function cortex(args: string[], cwd: string, logLevel = 'warn'): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CORTEX_LOG_LEVEL: logLevel } });
}

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

async function run(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = cortex(args, cwd);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

test('cortex dev serves the demo orders API through the gateway to alice, a service and an agent, and audits who called', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cortex-dev-'));
  const child = cortex(['dev', '--port', '0', '--admin-port', '0', '--orders-port', '0', '--idp-port', '0'], cwd);
  try {
    const stateFile = join(cwd, '.cortex/dev/state.json');
    const state = await until('the dev state file', () =>
      existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { gatewayUrl: string; adminUrl: string }) : undefined,
    );
    const readiness = await until('readiness', async () => {
      const ready = await request(`${state.adminUrl}/readyz`);
      const body = (await ready.body.json()) as { ready: boolean; components: Record<string, boolean> };
      return ready.statusCode === 200 ? body : undefined;
    });
    assert.deepEqual(readiness.components, { gateway: true, config: true, identity: true, audit: true, sessions: true, 'api-keys': true, 'orders-api': true });

    const anonymous = await request(`${state.gatewayUrl}/orders`);
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.headers['www-authenticate'], 'Bearer realm="cortex"');
    assert.equal(((await anonymous.body.json()) as { code: string }).code, 'authn.missing');
    const health = await request(`${state.gatewayUrl}/health`);
    assert.equal(health.statusCode, 200, 'GET /health stays public');
    await health.body.dump();

    const alice = await run(['dev', 'token', '--as', 'alice'], cwd);
    assert.equal(alice.code, 0, alice.stderr);
    const token = alice.stdout.trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'dev token prints the access token and nothing else');
    const list = await request(`${state.gatewayUrl}/orders`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(list.statusCode, 200);
    const body = (await list.body.json()) as { orders: { owner: string }[] };
    assert.ok(body.orders.length > 0, 'the demo orders come back through the gateway');
    const requestId = list.headers['x-request-id'];
    assert.equal(typeof requestId, 'string');

    const service = await run(['dev', 'token', '--service', 'reporting'], cwd);
    const agent = await run(['dev', 'token', '--agent', 'assistant', '--for', 'bob'], cwd);
    const ids: Record<string, string> = {};
    for (const [who, result] of [['service', service], ['agent', agent]] as const) {
      assert.equal(result.code, 0, result.stderr);
      const res = await request(`${state.gatewayUrl}/orders`, { headers: { authorization: `Bearer ${result.stdout.trim()}` } });
      assert.equal(res.statusCode, 200, who);
      await res.body.dump();
      ids[who] = res.headers['x-request-id'] as string;
    }
    const created = await run(['api-keys', 'create', '--service', 'reporting', '--role', 'reporting'], cwd);
    assert.equal(created.code, 0, created.stderr);
    const apiKey = created.stdout.trim();
    assert.match(apiKey, /^ctx_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/, 'api-keys create prints the key and nothing else');
    const byKey = await request(`${state.gatewayUrl}/orders`, { headers: { 'x-api-key': apiKey } });
    assert.equal(byKey.statusCode, 200);
    await byKey.body.dump();
    ids.apiKey = byKey.headers['x-request-id'] as string;

    const unknown = await run(['dev', 'token', '--as', 'mallory'], cwd);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stdout, '');

    const token2 = readFileSync(join(cwd, '.cortex/dev/admin-token'), 'utf8').trim();
    const routes = await request(`${state.adminUrl}/api/routes`, { headers: { authorization: `Bearer ${token2}` } });
    assert.equal(routes.statusCode, 200);
    await routes.body.dump();

    type Event = { id: string; who: { subject: string; kind: string; method?: string; roles: string[]; onBehalfOf?: { subject: string } } | null; what: { route?: string }; outcome: { status: number } };
    const auditFile = join(cwd, '.cortex/dev/audit.jsonl');
    const events = await until('the audit events of the calls', () => {
      if (!existsSync(auditFile)) return undefined;
      const lines = readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { event: Event }).event);
      const want = [requestId, ids.service, ids.agent, ids.apiKey].map((id) => lines.find((e) => e.id === id));
      return want.every((e) => e !== undefined) ? (want) : undefined;
    });
    const [byAlice, byService, byAgent, byApiKey] = events as [Event, Event, Event, Event];
    assert.deepEqual([byApiKey.who?.subject, byApiKey.who?.kind, byApiKey.who?.roles], ['reporting', 'service', ['reporting']]);
    assert.equal(byAlice.what.route, 'orders-list');
    assert.equal(byAlice.outcome.status, 200);
    assert.deepEqual([byAlice.who?.subject, byAlice.who?.kind, byAlice.who?.roles], ['alice', 'user', ['admin']]);
    assert.deepEqual([byService.who?.subject, byService.who?.kind], ['reporting', 'service']);
    assert.deepEqual([byAgent.who?.subject, byAgent.who?.kind, byAgent.who?.onBehalfOf?.subject], ['assistant', 'agent', 'bob']);
    assert.equal(await stop(child), 0, 'SIGTERM stops cortex dev cleanly');
  } finally {
    child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('cortex serve reloads on SIGHUP, keeps serving on a broken edit, and exits 0 on SIGTERM', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cortex-serve-'));
  const upstream = await startUpstream();
  const file = join(cwd, 'cortex.yaml');
  const write = (routes: string) =>
    writeFileSync(
      file,
      `version: 1\ngateway: { listen: { host: 127.0.0.1, port: 0 } }\nadmin: { listen: { host: 127.0.0.1, port: 0 } }\n` +
        `upstreams: { up: { url: "${upstream.url}" } }\naudit: { sinks: [] }\nroutes:\n${routes}`,
    );
  write('  a: { match: { path: /a }, upstream: up, auth: none }\n');
  const child = cortex(['serve', '--config', file, '--no-watch'], cwd, 'info');
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  try {
    // Port 0: the address the gateway got is in its "cortex is serving" log line.
    const port = await until('the serving log line', () => {
      const m = /"gateway":"127\.0\.0\.1:(\d+)"/.exec(stderr);
      return m ? Number(m[1]) : undefined;
    });
    const base = `http://127.0.0.1:${port}`;
    assert.equal((await request(`${base}/b`)).statusCode, 404);
    write('  a: { match: { path: /a }, upstream: up, auth: none }\n  b: { match: { path: /b }, upstream: up, auth: none }\n');
    child.kill('SIGHUP');
    await until('route b after SIGHUP', async () => ((await request(`${base}/b`)).statusCode === 200 ? true : undefined));
    write('  a: { match: { path: /a }, upstream: nowhere, auth: none }\n');
    child.kill('SIGHUP');
    await until('the rejected reload to be logged', () => (stderr.includes('reload rejected') ? true : undefined));
    assert.equal((await request(`${base}/b`)).statusCode, 200, 'the previous config keeps serving');
    assert.equal(await stop(child), 0);
  } finally {
    child.kill('SIGKILL');
    await upstream.close();
    rmSync(cwd, { recursive: true, force: true });
  }
});
