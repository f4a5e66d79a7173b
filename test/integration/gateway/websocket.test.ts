// WebSocket upgrades and Server-Sent Events through the gateway (issue 3): the upgrade request takes
// the same path as any request (normalization, routing, the route's filters), only routes with
// `websocket: true` accept it, and both WebSockets and event streams are closed when the route's
// maxConnectionLifetimeMs runs out, each audited once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import { createTestCa } from '../../helpers/certs.ts';
import { auditFor, eventually, openRaw } from '../../helpers/gateway-checks.ts';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { parseResponse } from '../../helpers/raw-http.ts';

const LIFETIME_MS = 400;

let server: Server;
let wss: WebSocketServer;
let gw: TestGateway;
let wsBase = '';
/** Handshake headers of every WebSocket that reached the upstream. */
const handshakes: { url: string; headers: IncomingHttpHeaders }[] = [];
/** Plain HTTP requests that reached the upstream. */
const plain: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    plain.push(req.url ?? '');
    if (req.url?.startsWith('/sse')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write('data: hello\n\n');
      const t = setInterval(() => res.write('data: tick\n\n'), 50);
      res.on('close', () => clearInterval(t));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('plain');
  });
  wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    handshakes.push({ url: req.url ?? '', headers: req.headers });
    if (req.url?.includes('close-me')) {
      setTimeout(() => ws.close(4000, 'upstream says bye'), 50);
      return;
    }
    ws.on('message', (data: RawData, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const up = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gw = await startTestGateway(`
upstreams:
  up: { url: "${up}" }
routes:
  ws: { match: { prefix: /ws/ }, upstream: up, auth: none, websocket: true, requestHeaders: { set: { x-route: ws } } }
  short: { match: { prefix: /short/ }, upstream: up, auth: none, websocket: true, maxConnectionLifetimeMs: ${LIFETIME_MS} }
  sse: { match: { prefix: /sse/ }, upstream: up, auth: none, maxConnectionLifetimeMs: ${LIFETIME_MS} }
  plain: { match: { prefix: /plain/ }, upstream: up, auth: none }
`);
  wsBase = `ws://127.0.0.1:${gw.port}`;
});

after(async () => {
  await gw?.close();
  for (const c of wss?.clients ?? []) c.terminate();
  wss?.close();
  server?.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

async function openWs(path: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; id: string }> {
  const ws = new WebSocket(`${wsBase}${path}`, { headers });
  let id = '';
  ws.once('upgrade', (res) => (id = String(res.headers['x-request-id'])));
  await once(ws, 'open');
  return { ws, id };
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data: RawData, isBinary: boolean) => resolve({ data: data as Buffer, isBinary })));
}

test('messages echo both ways, text and binary, small and large', async () => {
  const { ws, id } = await openWs('/ws/echo');
  ws.send('hello');
  const text = await nextMessage(ws);
  assert.equal(text.isBinary, false);
  assert.equal(text.data.toString(), 'hello');
  const bin = Buffer.from([0, 1, 2, 255, 254]);
  ws.send(bin);
  const gotBin = await nextMessage(ws);
  assert.equal(gotBin.isBinary, true);
  assert.deepEqual(gotBin.data, bin);
  const large = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < large.length; i += 4096) large[i] = i % 251;
  ws.send(large);
  const gotLarge = await nextMessage(ws);
  assert.equal(gotLarge.data.length, large.length);
  assert.ok(gotLarge.data.equals(large), 'the large message arrives intact');
  ws.close(1000, 'done');
  await once(ws, 'close');
  const event = await auditFor(gw, id, 'ok');
  assert.equal(event.outcome.status, 101);
  assert.equal(event.outcome.upstreamStatus, 101);
  assert.ok(event.outcome.bytesIn > large.length, `bytesIn ${event.outcome.bytesIn}`);
  assert.ok(event.outcome.bytesOut > large.length, `bytesOut ${event.outcome.bytesOut}`);
  assert.ok(event.outcome.durationMs > 0);
});

