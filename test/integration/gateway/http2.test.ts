// HTTP/2 over TLS, negotiated by ALPN beside HTTP/1.1 on the same port: the same filter chain and
// the same host and path rules serve both; an HTTP/2 request reaches a plain HTTP/1.1 upstream with
// :authority as its Host and no pseudo-headers; streams share a session without disturbing each
// other (many at once, one reset mid-request); and every stream has its own audit event.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, constants } from 'node:http2';
import type { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { createTestCa } from '../../helpers/certs.ts';
import type { TestCa } from '../../helpers/certs.ts';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { auditFor, eventually } from '../../helpers/gateway-checks.ts';

let ca: TestCa;
let upstream: TestUpstream;
let gw: TestGateway;
/** Requests to /hold/... wait here until released. */
const held: (() => void)[] = [];

before(async () => {
  ca = createTestCa();
  const leaf = ca.issue('h2', ['a.test']);
  upstream = await startUpstream();
  upstream.handle((req, res, body) => {
    const reply = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'echo', connection: 'keep-alive' });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, bodyLength: body.length }));
    };
    if (req.url?.startsWith('/hold/')) held.push(reply);
    else reply();
  });
  gw = await startTestGateway(
    `upstreams:\n  u: { url: "${upstream.url}" }\nroutes:\n  all: { match: { prefix: / }, upstream: u, auth: none }\n  small: { match: { prefix: /small/ }, upstream: u, auth: none, maxBodyBytes: 10 }\n`,
    { gateway: `tls: { certificates: [{ cert: ${JSON.stringify(leaf.cert)}, key: ${JSON.stringify(leaf.key)}, serverNames: [a.test] }] }` },
  );
});
after(async () => {
  await gw.close();
  await upstream.close();
  ca.close();
});

function session(): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = connect(`https://a.test:${gw.port}`, { ca: ca.ca, host: '127.0.0.1', servername: 'a.test' });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

interface H2Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function h2request(s: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Buffer | string): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = s.request(headers, { endStream: body === undefined });
    let head: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (head = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks).toString() }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  rawHeaders: string[];
  bodyLength: number;
}

