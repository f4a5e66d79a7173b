// gateway.limits over raw sockets: a slowloris head, oversized heads, too many headers, a long
// request target and too many connections. Each is answered with its status as problem+json where
// a reply is still possible, counted in cortex_client_errors_total and audited exactly once.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { assertProblem, auditFor, auditWhere, eventually, header, openRaw, rawExchange, responseComplete, send } from '../../helpers/gateway-checks.ts';
import type { RawConnection } from '../../helpers/gateway-checks.ts';
import { parseResponse } from '../../helpers/raw-http.ts';

let upstream: TestUpstream;

// The helper writes its own gateway.listen; a stage override deep-merges the limits into it.
const config = (url: string, limits: string) => `
upstreams:
  echo: { url: "${url}" }
routes:
  api: { match: { prefix: /api/ }, upstream: echo, auth: none }
stages:
  dev:
    gateway:
      limits: ${limits}
`;

async function metric(gw: TestGateway, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const res = await send(`${gw.adminUrl}/metrics`);
  assert.equal(res.status, 200);
  for (const line of res.body.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inner = /\{(.*)\}/.exec(line)?.[1] ?? '';
    const have = new Map([...inner.matchAll(/(\w+)="([^"]*)"/g)].map((m): [string, string] => [m[1] ?? '', m[2] ?? '']));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const get = (target: string, ...headers: string[]) =>
  ['GET ' + target + ' HTTP/1.1', 'Host: localhost', ...headers].join('\r\n') + '\r\n\r\n';

before(async () => {
  upstream = await startUpstream();
});
after(async () => {
  await upstream.close();
});
beforeEach(() => {
  upstream.requests.length = 0;
});

describe('request limits', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(
      config(upstream.url, '{ maxHeaderBytes: 2048, maxHeaders: 10, maxUrlBytes: 512, headersTimeoutMs: 500, requestTimeoutMs: 5000 }'),
    );
  });
  after(async () => {
    await gw.close();
  });

  /** A rejected raw request: the problem reply, nothing at the upstream, one audit event; returns the detail. */
  async function rejected(bytes: string, status: number, code: string, label: string): Promise<string> {
    const reached = upstream.requests.length;
    const { res, conn } = await rawExchange(gw.port, bytes);
    conn.destroy();
    const id = assertProblem(res, status, code, label);
    await auditFor(gw, id, code);
    assert.equal(upstream.requests.length, reached, `${label}: nothing may reach the upstream`);
    return (JSON.parse(res.body) as { detail: string }).detail;
  }

  async function accepted(bytes: string, label: string): Promise<void> {
    const { res, conn } = await rawExchange(gw.port, bytes);
    conn.destroy();
    assert.equal(res.status, 200, `${label}: ${res.raw}`);
    await auditFor(gw, header(res, 'x-request-id') ?? '', 'ok');
  }

  test('a head sent one byte at a time past headersTimeoutMs → 408 request.timeout, then the connection closes', async () => {
    const conn = await openRaw(gw.port);
    const trickle = 'GET /api/slow HTTP/1.1\r\nHost: localhost\r\nX-Slowloris: ' + 'a'.repeat(1_000);
    let sent = 0;
    // One byte every 20 ms until the gateway answers; bounded so a gateway that never times out fails.
    while (conn.text() === '' && sent < trickle.length) {
      conn.write(trickle.charAt(sent++));
      await new Promise((r) => setTimeout(r, 20));
    }
    const text = await conn.until((t) => responseComplete(t), 5_000);
    const id = assertProblem(parseResponse(text), 408, 'request.timeout', 'slowloris');
    assert.ok(await conn.closed(), 'the connection is closed after the 408');
    conn.destroy();
    await auditFor(gw, id, 'request.timeout');
    assert.equal(upstream.requests.length, 0);
    assert.equal(await metric(gw, 'cortex_client_errors_total', { code: 'request.timeout' }), 1);
  });

  test('a head over maxHeaderBytes → 431 request.header_too_large', async () => {
    await accepted(get('/api/small', `X-Pad: ${'p'.repeat(1_500)}`), 'under the limit');
    await rejected(get('/api/big', `X-Pad: ${'p'.repeat(2_500)}`), 431, 'request.header_too_large', 'big head');
    assert.equal(await metric(gw, 'cortex_client_errors_total', { code: 'request.header_too_large' }), 1);
  });

  test('more header fields than maxHeaders → 431 request.header_too_large naming the count', async () => {
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-H${i}: v`);
    await accepted(get('/api/ten', ...fields(9)), 'Host + 9 = 10 fields');
    const detail = await rejected(get('/api/eleven', ...fields(10)), 431, 'request.header_too_large', 'Host + 10 = 11 fields');
    assert.match(detail, /\b11\b/, detail);
    assert.match(detail, /\b10\b/, detail);
    assert.equal(await metric(gw, 'cortex_client_errors_total', { code: 'request.header_too_large' }), 2);
  });

  test('a request target over maxUrlBytes → 414 request.uri_too_long', async () => {
    await accepted(get(`/api/${'u'.repeat(507)}`), 'exactly maxUrlBytes');
    const detail = await rejected(get(`/api/${'u'.repeat(600)}`), 414, 'request.uri_too_long', 'long target');
    assert.match(detail, /\b605\b/, detail);
    const query = await rejected(get(`/api/q?${'k=v&'.repeat(200)}`), 414, 'request.uri_too_long', 'long query');
    assert.match(query, /\b512\b/, query);
    assert.equal(await metric(gw, 'cortex_client_errors_total', { code: 'request.uri_too_long' }), 2);
  });

  test('a target so long it overflows the whole head → 431', async () => {
    await rejected(get(`/api/${'u'.repeat(3_000)}`), 431, 'request.header_too_large', 'target over maxHeaderBytes');
  });
});

describe('connection limit', () => {
  let gw: TestGateway;
  const open: RawConnection[] = [];
  before(async () => {
    gw = await startTestGateway(config(upstream.url, '{ maxConnections: 3, keepAliveTimeoutMs: 60000 }'));
  });
  after(async () => {
    for (const c of open) c.destroy();
    await gw.close();
  });

  /** One keep-alive request on `conn`; resolves with the 200's request id. */
  async function roundTrip(conn: RawConnection, path: string): Promise<string> {
    const before = conn.text().length;
    conn.write(get(path));
    const text = await conn.until((t) => responseComplete(t.slice(before)));
    const res = parseResponse(text.slice(before));
    assert.equal(res.status, 200, res.raw);
    return header(res, 'x-request-id') ?? '';
  }

  test('connections over maxConnections are closed; those already open keep working', async () => {
    for (let i = 0; i < 3; i++) {
      const conn = await openRaw(gw.port);
      open.push(conn);
      await roundTrip(conn, `/api/conn-${i}`); // the gateway has accepted it
    }
    const extra = await openRaw(gw.port); // the kernel completes the handshake; Node then closes it
    open.push(extra);
    assert.ok(await extra.closed(3_000), 'the connection over the limit is closed');
    assert.equal(extra.text(), '', 'no reply can be sent on a dropped connection');

    for (const [i, conn] of open.slice(0, 3).entries()) {
      const id = await roundTrip(conn, `/api/again-${i}`);
      await auditFor(gw, id, 'ok');
    }
    const dropped = await auditWhere(gw, (e) => e.outcome.code === 'connection.limit');
    assert.equal(dropped.length, 1, JSON.stringify(dropped));
    assert.equal(dropped[0]?.outcome.status, 503);
    assert.equal(await eventually(async () => metric(gw, 'cortex_client_errors_total', { code: 'connection.limit' }), 'the metric'), 1);

    // Once a connection closes, a new one is accepted.
    (open[0] as RawConnection).destroy();
    await eventually(async () => {
      const conn = await openRaw(gw.port);
      open.push(conn);
      conn.write(get('/api/after'));
      const ok = await conn.until((t) => responseComplete(t), 2_000).then(() => true, () => false);
      return ok ? true : undefined;
    }, 'a connection to be accepted again');
  });
});
