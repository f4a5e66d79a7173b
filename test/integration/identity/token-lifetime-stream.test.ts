// A long-lived exchange opened with a bearer token does not outlive the token: an event stream
// whose route allows an hour is ended when the caller's token expires, audited once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { auditFor } from '../../helpers/gateway-checks.ts';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { bearer, providerYaml, waitIdentityReady } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';

let idp: TestIdp;
let server: Server;
let gw: TestGateway;

before(async () => {
  idp = await startTestIdp();
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write('data: hello\n\n');
    const t = setInterval(() => res.write('data: tick\n\n'), 100);
    res.on('close', () => clearInterval(t));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  gw = await startTestGateway(
    [
      'identity:',
      '  providers:',
      providerYaml('dev', idp),
      `upstreams:\n  sse: { url: "http://127.0.0.1:${port}" }`,
      'routes:',
      '  events: { match: { path: /events }, upstream: sse, maxConnectionLifetimeMs: 3600000 }',
    ].join('\n'),
  );
  await waitIdentityReady(gw);
});

after(async () => {
  await gw.close();
  server.closeAllConnections();
  server.close();
  await idp.close();
});

test("an event stream ends when the caller's token expires, not at the route's one-hour cap", async () => {
  const token = await idp.tokenFor({ sub: 'alice', ttlSeconds: 2 });
  const exp = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp: number }).exp;
  const res = await request(`${gw.url}/events`, { headers: bearer(token) });
  assert.equal(res.statusCode, 200);
  const id = String(res.headers['x-request-id']);
  const text = await res.body.text(); // resolves when the gateway ends the stream
  const endedAt = Date.now() / 1000;
  assert.match(text, /^data: hello\n\n/);
  assert.ok(endedAt >= exp - 0.05, `ended at ${endedAt}, before the token's exp ${exp}`);
  assert.ok(endedAt < exp + 30, `ended at ${endedAt}, long after the token's exp ${exp}`);
  const event = await auditFor(gw, id, 'connection.lifetime_exceeded');
  assert.equal(event.who?.subject, 'alice');
});