describe('HTTP/2 over TLS', () => {
  test('a GET reaches the HTTP/1.1 upstream with :authority as Host, no pseudo-headers, and proto https', async () => {
    const s = await session();
    try {
      assert.equal((s.socket as TLSSocket).alpnProtocol, 'h2');
      assert.equal(s.remoteSettings.maxConcurrentStreams, 100, 'gateway.limits.maxConcurrentStreams (default)');
      const res = await h2request(s, { ':method': 'GET', ':path': '/orders/1?x=1', ':authority': 'a.test' });
      assert.equal(res.status, 200, res.body);
      assert.equal(res.headers['x-upstream'], 'echo');
      assert.equal(res.headers.connection, undefined, 'no connection-specific headers over HTTP/2');
      assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      const seen = JSON.parse(res.body) as Seen;
      assert.equal(seen.method, 'GET');
      assert.equal(seen.url, '/orders/1?x=1');
      assert.equal(seen.headers.host, 'a.test');
      assert.equal(seen.headers['x-forwarded-proto'], 'https');
      assert.equal(seen.headers['x-forwarded-host'], 'a.test');
      assert.match(seen.headers.forwarded ?? '', /;proto=https(;|$)/);
      assert.deepEqual(seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i]?.startsWith(':')), []);
    } finally {
      s.close();
    }
  });

  test('a POST body (with and without content-length) reaches the upstream whole', async () => {
    const s = await session();
    try {
      const payload = 'x'.repeat(100_000);
      const withLength = await h2request(
        s, { ':method': 'POST', ':path': '/submit', ':authority': 'a.test', 'content-type': 'text/plain', 'content-length': String(payload.length) }, payload,
      );
      assert.equal(withLength.status, 200, withLength.body);
      const a = JSON.parse(withLength.body) as Seen;
      assert.equal(a.method, 'POST');
      assert.equal(a.bodyLength, payload.length);
      assert.equal(a.headers['content-length'], String(payload.length));
      assert.equal(a.headers['content-type'], 'text/plain');

      const streamed = await h2request(s, { ':method': 'POST', ':path': '/submit', ':authority': 'a.test' }, payload);
      assert.equal(streamed.status, 200, streamed.body);
      const b = JSON.parse(streamed.body) as Seen;
      assert.equal(b.bodyLength, payload.length, 'a body without content-length is forwarded (chunked upstream)');
    } finally {
      s.close();
    }
  });

  test('a body over the route limit is refused 413 on its stream; the session carries on', async () => {
    const s = await session();
    try {
      const declared = await h2request(s, { ':method': 'POST', ':path': '/small/x', ':authority': 'a.test', 'content-length': '100' }, 'z'.repeat(100));
      assert.equal(declared.status, 413, declared.body);
      assert.equal((JSON.parse(declared.body) as { code: string }).code, 'request.body_too_large');
      assert.equal(declared.headers.connection, undefined);
      const streamed = await h2request(s, { ':method': 'POST', ':path': '/small/y', ':authority': 'a.test' }, 'z'.repeat(100));
      assert.equal(streamed.status, 413, streamed.body);
      assert.equal((JSON.parse(streamed.body) as { code: string }).code, 'request.body_too_large');
      const ok = await h2request(s, { ':method': 'POST', ':path': '/small/z', ':authority': 'a.test' }, 'tiny');
      assert.equal(ok.status, 200, ok.body);
      assert.equal((JSON.parse(ok.body) as Seen).bodyLength, 4);
    } finally {
      s.close();
    }
  });

  test('path normalization and the host rules apply to :path and :authority', async () => {
    const s = await session();
    try {
      const dots = await h2request(s, { ':method': 'GET', ':path': '/a/%2e%2e/b', ':authority': 'a.test' });
      assert.equal(dots.status, 400);
      assert.equal(dots.headers['content-type'], 'application/problem+json');
      assert.equal(dots.headers.connection, undefined);
      const problem = JSON.parse(dots.body) as { code: string; requestId: string };
      assert.equal(problem.code, 'request.bad_path');
      assert.equal(problem.requestId, dots.headers['x-request-id']);

      const normalized = await h2request(s, { ':method': 'GET', ':path': '/a/./b//%7Ec', ':authority': 'a.test' });
      assert.equal(normalized.status, 200, normalized.body);
      assert.equal((JSON.parse(normalized.body) as Seen).url, '/a/b/~c');

      const badHost = await h2request(s, { ':method': 'GET', ':path': '/x', ':authority': 'a_b.test' }); // nghttp2 lets it through; Cortex's host rule does not
      assert.equal(badHost.status, 400);
      assert.equal((JSON.parse(badHost.body) as { code: string }).code, 'request.bad_host');

      // The session is still usable after the refusals: each stream is framed on its own.
      const after = await h2request(s, { ':method': 'GET', ':path': '/still', ':authority': 'a.test' });
      assert.equal(after.status, 200);
    } finally {
      s.close();
    }
  });

  test('an HTTP/1.1 client on the same port still works (ALPN fallback)', async () => {
    const res = await new Promise<{ status: number; body: string; alpn: string | false | null; version: string }>((resolve, reject) => {
      const req = httpsRequest(
        // node:https offers no ALPN at all by default; this client asks for http/1.1 explicitly.
        { host: '127.0.0.1', port: gw.port, path: '/h1', ca: ca.ca, servername: 'a.test', headers: { host: 'a.test' }, agent: false, ...{ ALPNProtocols: ['http/1.1'] } },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () =>
            resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString(), alpn: (r.socket as TLSSocket).alpnProtocol, version: r.httpVersion }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.version, '1.1');
    assert.equal(res.alpn, 'http/1.1');
    const seen = JSON.parse(res.body) as Seen;
    assert.equal(seen.headers.host, 'a.test');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
  });

  test('many concurrent streams on one session all complete', async () => {
    const s = await session();
    try {
      const n = 60;
      const replies = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          i % 2 === 0
            ? h2request(s, { ':method': 'GET', ':path': `/many/${i}`, ':authority': 'a.test' })
            : h2request(s, { ':method': 'POST', ':path': `/many/${i}`, ':authority': 'a.test' }, 'y'.repeat(i * 100)),
        ),
      );
      replies.forEach((r, i) => {
        assert.equal(r.status, 200, r.body);
        const seen = JSON.parse(r.body) as Seen;
        assert.equal(seen.url, `/many/${i}`);
        assert.equal(seen.bodyLength, i % 2 === 0 ? 0 : i * 100);
      });
      assert.equal(new Set(replies.map((r) => r.headers['x-request-id'])).size, n);
    } finally {
      s.close();
    }
  });

  test('a stream reset mid-request does not break the session; every stream has one audit event', async () => {
    const s = await session();
    try {
      const before = held.length;
      const reset = s.request({ ':method': 'GET', ':path': '/hold/1', ':authority': 'a.test', 'x-request-id': 'h2-reset-1' });
      reset.on('error', () => undefined);
      await eventually(() => (held.length > before ? true : undefined), 'the held request at the upstream');
      const closed = new Promise<void>((resolve) => reset.once('close', resolve));
      reset.close(constants.NGHTTP2_CANCEL);
      await closed;

      const next = await h2request(s, { ':method': 'GET', ':path': '/after-reset', ':authority': 'a.test', 'x-request-id': 'h2-after-reset' });
      assert.equal(next.status, 200);
      assert.equal(s.destroyed, false);
      held.splice(0).forEach((release) => release()); // the upstream answers late; nobody is listening

      const resetEvent = await auditFor(gw, 'h2-reset-1', 'client.closed');
      assert.equal(resetEvent.outcome.status, 499);
      await auditFor(gw, 'h2-after-reset', 'ok');
    } finally {
      s.close();
    }
  });

  test('one audit event per stream, with the host from :authority', async () => {
    const s = await session();
    try {
      const ids = Array.from({ length: 10 }, (_, i) => `h2-audit-${i}`);
      await Promise.all(ids.map((id, i) => h2request(s, { ':method': 'GET', ':path': `/audited/${i}`, ':authority': 'a.test:443', 'x-request-id': id })));
      for (const id of ids) {
        const e = await auditFor(gw, id, 'ok'); // exactly one each
        assert.equal(e.what.host, 'a.test');
        assert.equal(e.outcome.status, 200);
      }
    } finally {
      s.close();
    }
  });
});

