// RFC 7662 introspection against a real oidc-provider issuing real opaque access tokens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { pino } from 'pino';
import { createRfc7662Introspector } from '../../../src/identity/introspection/rfc7662.ts';
import type { IntrospectorOptions } from '../../../src/identity/introspection/rfc7662.ts';

const CLIENT_ID = 'gateway';
const CLIENT_SECRET = 'gateway-secret-0123456789abcdef';
const log = pino({ level: 'silent' });

let server: Server;
let issuer: string;
let introspectionRequests = 0;

const digest = (token: string): string => createHash('sha256').update(token).digest('base64url');

async function startProvider(): Promise<void> {
  let handler: RequestListener | undefined;
  server = createServer((req, res) => {
    if (req.url?.startsWith('/token/introspection') === true) introspectionRequests++;
    handler?.(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] },
    ttl: { ClientCredentials: 600 },
    cookies: { keys: ['cookie-key-for-tests-only'] },
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    features: {
      introspection: { enabled: true, allowedPolicy: () => Promise.resolve(true) },
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
    },
  });
  const callback = provider.callback();
  handler = (req, res) => void callback(req, res);
}

async function clientCredentialsToken(): Promise<string> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { access_token: string };
  assert.equal(body.access_token.split('.').length, 1, 'oidc-provider issued an opaque token');
  return body.access_token;
}

function options(over: Partial<IntrospectorOptions> = {}): IntrospectorOptions {
  return {
    issuer,
    endpoint: `${issuer}/token/introspection`,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    maxCacheSeconds: 60,
    timeoutMs: 2_000,
    log,
    ...over,
  };
}

before(startProvider);
after(() => {
  server.closeAllConnections();
  server.close();
});

test('a real opaque token is active with its claims, a made-up one inactive', async () => {
  const token = await clientCredentialsToken();
  const introspector = createRfc7662Introspector(options());
  const answer = await introspector.introspect(token, digest(token));
  assert.equal(answer.kind, 'active');
  assert.ok(answer.kind === 'active');
  assert.equal(answer.claims.client_id, CLIENT_ID);
  assert.equal(answer.claims.iss, issuer);
  assert.equal(typeof answer.claims.exp, 'number');
  assert.equal(answer.claims.active, undefined);

  const madeUp = 'not-a-token-this-provider-issued';
  assert.deepEqual(await introspector.introspect(madeUp, digest(madeUp)), { kind: 'inactive' });
  introspector.close();
});

test('a wrong client secret makes the provider unavailable, not the token inactive', async () => {
  const token = await clientCredentialsToken();
  const introspector = createRfc7662Introspector(options({ clientSecret: 'wrong' }));
  assert.deepEqual(await introspector.introspect(token, digest(token)), { kind: 'unavailable' });
  introspector.close();
});

test('an answer cached past maxCacheSeconds is asked again', async () => {
  const token = await clientCredentialsToken();
  let now = Date.now();
  const introspector = createRfc7662Introspector(options({ maxCacheSeconds: 5, now: () => now }));
  const before = introspectionRequests;
  assert.equal((await introspector.introspect(token, digest(token))).kind, 'active');
  now += 4_000;
  assert.equal((await introspector.introspect(token, digest(token))).kind, 'active');
  assert.equal(introspectionRequests, before + 1);
  now += 1_000;
  assert.equal((await introspector.introspect(token, digest(token))).kind, 'active');
  assert.equal(introspectionRequests, before + 2);
  introspector.close();
});

test('maxCacheSeconds 0 asks every time', async () => {
  const token = await clientCredentialsToken();
  const introspector = createRfc7662Introspector(options({ maxCacheSeconds: 0 }));
  const before = introspectionRequests;
  await introspector.introspect(token, digest(token));
  await introspector.introspect(token, digest(token));
  assert.equal(introspectionRequests, before + 2);
  introspector.close();
});

test('20 concurrent introspections of one token make one request', async () => {
  const token = await clientCredentialsToken();
  const introspector = createRfc7662Introspector(options());
  const before = introspectionRequests;
  const answers = await Promise.all(Array.from({ length: 20 }, () => introspector.introspect(token, digest(token))));
  assert.ok(answers.every((a) => a.kind === 'active'));
  assert.equal(introspectionRequests, before + 1);
  introspector.close();
});

test('plain http to another host is refused at construction', () => {
  assert.throws(() => createRfc7662Introspector(options({ endpoint: 'http://idp.example/token/introspection' })), /must use https/);
});

// Last: closes the provider.
test('with the provider gone: unavailable, while a cached active answer is served within its bound', async () => {
  const cachedToken = await clientCredentialsToken();
  const otherToken = await clientCredentialsToken();
  let now = Date.now();
  const introspector = createRfc7662Introspector(options({ maxCacheSeconds: 30, now: () => now }));
  assert.equal((await introspector.introspect(cachedToken, digest(cachedToken))).kind, 'active');

  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));

  assert.deepEqual(await introspector.introspect(otherToken, digest(otherToken)), { kind: 'unavailable' });
  now += 29_000;
  assert.equal((await introspector.introspect(cachedToken, digest(cachedToken))).kind, 'active');
  now += 1_000;
  assert.deepEqual(await introspector.introspect(cachedToken, digest(cachedToken)), { kind: 'unavailable' });
  introspector.close();
});
