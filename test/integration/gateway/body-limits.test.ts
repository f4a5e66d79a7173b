// routes.<id>.maxBodyBytes: a declared Content-Length over the limit is refused before anything goes
// upstream; a chunked body that grows past it aborts the upstream request (the upstream never sees a
// complete oversized body). Either way: 413 request.body_too_large where a reply is still possible,
// the connection closed, counted in the metrics and audited exactly once.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { assertProblem, auditFor, auditWhere, eventually, header, openRaw, rawExchange, responseComplete, send } from '../../helpers/gateway-checks.ts';
import { parseResponse } from '../../helpers/raw-http.ts';

const LIMIT = 1024;
const MIB = 1024 * 1024;

/** What one request looked like from the upstream's side. */
interface Seen {
  url: string;
  bytes: number;
  /** The whole body arrived (the message completed); false when the request was aborted. */
  complete: boolean;
  closed: boolean;
}

let upstream: Server;
let upstreamUrl = '';
const seen: Seen[] = [];

before(async () => {
  upstream = createServer((req, res) => {
    const entry: Seen = { url: req.url ?? '', bytes: 0, complete: false, closed: false };
    seen.push(entry);
    req.on('data', (c: Buffer) => (entry.bytes += c.length));
    req.on('end', () => {
      entry.complete = true;
      const body = JSON.stringify({ bodyLength: entry.bytes });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    req.on('error', () => {});
    req.on('close', () => (entry.closed = true));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
after(async () => {
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});
beforeEach(() => {
  seen.length = 0;
});

async function metric(gw: TestGateway, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const res = await send(`${gw.adminUrl}/metrics`);
  for (const line of res.body.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inner = /\{(.*)\}/.exec(line)?.[1] ?? '';
    const have = new Map([...inner.matchAll(/(\w+)="([^"]*)"/g)].map((m): [string, string] => [m[1] ?? '', m[2] ?? '']));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const head = (path: string, ...headers: string[]) => ['POST ' + path + ' HTTP/1.1', 'Host: localhost', ...headers].join('\r\n') + '\r\n\r\n';
const chunk = (n: number, fill = 'x') => `${n.toString(16)}\r\n${fill.repeat(n)}\r\n`;

describe('request body limits', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(`
upstreams:
  up: { url: "${upstreamUrl}" }
routes:
  small: { match: { prefix: /small/ }, upstream: up, auth: none, maxBodyBytes: ${LIMIT} }
  open: { match: { prefix: /open/ }, upstream: up, auth: none, maxBodyBytes: 0 }
  dflt: { match: { prefix: /dflt/ }, upstream: up, auth: none }
`);
  });
  after(async () => {
    await gw.close();
  });

  test('a declared Content-Length over the limit → 413 before anything is sent upstream, connection closed', async () => {
    const { res, conn } = await rawExchange(gw.port, head('/small/declared', `Content-Length: ${LIMIT + 1}`));
    const id = assertProblem({ status: res.status, headers: res.headers, body: res.body }, 413, 'request.body_too_large');
    assert.equal(res.headers.connection, 'close');
    assert.ok(await conn.closed(), 'the gateway closes the connection');
    const event = await auditFor(gw, id, 'request.body_too_large');
    assert.equal(event.outcome.status, 413);
    assert.equal(await metric(gw, 'cortex_requests_total', { code: 'request.body_too_large' }), 1);
    assert.equal(seen.length, 0, 'nothing reached the upstream');
  });

  test('the default limit is 10 MiB: a declared 10 MiB + 1 is refused', async () => {
    const { res, conn } = await rawExchange(gw.port, head('/dflt/big', `Content-Length: ${10 * MIB + 1}`));
    const id = assertProblem({ status: res.status, headers: res.headers, body: res.body }, 413, 'request.body_too_large');
    conn.destroy();
    await auditFor(gw, id, 'request.body_too_large');
    assert.equal(seen.length, 0);
  });

  test('a chunked body that grows past the limit aborts the upstream request; the client gets 413 or a cut connection', async (t) => {
    const conn = await openRaw(gw.port);
    conn.write(head('/small/chunked', 'Transfer-Encoding: chunked') + chunk(600));
    // The first 600 bytes are under the limit and stream through to the upstream.
    const entry = await eventually(() => (seen[0] && seen[0].bytes === 600 ? seen[0] : undefined), 'the first 600 bytes upstream');
    conn.write(chunk(600) + chunk(600) + '0\r\n\r\n');
    await eventually(() => (entry.closed ? true : undefined), 'the upstream request to close');
    assert.equal(entry.complete, false, 'the upstream saw an aborted request, not a complete one');
    assert.ok(entry.bytes <= LIMIT, `the upstream got at most the limit (${entry.bytes} bytes)`);
    assert.ok(await conn.closed(), 'the client connection is closed');
    const text = conn.text();
    t.diagnostic(text === '' ? 'the client saw the connection cut' : `the client got: ${text.split('\r\n')[0]}`);
    if (text !== '') {
      assert.ok(responseComplete(text), `a whole reply or none: ${JSON.stringify(text)}`);
      const res = parseResponse(text);
      assertProblem({ status: res.status, headers: res.headers, body: res.body }, 413, 'request.body_too_large');
    }
    const [event] = await auditWhere(gw, (e) => e.what.path === '/small/chunked');
    assert.equal(event?.outcome.code, 'request.body_too_large');
    await new Promise((r) => setTimeout(r, 100)); // a second event for the same exchange would show up now
    assert.equal((await gw.audit()).filter((e) => e.what.path === '/small/chunked').length, 1, 'one audit event');
    assert.equal(seen.length, 1);
  });

  test('a body exactly at the limit passes, declared or chunked', async () => {
    const declared = await send(`${gw.url}/small/exact`, { method: 'POST', body: Buffer.alloc(LIMIT, 'a') });
    assert.equal(declared.status, 200, declared.body);
    assert.deepEqual(JSON.parse(declared.body), { bodyLength: LIMIT });

    const { res, conn } = await rawExchange(gw.port, head('/small/exact-chunked', 'Transfer-Encoding: chunked') + chunk(512) + chunk(512) + '0\r\n\r\n');
    conn.destroy();
    assert.equal(res.status, 200, res.raw);
    assert.deepEqual(JSON.parse(res.body), { bodyLength: LIMIT });
    assert.equal(header({ headers: res.headers }, 'connection') === 'close', false, 'the connection is kept');
    assert.deepEqual(seen.map((s) => [s.bytes, s.complete]), [[LIMIT, true], [LIMIT, true]]);
  });

  test('maxBodyBytes: 0 means no limit (11 MiB declared and chunked pass)', async () => {
    const size = 11 * MIB;
    const declared = await send(`${gw.url}/open/declared`, { method: 'POST', body: Buffer.alloc(size, 'b') });
    assert.equal(declared.status, 200, declared.body);
    assert.deepEqual(JSON.parse(declared.body), { bodyLength: size });

    function* pieces() {
      for (let sent = 0; sent < size; sent += 64 * 1024) yield Buffer.alloc(64 * 1024, 'c');
    }
    const chunked = await send(`${gw.url}/open/chunked`, { method: 'POST', body: Readable.from(pieces()) });
    assert.equal(chunked.status, 200, chunked.body);
    assert.deepEqual(JSON.parse(chunked.body), { bodyLength: size });
    const events = await auditWhere(gw, (e) => e.what.path.startsWith('/open/'), 2);
    assert.deepEqual(events.map((e) => [e.outcome.code, e.outcome.bytesIn]), [['ok', size], ['ok', size]]);
  });
});