describe('HTTP/2 limits from gateway.limits', () => {
  let limited: TestGateway;
  let caPem: Buffer;
  before(async () => {
    const leaf = ca.issue('h2-limits', ['a.test']);
    caPem = ca.ca;
    limited = await startTestGateway(`upstreams:\n  u: { url: "${upstream.url}" }\nroutes:\n  all: { match: { prefix: / }, upstream: u, auth: none }\n`, {
      gateway: [
        `tls: { certificates: [{ cert: ${JSON.stringify(leaf.cert)}, key: ${JSON.stringify(leaf.key)} }] }`,
        '  limits: { maxConcurrentStreams: 7, keepAliveTimeoutMs: 300 }',
      ].join('\n'),
    });
  });
  after(() => limited.close());

  const open = (): Promise<ClientHttp2Session> =>
    new Promise((resolve, reject) => {
      const s = connect(`https://a.test:${limited.port}`, { ca: caPem, host: '127.0.0.1', servername: 'a.test' });
      s.once('remoteSettings', () => resolve(s));
      s.once('error', reject);
    });

  test('maxConcurrentStreams is advertised; more requests than that on one session all complete', async () => {
    const s = await open();
    try {
      assert.equal(s.remoteSettings.maxConcurrentStreams, 7);
      const replies = await Promise.all(Array.from({ length: 25 }, (_, i) => h2request(s, { ':method': 'GET', ':path': `/q/${i}`, ':authority': 'a.test' })));
      assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
    } finally {
      s.close();
    }
  });

  test('an idle session is closed after keepAliveTimeoutMs; one with a slow stream is kept until it ends', async () => {
    const idle = await open();
    const idleClosed = new Promise<void>((resolve) => idle.once('close', resolve));
    const started = Date.now();
    await idleClosed;
    assert.ok(Date.now() - started < 3_000);

    const busy = await open();
    try {
      const before = held.length;
      const slow = h2request(busy, { ':method': 'GET', ':path': '/hold/slow', ':authority': 'a.test' });
      await eventually(() => (held.length > before ? true : undefined), 'the held request at the upstream');
      await new Promise((r) => setTimeout(r, 700)); // well past the idle timeout
      held.splice(0).forEach((release) => release());
      const res = await slow;
      assert.equal(res.status, 200);
    } finally {
      busy.close();
    }
  });
});

