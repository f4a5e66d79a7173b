// Graceful shutdown: readiness turns false first, the listener stops accepting after drainDelayMs,
// in-flight requests (streams included) finish within graceMs, the rest are cut and audited, and
// `cortex serve` exits 0 after SIGTERM. Bounded polls throughout, no timing assertions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, request } from 'undici';
import type { AuditEvent, RequestAuditEvent } from '../../src/audit/event.ts';
import { eventually } from '../helpers/gateway-checks.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { startUpstream } from '../helpers/upstream.ts';

/** Resolves 'refused' when nothing accepts on the port any more, 'accepted' otherwise. */
function tryConnect(port: number): Promise<'accepted' | 'refused'> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done('accepted');
    });
    socket.once('error', () => done('refused'));
  });
}

function auditLines(dir: string): RequestAuditEvent[] {
  return readFileSync(join(dir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { event: AuditEvent }).event)
    .filter((e): e is RequestAuditEvent => e.type === 'request');
}

test('a slow request in flight completes while new connections are refused; /readyz is 503 during drainDelayMs', async (t) => {
  const held: ServerResponse[] = [];
  const upstream = await startUpstream((_req, res) => held.push(res));
  const gw = await startTestGateway(`
upstreams: { up: { url: "${upstream.url}" } }
routes: { slow: { match: { path: /slow }, upstream: up, auth: none } }
`);
  t.after(async () => {
    await gw.close();
    await upstream.close();
  });

  assert.equal((await request(`${gw.adminUrl}/readyz`)).statusCode, 200);
  const inFlight = request(`${gw.url}/slow`);
  await eventually(() => (held.length === 1 ? true : undefined), 'the slow request to reach the upstream');

  const closing = gw.runtime.gateway.close({ drainDelayMs: 1_000, graceMs: 10_000 });
  const ready = await request(`${gw.adminUrl}/readyz`);
  const readiness = (await ready.body.json()) as { ready: boolean; components: Record<string, boolean> };
  assert.equal(ready.statusCode, 503, 'readiness is false as soon as the drain starts');
  assert.equal(readiness.components.gateway, false);

  await eventually(async () => ((await tryConnect(gw.port)) === 'refused' ? true : undefined), 'the listener to stop accepting', 10_000);
  assert.equal((await request(`${gw.adminUrl}/readyz`)).statusCode, 503, 'still not ready while draining');

  const res = held[0];
  assert.ok(res);
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('finally');
  const reply = await inFlight;
  assert.equal(reply.statusCode, 200);
  assert.equal(reply.headers.connection, 'close', 'the reply ends its keep-alive connection');
  assert.equal(await reply.body.text(), 'finally');
  await closing;

  const event = auditLines(gw.dir).find((e) => e.what.path === '/slow');
  assert.equal(event?.outcome.status, 200);
  assert.equal(event?.outcome.code, 'ok');
});

test('a stream still running when graceMs runs out is cut, and audited', async (t) => {
  const held: ServerResponse[] = [];
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(1024, 'a'));
    held.push(res); // never ended
  });
  const gw = await startTestGateway(`
upstreams: { up: { url: "${upstream.url}" } }
routes: { stream: { match: { path: /stream }, upstream: up, auth: none } }
`);
  t.after(async () => {
    for (const res of held) res.destroy();
    await gw.close();
    await upstream.close();
  });

  const reply = await request(`${gw.url}/stream`);
  assert.equal(reply.statusCode, 200);
  const body = reply.body.text().then(
    () => 'complete',
    () => 'cut',
  );
  const warn = t.mock.method(gw.runtime.gateway.log, 'warn');
  await gw.runtime.gateway.close({ drainDelayMs: 0, graceMs: 200 });
  assert.equal(await body, 'cut', 'the client sees its stream cut, not a clean end');
  const cutLine = warn.mock.calls.find((c) => String(c.arguments[1]).includes('grace period over'));
  assert.deepEqual(cutLine?.arguments[0], { inflight: 1, graceMs: 200 }, 'the log line says how many requests were cut');

  // close() resolves after the audit log is flushed: the cut request's event is already there.
  const events = auditLines(gw.dir).filter((e) => e.what.path === '/stream');
  assert.equal(events.length, 1);
  assert.equal(events[0]?.outcome.code, 'client.closed');
  assert.equal(events[0]?.outcome.status, 200, 'the head had been sent');
});

