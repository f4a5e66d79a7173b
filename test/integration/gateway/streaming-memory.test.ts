// A 1 GiB upload and a 1 GiB download through a real `cortex serve` child process, with the
// gateway's memory read from /proc/<pid>/status: streaming with backpressure both ways keeps the
// gateway's resident set flat, whatever the body size (issue 3).
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';

const BIN = resolve(import.meta.dirname, '../../../bin/cortex.js');
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const CHUNK = 64 * 1024;
/**
 * Generous bounds. `cortex serve` idles at ~120 MiB RSS; streaming adds a plateau of ~80-100 MiB
 * (V8 lets external Buffer memory and the young generation grow that far before collecting), the
 * same for 1 GiB as for 3 GiB. A body buffered anywhere in the gateway would be far above both.
 */
const PEAK_BOUND = 320 * MIB;
const GROWTH_BOUND = 192 * MIB;

// One chunk, written again and again: the test process allocates nothing per chunk either.
const block = Buffer.alloc(CHUNK, 'z');

let upstream: Server;
let dir = '';
let child: ChildProcess;
let base = '';
/** The gateway's RSS once it is serving, before any transfer. */
let idleRss = 0;

/** VmRSS and VmHWM (peak) of `pid`, in bytes. */
function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Samples the child's RSS while `fn` runs; returns fn's result and the highest RSS seen. */
async function sampled<T>(fn: () => Promise<T>): Promise<{ value: T; maxRss: number }> {
  const pid = child.pid as number;
  let maxRss = memory(pid).rss;
  const timer = setInterval(() => (maxRss = Math.max(maxRss, memory(pid).rss)), 20);
  try {
    const value = await fn();
    return { value, maxRss: Math.max(maxRss, memory(pid).rss) };
  } finally {
    clearInterval(timer);
  }
}

const mib = (n: number) => `${(n / MIB).toFixed(1)} MiB`;

before(async () => {
  upstream = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/down') {
      // 1 GiB generated on the fly, respecting backpressure: write until write() says stop, then drain.
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': GIB });
      let left = GIB;
      const pump = () => {
        while (left > 0) {
          left -= CHUNK;
          if (left === 0) return void res.end(block);
          if (!res.write(block)) return void res.once('drain', pump);
        }
      };
      pump();
      return;
    }
    // The upload: consumed and counted, never buffered.
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      const body = JSON.stringify({ bytes });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  dir = mkdtempSync(join(tmpdir(), 'cortex-stream-'));
  const file = join(dir, 'cortex.yaml');
  writeFileSync(
    file,
    [
      'version: 1',
      'gateway: { listen: { host: 127.0.0.1, port: 0 } }',
      'admin: { listen: { host: 127.0.0.1, port: 0 } }',
      'audit: { sinks: [] }',
      `upstreams: { up: { url: "${upstreamUrl}" } }`,
      'routes:',
      '  stream: { match: { prefix: / }, upstream: up, auth: none, maxBodyBytes: 0 }',
      '',
    ].join('\n'),
  );
  child = spawn(process.execPath, [BIN, 'serve', '--config', file, '--no-watch'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CORTEX_LOG_LEVEL: 'info' },
  });
  let stderr = '';
  child.stdout?.resume();
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    // Port 0: the address the gateway got is in its "cortex is serving" log line.
    const m = /"gateway":"127\.0\.0\.1:(\d+)"/.exec(stderr);
    if (m) {
      base = `http://127.0.0.1:${m[1]}`;
      idleRss = memory(child.pid as number).rss;
      break;
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`cortex serve did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  upstream?.closeAllConnections();
  await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function report(t: TestContext, what: string, bytes: number, ms: number, maxRss: number): void {
  const { rss, hwm } = memory(child.pid as number);
  t.diagnostic(
    `${what}: ${mib(bytes)} in ${(ms / 1000).toFixed(2)} s (${((bytes / MIB) / (ms / 1000)).toFixed(0)} MiB/s); ` +
      `gateway RSS idle ${mib(idleRss)}, max during transfer ${mib(maxRss)}, now ${mib(rss)}, peak (VmHWM) since start ${mib(hwm)}`,
  );
  assert.ok(hwm < PEAK_BOUND, `gateway peak RSS ${mib(hwm)} stays under ${mib(PEAK_BOUND)}`);
  assert.ok(hwm - idleRss < GROWTH_BOUND, `gateway peak RSS grew ${mib(hwm - idleRss)} over idle, under ${mib(GROWTH_BOUND)}`);
}

test('a 1 GiB upload streams through the gateway with flat memory', async (t) => {
  function* body() {
    for (let sent = 0; sent < GIB; sent += CHUNK) yield block;
  }
  const started = performance.now();
  const { value, maxRss } = await sampled(async () => {
    const res = await request(`${base}/up`, { method: 'PUT', body: Readable.from(body(), { objectMode: false }) });
    assert.equal(res.statusCode, 200);
    return (await res.body.json()) as { bytes: number };
  });
  assert.equal(value.bytes, GIB, 'the upstream received exactly 1 GiB');
  report(t, 'upload', GIB, performance.now() - started, maxRss);
});

test('a 1 GiB download streams through the gateway with flat memory', async (t) => {
  const started = performance.now();
  const { value: received, maxRss } = await sampled(async () => {
    const res = await request(`${base}/down`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], String(GIB));
    let n = 0;
    for await (const c of res.body) n += (c as Buffer).length;
    return n;
  });
  assert.equal(received, GIB, 'the client received exactly 1 GiB');
  report(t, 'download', GIB, performance.now() - started, maxRss);
});