test('the handshake reaching the upstream carries X-Forwarded-For, the request id and the route headers', async () => {
  const { ws, id } = await openWs('/ws/headers?q=1', { 'x-request-id': 'ws-handshake-1' });
  const hs = handshakes.find((h) => h.url === '/ws/headers?q=1');
  assert.ok(hs, 'the handshake reached the upstream');
  assert.equal(hs.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(hs.headers['x-request-id'], id);
  assert.equal(hs.headers['x-route'], 'ws');
  assert.equal(String(hs.headers.upgrade).toLowerCase(), 'websocket');
  assert.ok(hs.headers['sec-websocket-key']);
  ws.close();
  await once(ws, 'close');
  await auditFor(gw, id, 'ok');
});

test('path normalization applies to the upgrade: an encoded dot segment is refused with problem+json', async () => {
  const before = handshakes.length;
  const conn = await openRaw(gw.port);
  conn.write(
    'GET /ws/%2e%2e/admin HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  assert.ok(await conn.closed(3_000), 'the connection closes after the reply');
  const res = parseResponse(conn.text());
  assert.equal(res.status, 400);
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  const body = JSON.parse(res.body) as { code: string; requestId: string };
  assert.equal(body.code, 'request.bad_path');
  assert.equal(body.requestId, res.headers['x-request-id']);
  await auditFor(gw, body.requestId, 'request.bad_path');
  assert.equal(handshakes.length, before, 'nothing reached the upstream');
});

test('a route without websocket: true refuses the upgrade and nothing reaches the upstream', async () => {
  const before = { ws: handshakes.length, plain: plain.length };
  const conn = await openRaw(gw.port);
  conn.write(
    'GET /plain/x HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  assert.ok(await conn.closed(3_000));
  const res = parseResponse(conn.text());
  assert.equal(res.status, 400);
  const body = JSON.parse(res.body) as { code: string; requestId: string };
  assert.equal(body.code, 'request.upgrade_not_allowed');
  await auditFor(gw, body.requestId, 'request.upgrade_not_allowed');
  assert.equal(handshakes.length, before.ws);
  assert.equal(plain.length, before.plain);

  // The ws client sees the refusal as an unexpected response.
  const ws = new WebSocket(`${wsBase}/plain/y`);
  const [, refused] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number; destroy(): void }];
  assert.equal(refused.statusCode, 400);
  refused.destroy();
  ws.on('error', () => {});
  ws.terminate();
  // A route that exists for no one: 404, as for any request.
  const missing = new WebSocket(`${wsBase}/nowhere`);
  const [, notFound] = (await once(missing, 'unexpected-response')) as [unknown, { statusCode: number; destroy(): void }];
  assert.equal(notFound.statusCode, 404);
  notFound.destroy();
  missing.on('error', () => {});
  missing.terminate();
  assert.equal(handshakes.length, before.ws);
});

test('the lifetime cap closes a WebSocket, audited once with connection.lifetime_exceeded', async () => {
  const started = Date.now();
  const { ws, id } = await openWs('/short/chat');
  ws.send('still here');
  assert.equal((await nextMessage(ws)).data.toString(), 'still here');
  await once(ws, 'close');
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= LIFETIME_MS - 50 && elapsed < LIFETIME_MS + 2_000, `closed after ${elapsed} ms`);
  const event = await auditFor(gw, id, 'connection.lifetime_exceeded');
  assert.equal(event.outcome.status, 101);
  assert.ok(event.outcome.durationMs >= LIFETIME_MS - 50, `durationMs ${event.outcome.durationMs}`);
  assert.ok(event.outcome.bytesIn > 0 && event.outcome.bytesOut > 0);
});

