// A revocation closes, at once, the long-lived connections opened with the delegated tokens it
// covers: an event stream revoked by jti, a WebSocket revoked by person, each audited once as
// connection.token_revoked, while connections with other tokens carry on; with Redis, a revocation
// made by another instance closes this one's stream. Delegated tokens are minted here with the
// gateway's own signing ring, as /.cortex/token does.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import { Redis } from 'ioredis';
import { mintDelegatedToken } from '../../../src/credentials/exchange/exchange.ts';
import { openRevocationStore } from '../../../src/stores/revocations/open-revocation-store.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { auditFor, eventually } from '../../helpers/gateway-checks.ts';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { bearer, providerYaml, waitIdentityReady } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';

let idp: TestIdp;
let server: Server;
let wss: WebSocketServer;
let gw: TestGateway;
let upstreamUrl = '';
const REDIS_URL = 'redis://127.0.0.1:6379';
const keyPrefix = `cortex-test:live-revoked:${randomBytes(6).toString('hex')}:`;

const gatewayYaml = (revocations: string) =>
  [
    'identity:',
    '  providers:',
    providerYaml('dev', idp, ['agents: { assistant: { roles: [agent] }, planner: { roles: [agent] } }']),
    'credentials:',
    '  tokenExchange:',
    '    clients: { assistant: { secret: assistant-secret-0123456789 } }',
    `    revocations: ${revocations}`,
    `upstreams:\n  live: { url: "${upstreamUrl}" }`,
    'routes:',
    '  events: { match: { path: /events }, upstream: live }',
    '  ws: { match: { path: /ws }, upstream: live, websocket: true }',
  ].join('\n');

before(async () => {
  idp = await startTestIdp();
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write('data: hello\n\n');
    const t = setInterval(() => res.write('data: tick\n\n'), 50);
    res.on('close', () => clearInterval(t));
  });
  wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data: RawData, isBinary: boolean) => ws.send(data, { binary: isBinary })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gw = await startTestGateway(gatewayYaml('{ type: memory }'));
  await waitIdentityReady(gw);
});

after(async () => {
  await gw.close();
  for (const c of wss.clients) c.terminate();
  wss.close();
  server.closeAllConnections();
  server.close();
  await idp.close();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

async function delegated(subject: string, agent = 'assistant', on = gw): Promise<{ token: string; jti: string; exp: number }> {
  const ring = on.runtime.gateway.credentials.ring;
  assert.ok(ring, 'the signing ring is open');
  const iat = Math.floor(Date.now() / 1000) - 2;
  const exp = iat + 300;
  const minted = await mintDelegatedToken(ring.signer(), {
    issuer: on.runtime.gateway.credentials.issuer(on.runtime.gateway.current().config),
    audience: 'cortex-gateway',
    person: { issuer: idp.issuer, subject, roles: [] },
    agent: { id: agent, roles: ['agent'] },
    intents: [],
    iat,
    exp,
  });
  return { ...minted, exp };
}

const revocations = () => {
  const exchange = gw.runtime.gateway.exchange;
  assert.ok(exchange);
  return exchange.revocations;
};

test('an event stream ends as soon as its token is revoked by jti; a stream with another token goes on', async () => {
  const [a, b] = [await delegated('bob'), await delegated('bob')];
  const streamA = await request(`${gw.url}/events`, { headers: bearer(a.token) });
  assert.equal(streamA.statusCode, 200, await (streamA.statusCode === 200 ? Promise.resolve('') : streamA.body.text()));
  const streamB = await request(`${gw.url}/events`, { headers: bearer(b.token) });
  assert.equal(streamB.statusCode, 200);
  const idA = String(streamA.headers['x-request-id']);
  const bodyA = streamA.body.text(); // resolves when the gateway ends the stream
  await revocations().revoke({ kind: 'jti', jti: a.jti, exp: a.exp });
  assert.match(await bodyA, /^data: hello\n\n/);
  const event = await auditFor(gw, idA, 'connection.token_revoked');
  assert.equal(event.outcome.status, 200);
  assert.equal(event.who?.subject, 'assistant');

  const iterator = streamB.body[Symbol.asyncIterator]();
  const seen: string[] = [];
  await eventually(async () => {
    const next = await iterator.next();
    if (next.done === true) return 'ended';
    seen.push(String(next.value));
    return seen.join('').includes('tick') ? 'ticking' : undefined;
  }, 'the other stream keeps flowing');
  assert.ok(seen.join('').includes('tick'), 'stream B still flows after A was revoked');
  streamB.body.destroy();

  const again = await request(`${gw.url}/events`, { headers: bearer(a.token) });
  assert.equal(again.statusCode, 401, 'the revoked token is refused from now on');
  await again.body.dump();
});

test("a WebSocket closes as soon as its person's delegated tokens are revoked; another person's stays open", async () => {
  const bob = await delegated('bob', 'planner');
  const alice = await delegated('alice', 'planner');
  const open = async (token: string): Promise<{ ws: WebSocket; id: string }> => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/ws`, { headers: bearer(token) });
    let id = '';
    ws.once('upgrade', (res) => (id = String(res.headers['x-request-id'])));
    await once(ws, 'open');
    return { ws, id };
  };
  const [wsBob, wsAlice] = [await open(bob.token), await open(alice.token)];
  const bobClosed = once(wsBob.ws, 'close');
  await revocations().revoke({ kind: 'person', issuer: idp.issuer, subject: 'bob', at: Math.ceil(Date.now() / 1000) });
  await bobClosed;
  const event = await auditFor(gw, wsBob.id, 'connection.token_revoked');
  assert.equal(event.outcome.status, 101);

  wsAlice.ws.send('still here?');
  const [reply] = (await once(wsAlice.ws, 'message')) as [Buffer];
  assert.equal(reply.toString(), 'still here?');
  wsAlice.ws.close();
  await once(wsAlice.ws, 'close');
});

test('with Redis, a revocation made by another instance closes the stream on this one at once', async () => {
  const fleetGw = await startTestGateway(gatewayYaml(`{ type: redis, url: "${REDIS_URL}", keyPrefix: "${keyPrefix}" }`));
  const other = openRevocationStore({ type: 'redis', url: REDIS_URL, keyPrefix }, { log: createLogger({ level: 'silent' }) });
  try {
    await waitIdentityReady(fleetGw);
    const t = await delegated('bob', 'assistant', fleetGw);
    const stream = await request(`${fleetGw.url}/events`, { headers: bearer(t.token) });
    assert.equal(stream.statusCode, 200);
    const id = String(stream.headers['x-request-id']);
    const body = stream.body.text();
    await other.revoke({ kind: 'agent', agent: 'assistant', at: Math.ceil(Date.now() / 1000) });
    assert.match(await body, /^data: hello\n\n/);
    await auditFor(fleetGw, id, 'connection.token_revoked');
  } finally {
    await other.close();
    await fleetGw.close();
  }
});