test('drain under load: every response is complete and none is a gateway 5xx', async (t) => {
  const payload = Buffer.alloc(32 * 1024, 'x');
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked: a cut shows as an error
    res.write(payload.subarray(0, 16 * 1024));
    setTimeout(() => res.end(Buffer.concat([payload.subarray(16 * 1024), Buffer.from('END')])), 2);
  });
  const gw = await startTestGateway(`
upstreams: { up: { url: "${upstream.url}" } }
routes: { data: { match: { path: /data }, upstream: up, auth: none } }
`);
  const clients = Array.from({ length: 20 }, () => new Client(gw.url, { pipelining: 1, keepAliveTimeout: 30_000 }));
  t.after(async () => {
    await Promise.all(clients.map((c) => c.destroy()));
    await gw.close();
    await upstream.close();
  });

  const statuses: number[] = [];
  const truncated: string[] = [];
  let refusedOrReset = 0;
  const errors = new Set<string>();
  let stopping = false;
  const loops = clients.map(async (client) => {
    for (let i = 0; i < 10_000 && !stopping; i++) {
      let res;
      try {
        res = await client.request({ path: '/data', method: 'GET' });
      } catch (err) {
        errors.add((err as { code?: string }).code ?? String(err));
        refusedOrReset++; // no response at all (connection closed while idle, or refused): allowed
        if (client.closed || client.destroyed) return;
        if ((await tryConnect(gw.port)) === 'refused') return;
        continue;
      }
      statuses.push(res.statusCode);
      try {
        const body = Buffer.from(await res.body.arrayBuffer());
        if (body.length !== payload.length + 3 || !body.subarray(-3).equals(Buffer.from('END'))) truncated.push(`length ${body.length}`);
      } catch (err) {
        truncated.push((err as Error).message);
      }
    }
  });

  await eventually(() => (statuses.length >= 200 ? true : undefined), '200 responses before the drain', 15_000);
  const before = statuses.length;
  await gw.runtime.gateway.close({ drainDelayMs: 100, graceMs: 10_000 });
  stopping = true;
  await Promise.all(loops);

  assert.ok(statuses.length > before, 'requests were answered during the drain');
  assert.deepEqual(truncated, [], 'no truncated bodies');
  assert.deepEqual(statuses.filter((s) => s >= 500), [], 'no 5xx from the gateway');
  assert.ok(statuses.every((s) => s === 200));
  t.diagnostic(`${statuses.length} responses (${statuses.length - before} after close() started), ${refusedOrReset} requests without a response (${[...errors].join(', ')})`);
});

test('cortex serve exits 0 after SIGTERM with a request in flight, which completes', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'cortex-drain-'));
  const held: ServerResponse[] = [];
  const upstream = await startUpstream((_req, res) => held.push(res));
  const file = join(cwd, 'cortex.yaml');
  writeFileSync(
    file,
    `version: 1\ngateway: { listen: { host: 127.0.0.1, port: 0 } }\nadmin: { listen: { host: 127.0.0.1, port: 0 } }\n` +
      `upstreams: { up: { url: "${upstream.url}" } }\naudit: { sinks: [] }\nshutdown: { drainDelayMs: 0, graceMs: 20000 }\n` +
      `routes:\n  slow: { match: { path: /slow }, upstream: up, auth: none }\n`,
  );
  const bin = resolve(import.meta.dirname, '../../bin/cortex.js');
  const child = spawn(process.execPath, [bin, 'serve', '--config', file, '--no-watch'], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CORTEX_LOG_LEVEL: 'info' },
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.resume();
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  t.after(async () => {
    child.kill('SIGKILL');
    await upstream.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  const port = await eventually(() => {
    const m = /"gateway":"127\.0\.0\.1:(\d+)"/.exec(stderr);
    return m ? Number(m[1]) : undefined;
  }, 'the serving log line', 15_000);
  const inFlight = request(`http://127.0.0.1:${port}/slow`);
  await eventually(() => (held.length === 1 ? true : undefined), 'the request to reach the upstream', 10_000);

  child.kill('SIGTERM');
  await eventually(() => (stderr.includes('draining') ? true : undefined), 'the drain to start', 10_000);
  await eventually(async () => ((await tryConnect(port)) === 'refused' ? true : undefined), 'the listener to stop accepting', 10_000);
  assert.equal(child.exitCode, null, 'the process waits for the request in flight');

  const res = held[0];
  assert.ok(res);
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('done');
  const reply = await inFlight;
  assert.equal(reply.statusCode, 200);
  assert.equal(await reply.body.text(), 'done');
  const [code] = await exited;
  assert.equal(code, 0, stderr);
});
