// Forwarding through a real gateway to a real upstream: methods and bodies, query strings, status
// and headers both ways, request ids, traceparent, HEAD, large streams, per-route header ops.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { auditFor, header, openRaw, send } from '../../helpers/gateway-checks.ts';
import { parseResponse } from '../../helpers/raw-http.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let upstream: TestUpstream;
let gw: TestGateway;

before(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`
upstreams:
  echo: { url: "${upstream.url}" }
routes:
  # Above the 10 MiB default body limit: the streaming test uploads 20 MB.
  api: { match: { prefix: /api/ }, upstream: echo, auth: none, maxBodyBytes: 33554432 }
  hdrs:
    match: { path: /hdrs }
    upstream: echo
    auth: none
    requestHeaders: { set: { x-added: "yes", x-team: blue }, remove: [x-secret] }
    responseHeaders: { set: { x-frame-options: DENY }, remove: [x-powered-by] }
`);
});
after(async () => {
  await gw.close();
  await upstream.close();
});
beforeEach(() => {
  upstream.requests.length = 0;
  upstream.handle((req, res, body) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'echo' });
    res.end(JSON.stringify({ method: req.method, url: req.url, sha: sha256(body), length: body.length }));
  });
});

describe('proxying', () => {
  test('POST, PUT and DELETE pass with content-length and chunked bodies; GET passes', async () => {
    for (const method of ['POST', 'PUT', 'DELETE'] as const) {
      const payload = `payload for ${method} ${'x'.repeat(1000)}`;
      for (const chunked of [false, true]) {
        upstream.requests.length = 0;
        const body = chunked ? Readable.from([Buffer.from(payload.slice(0, 10)), Buffer.from(payload.slice(10))]) : payload;
        const res = await send(`${gw.url}/api/items/${method.toLowerCase()}`, { method, body });
        assert.equal(res.status, 200, `${method} chunked=${chunked}: ${res.body}`);
        assert.equal(upstream.requests.length, 1);
        const seen = upstream.requests[0]!;
        assert.equal(seen.method, method);
        assert.equal(seen.body.toString(), payload);
        // Re-framed, never copied: one framing header, whichever the gateway chose.
        const framing = [seen.headers['content-length'], seen.headers['transfer-encoding']].filter((v) => v !== undefined);
        assert.equal(framing.length, 1, JSON.stringify(seen.headers));
        if (!chunked) assert.equal(seen.headers['content-length'], String(Buffer.byteLength(payload)));
        const event = await auditFor(gw, header(res, 'x-request-id')!, 'ok');
        assert.equal(event.what.route, 'api');
        assert.equal(event.outcome.upstreamStatus, 200);
        if (!chunked) assert.equal(event.outcome.bytesIn, Buffer.byteLength(payload));
      }
    }
    upstream.requests.length = 0;
    const res = await send(`${gw.url}/api/items`);
    assert.equal(res.status, 200);
    assert.equal(upstream.requests[0]?.method, 'GET');
    assert.equal(upstream.requests[0]?.headers['content-length'], undefined);
    assert.equal(upstream.requests[0]?.headers['transfer-encoding'], undefined);
  });

  test('the query string reaches the upstream untouched', async () => {
    const query = '?q=a%20b&x=%2F..%2Fadmin&y=1&y=2&z&e=%e2%82%ac&plus=a+b&q2=?/';
    const res = await send(`${gw.url}/api/search${query}`);
    assert.equal(res.status, 200);
    assert.equal(upstream.requests[0]?.url, `/api/search${query}`);
    const event = await auditFor(gw, header(res, 'x-request-id')!, 'ok');
    assert.equal(event.what.path, '/api/search', 'no query string in the audit trail');
  });

  test('upstream status, headers and body pass back; an upstream 500 is relayed, not rewritten', async () => {
    upstream.handle((_req, res) => {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      res.writeHead(201, { 'content-type': 'text/plain', 'x-custom': 'kept', 'cache-control': 'max-age=5', 'x-request-id': 'upstream-chosen' });
      res.end('created');
    });
    const res = await send(`${gw.url}/api/created`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 201);
    assert.equal(res.body, 'created');
    assert.equal(header(res, 'x-custom'), 'kept');
    assert.equal(header(res, 'cache-control'), 'max-age=5');
    assert.deepEqual(res.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
    assert.notEqual(header(res, 'x-request-id'), 'upstream-chosen', 'the request id of the gateway wins over the one of the upstream');
    await auditFor(gw, header(res, 'x-request-id')!, 'ok');

    upstream.handle((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('upstream broke');
    });
    const failed = await send(`${gw.url}/api/broken`);
    assert.equal(failed.status, 500);
    assert.equal(failed.body, 'upstream broke');
    const event = await auditFor(gw, header(failed, 'x-request-id')!, 'ok');
    assert.equal(event.outcome.upstreamStatus, 500);
  });

  test('hop-by-hop response headers, and those the upstream names in Connection, are stripped', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(200, {
        connection: 'keep-alive, x-hop',
        'keep-alive': 'timeout=99, max=7',
        'x-hop': 'secret',
        'proxy-authenticate': 'Basic realm="inner"',
        upgrade: 'h2c',
        'x-end-to-end': 'kept',
      });
      res.end('ok');
    });
    const res = await send(`${gw.url}/api/hop`);
    assert.equal(res.status, 200);
    assert.equal(header(res, 'x-end-to-end'), 'kept');
    assert.equal(header(res, 'x-hop'), undefined);
    assert.equal(header(res, 'proxy-authenticate'), undefined);
    assert.equal(header(res, 'upgrade'), undefined);
    assert.notEqual(header(res, 'keep-alive'), 'timeout=99, max=7');
    await auditFor(gw, header(res, 'x-request-id')!, 'ok');
  });

  test('x-request-id: generated as a UUID, kept when well-formed, replaced when malformed', async () => {
    const generated = await send(`${gw.url}/api/id`);
    assert.match(header(generated, 'x-request-id') ?? '', UUID);
    await auditFor(gw, header(generated, 'x-request-id')!, 'ok');

    const kept = await send(`${gw.url}/api/id`, { headers: { 'x-request-id': 'client-id_1.2:3' } });
    assert.equal(header(kept, 'x-request-id'), 'client-id_1.2:3');
    await auditFor(gw, 'client-id_1.2:3', 'ok');

    for (const bad of ['a'.repeat(200), 'has spaces in it', 'semi;colon', 'quote"d']) {
      const res = await send(`${gw.url}/api/id`, { headers: { 'x-request-id': bad } });
      const id = header(res, 'x-request-id') ?? '';
      assert.match(id, UUID, `replaced: ${bad}`);
      await auditFor(gw, id, 'ok');
      assert.ok(!JSON.stringify(await gw.audit()).includes(bad), 'the malformed id is nowhere in the audit trail');
    }
  });

  test('the upstream receives the request id the client was given, never a malformed one', async () => {
    for (const sent of [undefined, 'client-id-77', 'bad id with spaces']) {
      upstream.requests.length = 0;
      const res = await send(`${gw.url}/api/id`, { headers: sent === undefined ? {} : { 'x-request-id': sent } });
      const id = header(res, 'x-request-id');
      assert.equal(upstream.requests[0]?.headers['x-request-id'], id, `sent ${String(sent)}`);
    }
  });

  test('traceparent passes through to the upstream and into the audit event', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await send(`${gw.url}/api/trace`, { headers: { traceparent, tracestate: 'vendor=1' } });
    assert.equal(upstream.requests[0]?.headers.traceparent, traceparent);
    assert.equal(upstream.requests[0]?.headers.tracestate, 'vendor=1');
    const event = await auditFor(gw, header(res, 'x-request-id')!, 'ok');
    assert.equal(event.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  });

  test('HEAD is forwarded and answered with headers and no body', async () => {
    upstream.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1234', 'x-method': req.method ?? '' });
      res.end();
    });
    const res = await send(`${gw.url}/api/head`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.body, '');
    assert.equal(header(res, 'content-length'), '1234');
    assert.equal(header(res, 'x-method'), 'HEAD');
    assert.equal(upstream.requests[0]?.method, 'HEAD');
    await auditFor(gw, header(res, 'x-request-id')!, 'ok');
  });

  test('a 20 MB response streams back intact, and a 20 MB chunked upload reaches the upstream intact', async () => {
    const big = randomBytes(20 * 1024 * 1024);
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let off = 0;
      const pump = () => {
        while (off < big.length) {
          const chunk = big.subarray(off, off + 256 * 1024);
          off += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const down = await request(`${gw.url}/api/download`);
    const hash = createHash('sha256');
    let received = 0;
    for await (const chunk of down.body) {
      hash.update(chunk as Buffer);
      received += (chunk as Buffer).length;
    }
    assert.equal(down.statusCode, 200);
    assert.equal(received, big.length);
    assert.equal(hash.digest('hex'), sha256(big));
    const downEvent = await auditFor(gw, String(down.headers['x-request-id']), 'ok');
    assert.equal(downEvent.outcome.bytesOut, big.length);

    upstream.handle((_req, res, body) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sha: sha256(body), length: body.length }));
    });
    const parts = function* () {
      for (let off = 0; off < big.length; off += 300_000) yield big.subarray(off, off + 300_000);
    };
    const up = await send(`${gw.url}/api/upload`, { method: 'POST', body: Readable.from(parts()) });
    assert.equal(up.status, 200);
    assert.deepEqual(JSON.parse(up.body), { sha: sha256(big), length: big.length });
    await auditFor(gw, header(up, 'x-request-id')!, 'ok');
  });

  test('the audit event counts the bytes of a chunked request body (bytesIn)', async () => {
    const payload = Buffer.alloc(70_000, 'c');
    const res = await send(`${gw.url}/api/chunked`, { method: 'POST', body: Readable.from([payload.subarray(0, 1), payload.subarray(1)]) });
    assert.equal(res.status, 200);
    assert.equal(upstream.requests[0]?.body.length, payload.length);
    const event = await auditFor(gw, header(res, 'x-request-id')!, 'ok');
    assert.equal(event.outcome.bytesIn, payload.length, 'outcome.bytesIn: request body bytes received from the client');
  });

  test('per-route request and response header set/remove', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(200, { 'x-powered-by': 'Express', 'x-frame-options': 'SAMEORIGIN', 'x-other': 'kept' });
      res.end('ok');
    });
    const res = await send(`${gw.url}/hdrs`, { headers: { 'x-secret': 's3cr3t', 'x-team': 'red', 'x-keep': '1' } });
    assert.equal(res.status, 200);
    const seen = upstream.requests[0]!.headers;
    assert.equal(seen['x-secret'], undefined);
    assert.equal(seen['x-added'], 'yes');
    assert.equal(seen['x-team'], 'blue');
    assert.equal(seen['x-keep'], '1');
    assert.equal(header(res, 'x-powered-by'), undefined);
    assert.equal(header(res, 'x-frame-options'), 'DENY');
    assert.equal(header(res, 'x-other'), 'kept');
    await auditFor(gw, header(res, 'x-request-id')!, 'ok');
  });

  test('an upstream 103 Early Hints before the final response does not break the request', async () => {
    upstream.handle((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' }, () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
        res.end('final');
      });
    });
    const res = await rawExchange(gw.port, 'GET /api/hints HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    const final = parseResponse(res.replace(/^HTTP\/1\.1 1\d\d [^\r]*\r\n(?:[^\r]+\r\n)*\r\n/, ''));
    assert.equal(final.status, 200, JSON.stringify(res));
    assert.equal(final.body, 'final', JSON.stringify(res));
    await auditFor(gw, final.headers['x-request-id'] ?? '', 'ok');
  });
});

/** Raw bytes in, everything the gateway sent until it closed. */
async function rawExchange(port: number, bytes: string): Promise<string> {
  const conn = await openRaw(port);
  conn.write(bytes);
  await conn.closed(3_000);
  conn.destroy();
  return conn.text();
}
