// Each middleware inside its real framework, in this process: the subpath exports, the 503 when
// the JWKS cannot be fetched, and scoping (routes outside the middleware stay open).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { request } from 'undici';
import { createVerifier, type Verifier } from '@cortex-gateway/verify';
import { cortexExpress, expressCaller } from '@cortex-gateway/verify/express';
import { cortexFastify, fastifyCaller } from '@cortex-gateway/verify/fastify';
import { cortexHono, type CortexHonoEnv } from '@cortex-gateway/verify/hono';
import { withCortex } from '@cortex-gateway/verify/node';
import { makeKey, mint, startJwksServer, type JwksServer, type TestKey } from '../../unit/verify/jwks-fixture.ts';

let key: TestKey;
let jwks: JwksServer;
before(async () => {
  key = await makeKey('EdDSA');
  jwks = await startJwksServer([key]);
});
after(() => jwks.close());

interface App {
  url: string;
  close(): Promise<void>;
}

function listen(server: http.Server | ServerType): Promise<App> {
  return new Promise((resolve) => {
    const ready = (): void => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((done) => server.close(() => done())) });
    };
    if (server.listening) ready();
    else server.once('listening', ready);
  });
}

/** Each framework with the middleware on /private and an open /public. */
const APPS: Record<string, (verifier: Verifier) => Promise<App>> = {
  'node:http': (verifier) => {
    const guarded = withCortex(verifier, (req, res) => {
      if (req.url === '/private/throw') throw new Error('handler bug');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ subject: req.cortex.subject }));
    });
    const server = http.createServer((req, res) => {
      if (req.url === '/public') res.writeHead(200).end('{}');
      else guarded(req, res);
    });
    return listen(server.listen(0, '127.0.0.1'));
  },
  express: (verifier) => {
    const app = express();
    app.get('/public', (_req, res) => void res.json({}));
    app.use('/private', cortexExpress(verifier), (req, res) => void res.json({ subject: expressCaller(req).subject }));
    return listen(app.listen(0, '127.0.0.1'));
  },
  fastify: async (verifier) => {
    const app = Fastify();
    app.get('/public', () => ({}));
    await app.register(
      async (scope) => {
        await scope.register(cortexFastify(verifier));
        scope.get('/private', (req) => ({ subject: fastifyCaller(req).subject }));
      },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
  },
  hono: (verifier) => {
    const app = new Hono<CortexHonoEnv>();
    app.get('/public', (c) => c.json({}));
    app.use('/private', cortexHono(verifier));
    app.get('/private', (c) => c.json({ subject: c.get('cortex').subject }));
    return listen(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }));
  },
};

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { headers });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

for (const [name, start] of Object.entries(APPS)) {
  describe(`${name} middleware`, () => {
    let app: App;
    let down: App;
    before(async () => {
      app = await start(createVerifier({ issuer: jwks.issuer, audience: 'orders' }));
      down = await start(createVerifier({ issuer: jwks.issuer, audience: 'orders', jwksUri: 'http://127.0.0.1:1/jwks.json' }));
    });
    after(async () => {
      await app.close();
      await down.close();
    });

    test('guards only the routes it is on', async () => {
      const token = await mint(key, { issuer: jwks.issuer, claims: { sub: 'carol' } });
      assert.deepEqual((await get(`${app.url}/private`, { 'cortex-assertion': token })).json(), { subject: 'carol' });
      assert.equal((await get(`${app.url}/private`)).json().code, 'assertion.missing');
      assert.equal((await get(`${app.url}/public`)).status, 200);
    });

    test('an unreachable JWKS answers 503 assertion.jwks_unavailable', async () => {
      const res = await get(`${down.url}/private`, { 'cortex-assertion': await mint(key, { issuer: jwks.issuer }) });
      assert.equal(res.status, 503, res.text);
      assert.equal(res.json().code, 'assertion.jwks_unavailable');
    });
  });
}

test('node:http: a handler that throws gets a 500, not a crash', async () => {
  const app = await APPS['node:http']!(createVerifier({ issuer: jwks.issuer, audience: 'orders' }));
  try {
    const res = await get(`${app.url}/private/throw`, { 'cortex-assertion': await mint(key, { issuer: jwks.issuer }) });
    assert.equal(res.status, 500);
  } finally {
    await app.close();
  }
});
