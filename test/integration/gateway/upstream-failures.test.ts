// Upstream failures against real sockets: nothing listening, too slow, reset before the head, dying
// mid-response; and a client that goes away, which must cancel the upstream request. None is a 500.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { assertProblem, auditFor, auditWhere, eventually, openRaw, send } from '../../helpers/gateway-checks.ts';

let upstream: TestUpstream;
let gw: TestGateway;
/** Upstream responses left hanging by a test; ended afterwards. */
const hanging: ServerResponse[] = [];
let heads: IncomingMessage[] = [];

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

before(async () => {
  upstream = await startUpstream();
  upstream.server.on('request', (r: IncomingMessage) => heads.push(r));
  const dead = await freePort();
  gw = await startTestGateway(`
upstreams:
  live: { url: "${upstream.url}" }
  dead: { url: "http://127.0.0.1:${dead}", connectTimeoutMs: 2000 }
routes:
  api: { match: { prefix: /api/ }, upstream: live, auth: none, timeoutMs: 300 }
  down: { match: { prefix: /down/ }, upstream: dead, auth: none }
`);
});
after(async () => {
  await gw.close();
  await upstream.close();
});
beforeEach(() => {
  upstream.requests.length = 0;
  heads = [];
});
afterEach(() => {
  for (const res of hanging.splice(0)) if (!res.destroyed) res.destroy();
});

describe('upstream failures', () => {
  test('nothing listening upstream → 502 upstream.connect_failed', async () => {
    const res = await send(`${gw.url}/down/x`);
    const id = assertProblem(res, 502, 'upstream.connect_failed');
    const event = await auditFor(gw, id, 'upstream.connect_failed');
    assert.equal(event.what.route, 'down');
    assert.equal(event.outcome.status, 502);
  });

  test('an upstream slower than the route timeoutMs → 504 upstream.timeout', async () => {
    upstream.handle((_req, res) => void hanging.push(res));
    const res = await send(`${gw.url}/api/slow`);
    const id = assertProblem(res, 504, 'upstream.timeout');
    const event = await auditFor(gw, id, 'upstream.timeout');
    assert.equal(event.outcome.upstreamStatus, undefined);
    assert.equal(upstream.requests.length, 1, 'the request did reach the upstream');
  });

  test('an upstream that destroys the socket before answering → 502 upstream.reset, not retried', async () => {
    upstream.handle((req) => req.socket.destroy());
    const res = await send(`${gw.url}/api/reset`, { method: 'POST', body: 'once' });
    const id = assertProblem(res, 502, 'upstream.reset');
    await auditFor(gw, id, 'upstream.reset');
    assert.equal(upstream.requests.length, 1, 'a non-idempotent request is not retried');
  });

  test('an upstream that answers with something that is not valid HTTP → 502 upstream.bad_response', async () => {
    const answers = {
      'not HTTP': 'NOT HTTP AT ALL\r\n\r\n',
      'two different Content-Lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
    };
    for (const [label, bytes] of Object.entries(answers)) {
      upstream.handle((req) => void req.socket.end(bytes));
      const res = await send(`${gw.url}/api/garbage`);
      const id = assertProblem(res, 502, 'upstream.bad_response', label);
      await auditFor(gw, id, 'upstream.bad_response');
    }
  });

  test('an upstream that dies mid-response → the client connection is cut, audit upstream.reset', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100000' });
      res.write(Buffer.alloc(1000, 'a'), () => setImmediate(() => res.socket?.destroy()));
    });
    const res = await request(`${gw.url}/api/dies`);
    assert.equal(res.statusCode, 200, 'the head was already relayed');
    const id = String(res.headers['x-request-id']);
    await assert.rejects(res.body.arrayBuffer(), 'the client sees a truncated response, not a clean end');
    const event = await auditFor(gw, id, 'upstream.reset');
    assert.equal(event.outcome.upstreamStatus, 200);
  });

  test('an upstream that stalls mid-body beyond timeoutMs → the client connection is cut, audit upstream.timeout', async () => {
    upstream.handle((_req, res) => {
      hanging.push(res);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
      res.write('12345');
    });
    const res = await request(`${gw.url}/api/stall`);
    const id = String(res.headers['x-request-id']);
    await assert.rejects(res.body.text());
    await auditFor(gw, id, 'upstream.timeout');
  });
});

describe('a client that goes away cancels the upstream request', () => {
  test('while waiting for the response', async () => {
    const closed = new Promise<void>((resolve) => {
      upstream.handle((_req, res) => {
        hanging.push(res);
        res.once('close', () => resolve());
      });
    });
    const conn = await openRaw(gw.port);
    conn.write('GET /api/abandoned HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await eventually(() => (upstream.requests.length === 1 ? true : undefined), 'the upstream to receive the request');
    conn.destroy();
    await bounded(closed, 'the upstream request to be closed');
    const [event] = await auditWhere(gw, (e) => e.what.path === '/api/abandoned');
    assert.equal(event?.outcome.code, 'client.closed');
    assert.equal(event?.outcome.status, 499);
  });

  test('in the middle of a streaming download', async () => {
    const closed = new Promise<void>((resolve) => {
      upstream.handle((_req, res) => {
        hanging.push(res);
        res.once('close', () => resolve());
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 'd');
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      });
    });
    const conn = await openRaw(gw.port);
    conn.write('GET /api/endless HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await conn.until((t) => t.length > 256 * 1024);
    conn.destroy();
    await bounded(closed, 'the upstream response to be cancelled');
    const [event] = await auditWhere(gw, (e) => e.what.path === '/api/endless');
    assert.equal(event?.outcome.code, 'client.closed');
    assert.equal(event?.outcome.upstreamStatus, 200);
  });

  test('in the middle of an upload', async () => {
    const conn = await openRaw(gw.port);
    conn.write('POST /api/upload-abandoned HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000));
    const head = await eventually(() => heads[0], 'the upstream to receive the request head');
    const aborted = new Promise<void>((resolve) => {
      if (head.destroyed) resolve();
      head.once('close', () => resolve());
    });
    conn.destroy();
    await bounded(aborted, 'the upstream request to be aborted');
    assert.equal(head.complete, false, 'the upstream never saw a complete request');
    assert.equal(upstream.requests.length, 0);
    const [event] = await auditWhere(gw, (e) => e.what.path === '/api/upload-abandoned');
    assert.equal(event?.outcome.code, 'client.closed');
    assert.equal(event?.outcome.status, 499);
  });
});

test('no upstream failure was answered or audited as a 500', async () => {
  const events = await gw.audit();
  assert.ok(events.length >= 8);
  assert.deepEqual(events.filter((e) => e.outcome.status === 500 || e.outcome.code === 'filter.error'), []);
});

async function bounded(p: Promise<void>, what: string, ms = 3_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