describe('HTTP/2 during shutdown', () => {
  const start = async (): Promise<TestGateway> => {
    const leaf = ca.issue('h2-drain', ['a.test']);
    return startTestGateway(`upstreams:\n  u: { url: "${upstream.url}" }\nroutes:\n  all: { match: { prefix: / }, upstream: u, auth: none }\n`, {
      gateway: `tls: { certificates: [{ cert: ${JSON.stringify(leaf.cert)}, key: ${JSON.stringify(leaf.key)} }] }`,
    });
  };
  const open = (port: number): Promise<ClientHttp2Session> =>
    new Promise((resolve, reject) => {
      const s = connect(`https://a.test:${port}`, { ca: ca.ca, host: '127.0.0.1', servername: 'a.test' });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });

  test('a stream in flight finishes within graceMs; the session gets GOAWAY and no connection header', async (t) => {
    const gw2 = await start();
    t.after(() => gw2.close());
    const s = await open(gw2.port);
    s.on('error', () => undefined);
    const goaway = new Promise<void>((resolve) => s.once('goaway', () => resolve()));
    const before = held.length;
    const slow = h2request(s, { ':method': 'GET', ':path': '/hold/drain', ':authority': 'a.test', 'x-request-id': 'h2-drain-ok' });
    await eventually(() => (held.length > before ? true : undefined), 'the held request at the upstream');
    const closing = gw2.runtime.gateway.close({ drainDelayMs: 0, graceMs: 10_000 });
    await goaway;
    held.splice(0).forEach((release) => release());
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(res.headers.connection, undefined);
    await closing;
    const events = (await gw2.audit()).filter((e) => e.id === 'h2-drain-ok');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.outcome.code, 'ok');
  });

  test('a stream still running when graceMs runs out is cut, and audited', async (t) => {
    const gw2 = await start();
    t.after(() => gw2.close());
    const s = await open(gw2.port);
    s.on('error', () => undefined);
    const before = held.length;
    const slow = h2request(s, { ':method': 'GET', ':path': '/hold/cut', ':authority': 'a.test', 'x-request-id': 'h2-drain-cut' }).then(
      (r) => (r.status === 200 ? 'complete' : 'cut'), // a stream ended by the cut has no :status
      () => 'cut',
    );
    await eventually(() => (held.length > before ? true : undefined), 'the held request at the upstream');
    await gw2.runtime.gateway.close({ drainDelayMs: 0, graceMs: 200 });
    assert.equal(await slow, 'cut');
    held.splice(0).forEach((release) => release());
    const events = (await gw2.audit()).filter((e) => e.id === 'h2-drain-cut');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.outcome.code, 'client.closed');
  });
});
