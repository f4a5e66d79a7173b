// The client-credentials token source against a token endpoint on port 0: one fetch for many
// waiting requests (single flight), the token cached, the answer when the endpoint fails with and
// without a cached token, and log lines that never hold the token or the client secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ClientCredentialsToken } from '../../../src/credentials/upstream-secrets/client-credentials-token.ts';
import type { SecretSource } from '../../../src/credentials/upstream-secrets/types.ts';

const CLIENT_SECRET = 'unit-client-secret-5a5a';

async function tokenEndpoint(t: { after(fn: () => Promise<void>): void }) {
  const state = { requests: 0, status: 200, delayMs: 100, expiresIn: 300 as number | undefined, basic: [] as string[] };
  const server = createServer((req, res) => {
    state.requests++;
    state.basic.push(req.headers.authorization ?? '');
    req.resume();
    setTimeout(() => {
      if (state.status !== 200) {
        res.writeHead(state.status, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
        return;
      }
      const body = { access_token: `unit-token-${state.requests}`, token_type: 'Bearer', ...(state.expiresIn === undefined ? {} : { expires_in: state.expiresIn }) };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    }, state.delayMs);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`, state };
}

function captureLog() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

const secret: SecretSource = { current: () => CLIENT_SECRET, onChange: () => {}, close: () => {} };

function source(url: string, log: pino.Logger, now?: () => number) {
  return new ClientCredentialsToken({ upstream: 'billing', tokenUrl: url, clientId: 'gw', clientSecret: secret, refreshBeforeSeconds: 60, log, ...(now ? { now } : {}) });
}

void test('many requests waiting for the first token cause one fetch; later ones use the cache', async (t) => {
  const ep = await tokenEndpoint(t);
  const { log, lines } = captureLog();
  const token = source(ep.url, log);
  t.after(() => token.close());
  assert.equal(token.valueNow(), undefined, 'nothing before the first fetch completes');
  const values = await Promise.all(Array.from({ length: 20 }, () => token.value()));
  assert.deepEqual(new Set(values), new Set(['Bearer unit-token-1']));
  assert.equal(ep.state.requests, 1);
  assert.equal(token.valueNow(), 'Bearer unit-token-1');
  // client_secret_basic, its parts form-urlencoded first as RFC 6749 §2.3.1 says.
  const basic = Buffer.from((ep.state.basic[0] ?? '').replace(/^Basic /, ''), 'base64').toString('utf8');
  assert.deepEqual(basic.split(':').map(decodeURIComponent), ['gw', CLIENT_SECRET]);
  assert.ok(lines.some((l) => l.includes('credential for upstream billing refreshed (token fetched)')));
  for (const line of lines) for (const s of ['unit-token-1', CLIENT_SECRET]) assert.ok(!line.includes(s), line);
});

void test('a token past its usable lifetime is not sent; a failed fetch then leaves nothing (the filter answers 503)', async (t) => {
  const ep = await tokenEndpoint(t);
  ep.state.delayMs = 0;
  const { log, lines } = captureLog();
  let clock = Date.now();
  const token = source(ep.url, log, () => clock);
  t.after(() => token.close());
  assert.equal(await token.value(), 'Bearer unit-token-1');
  ep.state.status = 401;
  clock += 299_000; // inside the last 5 s of a 300 s token: too close to expiry to send
  assert.equal(token.valueNow(), undefined);
  assert.equal(await token.value(), undefined);
  assert.equal(ep.state.requests, 2);
  assert.equal(await token.value(), undefined, 'answered at once: no new fetch within a second of a failure');
  assert.equal(ep.state.requests, 2);
  assert.ok(lines.some((l) => l.includes('token fetch failed; requests to the upstream get 503') && l.includes('"error":"invalid_client"')));
  for (const line of lines) for (const s of ['unit-token-1', CLIENT_SECRET]) assert.ok(!line.includes(s), line);
});

void test('an answer without expires_in is cached for 5 minutes', async (t) => {
  const ep = await tokenEndpoint(t);
  ep.state.delayMs = 0;
  ep.state.expiresIn = undefined;
  let clock = Date.now();
  const token = source(ep.url, pino({ level: 'silent' }), () => clock);
  t.after(() => token.close());
  assert.equal(await token.value(), 'Bearer unit-token-1');
  clock += 290_000;
  assert.equal(token.valueNow(), 'Bearer unit-token-1');
});
