// Reloads against a serving gateway: new routes, broken configs that keep the old snapshot, requests
// in flight across a reload, reload() as SIGHUP does it, the file watcher, and pools of upstreams a
// reload removed being closed.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { assertProblem, auditFor, eventually, header, send } from '../../helpers/gateway-checks.ts';

let a: TestUpstream;
let b: TestUpstream;

before(async () => {
  a = await startUpstream((_req, res) => res.end('from a'));
  b = await startUpstream((_req, res) => res.end('from b'));
});
after(async () => {
  await a.close();
  await b.close();
});
beforeEach(() => {
  a.requests.length = 0;
  b.requests.length = 0;
});

const upstreams = () => `upstreams:\n  a: { url: "${a.url}" }\n  b: { url: "${b.url}" }\n`;
const config = (...routes: string[]) => `${upstreams()}routes:\n${routes.map((r) => `  ${r}\n`).join('')}`;
const ROUTE_A = 'ra: { match: { prefix: /a/ }, upstream: a, auth: none }';
const ROUTE_B = 'rb: { match: { prefix: /b/ }, upstream: b, auth: none }';

/** Appends a route to the config file without reloading (routes is the file's last section). */
function appendRoute(gw: TestGateway, route: string): void {
  writeFileSync(gw.configFile, `${readFileSync(gw.configFile, 'utf8').trimEnd()}\n  ${route}\n`);
}

async function served(gw: TestGateway, path: string, body: string, route: string): Promise<void> {
  const res = await send(`${gw.url}${path}`);
  assert.equal(res.status, 200, `${path}: ${res.body}`);
  assert.equal(res.body, body);
  const event = await auditFor(gw, header(res, 'x-request-id') ?? '', 'ok');
  assert.equal(event.what.route, route);
}

async function notFound(gw: TestGateway, path: string): Promise<void> {
  const res = await send(`${gw.url}${path}`);
  await auditFor(gw, assertProblem(res, 404, 'route.not_found', path), 'route.not_found');
}

