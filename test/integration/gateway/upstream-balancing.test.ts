// Upstreams with several targets: round-robin and least-busy balancing, passive ejection of a dead
// target with a retry on another one (GET only, never POST), active health checks, HTTPS upstreams
// with a private CA and SNI.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { createTestCa } from '../../helpers/certs.ts';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { assertProblem, eventually, send } from '../../helpers/gateway-checks.ts';

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function named(id: string): Promise<TestUpstream> {
  const u = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(id);
  });
  cleanup.push(() => u.close());
  return u;
}

async function gateway(body: string): Promise<TestGateway> {
  const gw = await startTestGateway(body);
  cleanup.push(() => gw.close());
  return gw;
}

async function deadUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

async function metric(gw: TestGateway, name: string): Promise<number> {
  const text = await (await request(`${gw.adminUrl}/metrics`)).body.text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('upstream balancing', () => {
  test('round-robin spreads requests evenly over three targets', async () => {
    const [a, b, c] = await Promise.all([named('a'), named('b'), named('c')]);
    const gw = await gateway(`
upstreams:
  svc: { targets: ["${a.url}", "${b.url}", "${c.url}"] }
routes:
  all: { match: { prefix: / }, upstream: svc, auth: none }
`);
    const seen: Record<string, number> = {};
    for (let i = 0; i < 9; i++) {
      const r = await send(`${gw.url}/x`);
      assert.equal(r.status, 200);
      seen[r.body] = (seen[r.body] ?? 0) + 1;
    }
    assert.deepEqual(seen, { a: 3, b: 3, c: 3 });
  });

  test('least-busy sends new requests to the idle target while the other holds a slow one', async () => {
    const held: { id: string; res: ServerResponse }[] = [];
    const make = async (id: string) => {
      const u = await startUpstream((req, res) => {
        if (req.url === '/slow') held.push({ id, res });
        else res.end(id);
      });
      cleanup.push(() => u.close());
      return u;
    };
    const [a, b] = await Promise.all([make('a'), make('b')]);
    const gw = await gateway(`
upstreams:
  svc: { targets: ["${a.url}", "${b.url}"], balance: least-busy }
routes:
  all: { match: { prefix: / }, upstream: svc, auth: none }
`);
    const slow = send(`${gw.url}/slow`);
    const busy = await eventually(() => held[0], 'the slow request upstream');
    const results: string[] = [];
    for (let i = 0; i < 4; i++) results.push((await send(`${gw.url}/fast`)).body);
    assert.deepEqual(results, Array(4).fill(busy.id === 'a' ? 'b' : 'a'));
    busy.res.end('slow');
    assert.equal((await slow).status, 200);
  });

  test('a dead target is ejected after 3 connect failures; GETs are retried and all succeed', async () => {
    const [a, b] = await Promise.all([named('a'), named('b')]);
    const dead = await deadUrl();
    const gw = await gateway(`
upstreams:
  svc: { targets: ["${a.url}", "${dead}", "${b.url}"] }
routes:
  all: { match: { prefix: / }, upstream: svc, auth: none }
`);
    for (let i = 0; i < 30; i++) {
      const r = await send(`${gw.url}/x`);
      assert.equal(r.status, 200, `request ${i}: ${r.body}`);
    }
    assert.equal(a.requests.length + b.requests.length, 30);
    // Three failed connects eject it; nothing is sent to it (or retried) afterwards.
    assert.equal(await metric(gw, 'cortex_upstream_retries_total{upstream="svc"}'), 3);
  });

  test('a POST that fails to connect is not retried', async () => {
    const live = await named('live');
    const dead = await deadUrl();
    const gw = await gateway(`
upstreams:
  svc: { targets: ["${dead}", "${live.url}"] }
routes:
  all: { match: { prefix: / }, upstream: svc, auth: none }
`);
    const r = await send(`${gw.url}/orders`, { method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json' } });
    assertProblem(r, 502, 'upstream.connect_failed');
    assert.equal(live.requests.length, 0);
    assert.equal(await metric(gw, 'cortex_upstream_retries_total{upstream="svc"}'), 0);
  });

  test('a failing health check takes a target out and a passing one puts it back', async () => {
    let aHealthy = true;
    const a = await startUpstream((req, res) => {
      if (req.url === '/healthz') res.writeHead(aHealthy ? 200 : 503).end();
      else res.end('a');
    });
    cleanup.push(() => a.close());
    const b = await named('b');
    const gw = await gateway(`
upstreams:
  svc:
    targets: ["${a.url}", "${b.url}"]
    healthCheck: { path: /healthz, intervalMs: 30, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 2 }
routes:
  all: { match: { prefix: /api/ }, upstream: svc, auth: none }
`);
    const burst = async () => {
      const out: string[] = [];
      for (let i = 0; i < 4; i++) out.push((await send(`${gw.url}/api/x`)).body);
      return out;
    };
    assert.ok((await burst()).includes('a'));
    aHealthy = false;
    await eventually(async () => ((await burst()).every((id) => id === 'b') ? true : undefined), 'target a taken out');
    aHealthy = true;
    await eventually(async () => ((await burst()).includes('a') ? true : undefined), 'target a put back');
  });

  test('HTTPS upstream with a private CA and SNI works; an unknown CA is refused with 502', async () => {
    const ca = createTestCa();
    cleanup.push(() => ca.close());
    const other = createTestCa();
    cleanup.push(() => other.close());
    const leaf = ca.issue('api', ['api.internal']);
    let sni: string | undefined;
    const server = createHttpsServer({ cert: readFileSync(leaf.cert), key: readFileSync(leaf.key) }, (req, res) => {
      sni = (req.socket as TLSSocket).servername || undefined;
      res.end('secure');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
    const { port } = server.address() as AddressInfo;
    const gw = await gateway(`
upstreams:
  good: { url: "https://127.0.0.1:${port}", tls: { ca: ${JSON.stringify(join(ca.dir, 'ca.pem'))}, serverName: api.internal } }
  bad: { url: "https://127.0.0.1:${port}", tls: { ca: ${JSON.stringify(join(other.dir, 'ca.pem'))}, serverName: api.internal } }
routes:
  good: { match: { prefix: /good/ }, upstream: good, auth: none }
  bad: { match: { prefix: /bad/ }, upstream: bad, auth: none }
`);
    const ok = await send(`${gw.url}/good/x`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'secure');
    assert.equal(sni, 'api.internal');
    const refused = await send(`${gw.url}/bad/x`);
    assertProblem(refused, 502, 'upstream.connect_failed');
  });
});