test('the lifetime cap ends an event stream, audited once with connection.lifetime_exceeded', async () => {
  const started = Date.now();
  const res = await request(`${gw.url}/sse/events`);
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/event-stream/);
  const id = String(res.headers['x-request-id']);
  const text = await res.body.text(); // resolves when the gateway ends the response
  const elapsed = Date.now() - started;
  assert.match(text, /^data: hello\n\n/);
  assert.ok(elapsed >= LIFETIME_MS - 50 && elapsed < LIFETIME_MS + 2_000, `ended after ${elapsed} ms`);
  const event = await auditFor(gw, id, 'connection.lifetime_exceeded');
  assert.equal(event.outcome.status, 200);
  assert.ok(event.outcome.bytesOut > 0);
});

test('the upstream closing the WebSocket closes the client', async () => {
  const { ws, id } = await openWs('/ws/close-me');
  const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
  assert.equal(code, 4000);
  assert.equal(reason.toString(), 'upstream says bye');
  const event = await auditFor(gw, id, 'ok');
  assert.equal(event.outcome.status, 101);
});

test('a plain request with a non-WebSocket Upgrade is proxied as before, without the Upgrade', async () => {
  const before = handshakes.length;
  const conn = await openRaw(gw.port);
  conn.write('GET /plain/h2c HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n');
  await conn.until((t) => t.endsWith('0\r\n\r\n'), 3_000);
  conn.destroy();
  const res = parseResponse(conn.text());
  assert.equal(res.status, 200);
  assert.match(res.body, /plain/);
  await auditFor(gw, res.headers['x-request-id'] ?? '', 'ok');
  assert.equal(handshakes.length, before);
});

test('over TLS (HTTP/2 offered, HTTP/1.1 fallback): wss echoes, and another Upgrade is still an ordinary request', async () => {
  const ca = createTestCa();
  const leaf = ca.issue('ws', ['a.test']);
  const up = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tlsGw = await startTestGateway(
    `upstreams:\n  up: { url: "${up}" }\nroutes:\n  ws: { match: { prefix: /ws/ }, upstream: up, auth: none, websocket: true }\n  plain: { match: { prefix: /plain/ }, upstream: up, auth: none }\n`,
    { gateway: `tls: { certificates: [{ cert: ${JSON.stringify(leaf.cert)}, key: ${JSON.stringify(leaf.key)}, serverNames: [a.test] }] }` },
  );
  const clientTls = { ca: ca.ca, servername: 'a.test', headers: { host: 'a.test' } };
  try {
    const ws = new WebSocket(`wss://127.0.0.1:${tlsGw.port}/ws/tls`, clientTls);
    let id = '';
    ws.once('upgrade', (res) => (id = String(res.headers['x-request-id'])));
    await once(ws, 'open');
    ws.send('over tls');
    assert.equal((await nextMessage(ws)).data.toString(), 'over tls');
    ws.close();
    await once(ws, 'close');
    await auditFor(tlsGw, id, 'ok');

    const refused = new WebSocket(`wss://127.0.0.1:${tlsGw.port}/plain/ws`, clientTls);
    const [, notAllowed] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number; headers: Record<string, string>; destroy(): void }];
    assert.equal(notAllowed.statusCode, 400);
    notAllowed.destroy();
    refused.on('error', () => {});
    refused.terminate();
    await auditFor(tlsGw, notAllowed.headers['x-request-id'] ?? '', 'request.upgrade_not_allowed');

    const socket = tlsConnect({ port: tlsGw.port, host: '127.0.0.1', ca: ca.ca, servername: 'a.test', ALPNProtocols: ['http/1.1'] });
    await once(socket, 'secureConnect');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.write('GET /plain/tls-h2c HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
    await eventually(() => (Buffer.concat(chunks).toString('latin1').endsWith('0\r\n\r\n') ? true : undefined), 'the plain response');
    socket.destroy();
    const res = parseResponse(Buffer.concat(chunks).toString('latin1'));
    assert.equal(res.status, 200);
    await auditFor(tlsGw, res.headers['x-request-id'] ?? '', 'ok');
  } finally {
    await tlsGw.close();
  }
});