describe('reload', () => {
  let gw: TestGateway;
  beforeEach(async () => {
    gw = await startTestGateway(config(ROUTE_A));
  });
  afterEach(() => gw.close());

  test('a route added by rewrite + reload is served', async () => {
    await notFound(gw, '/b/1');
    const before = gw.runtime.gateway.current().generation;
    const r = gw.rewrite(config(ROUTE_A, ROUTE_B));
    assert.deepEqual(r, { ok: true, generation: r.ok ? r.generation : -1 });
    assert.ok(r.ok && r.generation > before);
    await served(gw, '/b/1', 'from b', 'rb');
    await served(gw, '/a/1', 'from a', 'ra');
  });

  test('a broken config keeps the old snapshot serving and returns its problems', async () => {
    const broken: [string, RegExp][] = [
      [config(ROUTE_A, 'rc: { match: { prefix: /c/ }, upstream: nowhere, auth: none }'), /routes\.rc\.upstream/],
      [config(ROUTE_A, 'rc: { match: { prefix: /c/ }, upstream: a, auth: none, timeoutMs: -5 }'), /routes\.rc\.timeoutMs/],
      [`${upstreams()}routes:\n  ra: { match: { prefix: /a/ }, upstream: a\n`, /./],
      [config(ROUTE_A, 'rc: { match: { path: /c }, upstream: a, auth: none }', 'rd: { match: { prefix: /c/ }, upstream: b, auth: none }'), /\/c/],
    ];
    const generation = gw.runtime.gateway.current().generation;
    for (const [text, problem] of broken) {
      const r = gw.rewrite(text);
      assert.equal(r.ok, false, text);
      assert.ok(!r.ok && r.problems.length > 0 && r.problems.some((p) => problem.test(p)), JSON.stringify(r));
      assert.equal(gw.runtime.gateway.current().generation, generation, 'the old snapshot keeps serving');
      await served(gw, '/a/1', 'from a', 'ra');
      await notFound(gw, '/c');
    }
    const ok = gw.rewrite(config(ROUTE_A, ROUTE_B));
    assert.equal(ok.ok, true, 'a good config after broken ones loads');
    await served(gw, '/b/x', 'from b', 'rb');
  });

  test('a path route and a prefix route on the same path are refused by validation, naming the route', () => {
    const r = gw.rewrite(config(ROUTE_A, 'rc: { match: { path: /c }, upstream: a, auth: none }', 'rd: { match: { prefix: /c/ }, upstream: b, auth: none }'));
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.problems.some((p) => /^routes\.(rc|rd)\.match\b/.test(p)), `a config problem with its path, got ${JSON.stringify(r)}`);
  });

  test('a request in flight during a reload completes against its original snapshot', async () => {
    let held: ServerResponse | undefined;
    a.handle((_req, res) => {
      held = res;
    });
    const pending = send(`${gw.url}/a/slow`);
    await eventually(() => held, 'the upstream to hold the request');
    const r = gw.rewrite(config('ra: { match: { prefix: /a/ }, upstream: b, auth: none }'));
    assert.equal(r.ok, true);
    held?.end('from a, after the reload');
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'from a, after the reload');
    const event = await auditFor(gw, header(res, 'x-request-id') ?? '', 'ok');
    assert.equal(event.what.upstream, 'a', 'audited against the snapshot it started with');
    a.handle((_req, res2) => res2.end('from a'));
    await served(gw, '/a/next', 'from b', 'ra');
  });

  test('runtime.gateway.reload() (what SIGHUP calls) picks up the edited file', async () => {
    appendRoute(gw, ROUTE_B);
    await notFound(gw, '/b/1');
    const r = gw.runtime.gateway.reload();
    assert.equal(r.ok, true);
    await served(gw, '/b/1', 'from b', 'rb');
  });

  test('the pool of an upstream a reload removed is closed, even after a failed reload', async () => {
    a.server.keepAliveTimeout = 60_000;
    const sockets: Socket[] = [];
    const onConnection = (s: Socket) => sockets.push(s);
    a.server.on('connection', onConnection);
    try {
      const longLived = `${upstreams().replace(`url: "${a.url}"`, `url: "${a.url}", keepAliveTimeoutMs: 60000`)}`;
      assert.equal(gw.rewrite(`${longLived}routes:\n  ${ROUTE_A}\n`).ok, true);
      await served(gw, '/a/warm', 'from a', 'ra');
      assert.equal(sockets.filter((s) => !s.destroyed).length, 1, 'a warm keep-alive connection to a');
      // Passes the schema, fails at compile time (the router refuses two routes on GET /x).
      const failed = gw.rewrite(`${longLived}routes:\n  ${ROUTE_A}\n  rx: { match: { path: /x }, upstream: a, auth: none }\n  ry: { match: { prefix: /x/ }, upstream: a, auth: none }\n`);
      assert.equal(failed.ok, false);
      assert.equal(gw.rewrite(config(ROUTE_B)).ok, true, 'a reload that drops upstream a');
      await eventually(() => (sockets.every((s) => s.destroyed) ? true : undefined), 'the connection to the removed upstream to close');
    } finally {
      a.server.off('connection', onConnection);
    }
  });
});

describe('file watch', () => {
  test('an edited config file is reloaded without a signal', async () => {
    const gw = await startTestGateway(config(ROUTE_A), { watch: true });
    try {
      await notFound(gw, '/b/1');
      appendRoute(gw, ROUTE_B);
      const res = await eventually(async () => {
        const r = await send(`${gw.url}/b/1`);
        return r.status === 200 ? r : undefined;
      }, 'the watcher to reload', 5_000);
      assert.equal(res.body, 'from b');
      await auditFor(gw, header(res, 'x-request-id') ?? '', 'ok');
      // A broken edit is refused and the last good config keeps serving.
      appendRoute(gw, 'rz: { match: { prefix: /z/ }, upstream: nowhere, auth: none }');
      await eventually(async () => {
        const metrics = await send(`${gw.adminUrl}/metrics`);
        return /^cortex_config_reloads_total\{result="error"\} 1$/m.test(metrics.body) ? true : undefined;
      }, 'the watcher to try the broken file', 5_000);
      await served(gw, '/b/2', 'from b', 'rb');
      await notFound(gw, '/z/1');
    } finally {
      await gw.close();
    }
  });
});
