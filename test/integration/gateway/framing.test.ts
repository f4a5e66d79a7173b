// Request framing over raw sockets (the header-attack theme, continued): Content-Length /
// Transfer-Encoding conflicts, bad chunks, classic smuggling payloads, oversized headers and bytes
// that are not HTTP. Every rejection is one problem+json reply, one audit event, nothing upstream.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { parseResponse } from '../../helpers/raw-http.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { assertProblem, auditFor, eventually, openRaw } from '../../helpers/gateway-checks.ts';

let upstream: TestUpstream;
let gw: TestGateway;
/** Every request head that reached the upstream, complete or not. */
let started: IncomingMessage[] = [];

before(async () => {
  upstream = await startUpstream();
  upstream.server.on('request', (r: IncomingMessage) => started.push(r));
  gw = await startTestGateway(`
upstreams:
  echo: { url: "${upstream.url}" }
routes:
  api: { match: { prefix: /api/ }, upstream: echo, auth: none }
`);
});
after(async () => {
  await gw.close();
  await upstream.close();
});
beforeEach(() => {
  upstream.requests.length = 0;
  started = [];
});

const SMUGGLED = 'GET /api/smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n';
const head = (...lines: string[]) => ['POST /api/upload HTTP/1.1', 'Host: localhost', ...lines].join('\r\n') + '\r\n\r\n';

interface Options {
  /** Bytes sent once the request has started (reached the upstream or been answered). */
  later?: string;
  /** The head was valid, so the request may have started streaming upstream before the body failed. */
  streamed?: boolean;
}

/**
 * Sends `bytes` (and `later`), then asserts: exactly one problem reply with `code` on the wire, the
 * connection closed by the gateway, one audit event for that request id and no other event for the
 * connection, no complete request upstream and never the smuggled one.
 */
async function rejectedOnce(bytes: string | Buffer, status: number, code: string, label: string, opts: Options = {}): Promise<void> {
  const { later } = opts;
  const auditBefore = (await gw.audit()).length;
  const conn = await openRaw(gw.port);
  conn.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  if (later !== undefined) {
    await eventually(() => (started.length > 0 || conn.text() !== '' ? true : undefined), `${label}: the request to start`);
    conn.write(later);
  }
  const closed = await conn.closed(1_000);
  conn.destroy();
  const text = conn.text();
  const res = parseResponse(text);
  const id = assertProblem(res, status, code, label);
  assert.equal(text.split('HTTP/1.1 ').length - 1, 1, `${label}: exactly one response on the wire, got ${JSON.stringify(text)}`);
  assert.ok(closed, `${label}: the gateway closes the connection after a framing error`);
  await auditFor(gw, id, code);
  const events = (await gw.audit()).slice(auditBefore);
  assert.deepEqual(
    events.map((e) => `${e.id === id ? 'this' : e.id} ${e.outcome.status} ${e.outcome.code}`),
    [`this ${status} ${code}`],
    `${label}: one audit event for the connection`,
  );
  assert.equal(upstream.requests.length, 0, `${label}: no complete request upstream`);
  assert.ok(!started.some((r) => r.url === '/api/smuggled'), `${label}: the smuggled request never reaches the upstream`);
  if (!opts.streamed) assert.equal(started.length, 0, `${label}: not even a request head reaches the upstream`);
}

describe('Content-Length and Transfer-Encoding', () => {
  test('Content-Length together with Transfer-Encoding → 400 request.bad_framing', async () => {
    await rejectedOnce(head('Content-Length: 5', 'Transfer-Encoding: chunked') + '0\r\n\r\n', 400, 'request.bad_framing', 'CL+TE');
  });

  test('two different Content-Lengths, or the same one twice → 400 request.bad_framing', async () => {
    await rejectedOnce(head('Content-Length: 3', 'Content-Length: 4') + 'abcd', 400, 'request.bad_framing', 'CL 3 + CL 4');
    await rejectedOnce(head('Content-Length: 3', 'Content-Length: 3') + 'abc', 400, 'request.bad_framing', 'CL 3 twice');
  });

  test('Transfer-Encoding: gzip, chunked → 400 request.bad_framing and the connection closed', async () => {
    await rejectedOnce(head('Transfer-Encoding: gzip, chunked') + '0\r\n\r\n', 400, 'request.bad_framing', 'gzip, chunked');
  });

  test('Transfer-Encoding: xchunked → one 400 reply and one audit event', async () => {
    await rejectedOnce(head('Transfer-Encoding: xchunked') + '0\r\n\r\n', 400, 'request.bad_framing', 'xchunked');
  });

  test('a malformed chunk size in the first packet → 400, one audit event', async () => {
    await rejectedOnce(head('Transfer-Encoding: chunked') + 'zz\r\nabc\r\n0\r\n\r\n', 400, 'request.bad_framing', 'bad chunk', { streamed: true });
  });

  test('a malformed chunk after a good one → 400 and the upstream request is aborted, not completed', async () => {
    await rejectedOnce(head('Transfer-Encoding: chunked') + '3\r\nabc\r\n', 400, 'request.bad_framing', 'late bad chunk', { later: 'zz\r\n', streamed: true });
    for (const r of started) await eventually(() => (r.destroyed || r.readableAborted ? true : undefined), 'the upstream request to close');
  });
});

describe('pipelining', () => {
  test('a malformed request pipelined behind a valid one does not take the valid one’s place', async (t) => {
    let held: ServerResponse | undefined;
    upstream.handle((_req, res) => {
      held = res;
    });
    t.after(() => upstream.handle((req, res) => res.end(req.url)));
    const auditBefore = (await gw.audit()).length;
    const conn = await openRaw(gw.port);
    conn.write('GET /api/first HTTP/1.1\r\nHost: localhost\r\n\r\nGARBAGE\r\n\r\n');
    await eventually(() => held, 'the first request to reach the upstream');
    held?.end('first answer');
    await conn.closed(1_000);
    conn.destroy();
    const text = conn.text();
    const first = parseResponse(text);
    assert.equal(first.status, 200, `the first response answers the first request: ${JSON.stringify(text)}`);
    assert.equal(first.body, 'first answer');
    const second = parseResponse(text.slice(text.indexOf('first answer') + 'first answer'.length));
    const badId = assertProblem(second, 400, 'request.malformed');
    const events = (await gw.audit()).slice(auditBefore);
    assert.deepEqual(events.map((e) => e.outcome.code).sort(), ['ok', 'request.malformed']);
    assert.equal(events.find((e) => e.outcome.code === 'ok')?.id, first.headers['x-request-id']);
    assert.equal(events.find((e) => e.outcome.code === 'request.malformed')?.id, badId);
  });
});

describe('classic smuggling payloads never produce a second request upstream', () => {
  const payloads: [string, string, string][] = [
    ['CL.TE', head('Content-Length: 6', 'Transfer-Encoding: chunked') + '0\r\n\r\nG' + SMUGGLED, 'request.bad_framing'],
    ['TE.CL', head('Content-Length: 4', 'Transfer-Encoding: chunked') + `${(SMUGGLED.length + 2).toString(16)}\r\nGP${SMUGGLED}\r\n0\r\n\r\n`, 'request.bad_framing'],
    ['TE.TE (chunked, then cow)', head('Transfer-Encoding: chunked', 'Transfer-Encoding: cow', 'Content-Length: 4') + '0\r\n\r\n' + SMUGGLED, 'request.bad_framing'],
    ['space before colon', head('Transfer-Encoding : chunked', 'Content-Length: 4') + '0\r\n\r\n' + SMUGGLED, 'request.malformed'],
    ['obs-fold', head('X-Pad: 1', ' Transfer-Encoding: chunked', 'Content-Length: 4') + '0\r\n\r\n' + SMUGGLED, 'request.malformed'],
    ['vertical tab', head('Transfer-Encoding:\x0bchunked', 'Content-Length: 4') + '0\r\n\r\n' + SMUGGLED, 'request.malformed'],
    ['gzip, chunked without Content-Length', head('Transfer-Encoding: gzip, chunked') + '0\r\n\r\n' + SMUGGLED, 'request.bad_framing'],
    ['chunked, identity', head('Transfer-Encoding: chunked, identity') + '0\r\n\r\n' + SMUGGLED, 'request.bad_framing'],
  ];
  for (const [label, bytes, code] of payloads) {
    test(label, async () => {
      await rejectedOnce(bytes, 400, code, label);
      assert.deepEqual(started.map((r) => r.url), [], `${label}: nothing reached the upstream`);
    });
  }
});

describe('input that is not a request the gateway will read', () => {
  test('headers over the default maximum size → 431 request.header_too_large', async () => {
    const big = `GET /api/x HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    await rejectedOnce(big, 431, 'request.header_too_large', 'big header');
    const many = `GET /api/x HTTP/1.1\r\nHost: localhost\r\n${Array.from({ length: 600 }, (_, i) => `X-H${i}: ${'v'.repeat(30)}`).join('\r\n')}\r\n\r\n`;
    await rejectedOnce(many, 431, 'request.header_too_large', 'many headers');
  });

  test('a TLS ClientHello on the plain port → 400 request.malformed', async () => {
    const hello = Buffer.from('16030100a5010000a103034a3b2c1d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f', 'hex');
    await rejectedOnce(hello, 400, 'request.malformed', 'TLS hello');
  });

  test('garbage lines, NUL bytes and bare LF → 400 request.malformed', async () => {
    await rejectedOnce('GARBAGE\r\n\r\n', 400, 'request.malformed', 'GARBAGE');
    await rejectedOnce('GET /api/x HTTP/1.1\r\nHost: local\0host\r\n\r\n', 400, 'request.malformed', 'NUL in a header');
    await rejectedOnce('GET /api/x HTTP/9.9\r\nHost: localhost\r\n\r\n', 400, 'request.malformed', 'HTTP/9.9');
  });

  test('CONNECT → 405, answered and audited', async () => {
    await rejectedOnce('CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n', 405, 'route.method_not_allowed', 'CONNECT');
  });
});
