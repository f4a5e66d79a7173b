// Upstream secrets, OAuth2 client credentials against a real oidc-provider: the upstream receives
// `Authorization: Bearer <token>` that verifies against the IdP's JWKS; the token is reused across
// requests and reloads, refreshed before it expires; a client secret from a file rotates; with the
// IdP down and no token cached, the request is answered 503 and the upstream receives nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { startUpstreamIdp } from './upstream-secrets-idp.ts';
import type { UpstreamIdp } from './upstream-secrets-idp.ts';
import { startLoggedGateway } from './upstream-secrets-log.ts';

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function bearerAt(upstream: TestUpstream): string {
  const value = upstream.requests.at(-1)?.headers.authorization;
  assert.equal(typeof value, 'string', 'the upstream received an Authorization header');
  assert.match(value as string, /^Bearer [A-Za-z0-9._~+/-]+=*$/);
  return (value as string).slice('Bearer '.length);
}

const config = (upstreamUrl: string, idp: UpstreamIdp, secret: string, refreshBeforeSeconds: number, extra = '') => `
upstreams:
  api:
    url: "${upstreamUrl}"
    credentials:
      type: oauth2
      tokenUrl: "${idp.tokenUrl}"
      clientId: ${idp.clientId}
      clientSecret: ${secret}
      refreshBeforeSeconds: ${refreshBeforeSeconds}
routes:
  r: { match: { prefix: / }, upstream: api, auth: none }
${extra}`;

describe('a client-credentials token from the upstream\'s IdP', () => {
  let idp: UpstreamIdp;
  let upstream: TestUpstream;
  let gw: TestGateway;
  before(async () => {
    // 30 s tokens refreshed 27 s before expiry: a refresh about 3 s after each fetch.
    idp = await startUpstreamIdp({ accessTokenTtlSeconds: 30 });
    upstream = await startUpstream();
    gw = await startTestGateway(config(upstream.url, idp, '{ value: "${UPSTREAM_CLIENT_SECRET}" }', 27), {
      env: { UPSTREAM_CLIENT_SECRET: idp.clientSecret },
    });
  });
  after(async () => {
    await gw.close();
    await upstream.close();
    await idp.close();
  });

  void test('the upstream receives a bearer token that verifies against the IdP\'s JWKS, reused across requests', async () => {
    const first = await fetch(`${gw.url}/orders`, { headers: { authorization: 'Bearer caller-token' } });
    assert.equal(first.status, 200);
    const token = bearerAt(upstream);
    const claims = await idp.verify(token);
    assert.equal(claims.client_id, idp.clientId);
    const fetchedBefore = idp.tokenRequests();
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${gw.url}/orders/${i}`)).status, 200);
    assert.equal(bearerAt(upstream), token, 'the cached token is reused');
    assert.equal(idp.tokenRequests(), fetchedBefore, 'no token request per request');
  });

  void test('a reload that keeps the credentials keeps the token: no refetch', async () => {
    const token = bearerAt(upstream);
    const fetched = idp.tokenRequests();
    const result = gw.rewrite(
      config(upstream.url, idp, '{ value: "${UPSTREAM_CLIENT_SECRET}" }', 27, '  more: { match: { prefix: /more/ }, upstream: api, auth: none }'),
    );
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal((await fetch(`${gw.url}/more/x`)).status, 200);
    assert.equal(idp.tokenRequests(), fetched);
    assert.equal(bearerAt(upstream), token);
  });

  void test('the token is refreshed in the background before it expires; requests carry the new one', async () => {
    const token = bearerAt(upstream);
    const fetched = idp.tokenRequests();
    await until(() => idp.tokenRequests() > fetched, 'a background refresh');
    await until(async () => {
      assert.equal((await fetch(`${gw.url}/after-refresh`)).status, 200);
      return bearerAt(upstream) !== token;
    }, 'the refreshed token at the upstream');
    const claims = await idp.verify(bearerAt(upstream));
    assert.equal(claims.client_id, idp.clientId);
  });

  void test('a failed refresh keeps the cached token in use while it is valid', async () => {
    const token = bearerAt(upstream);
    idp.failTokenRequests(true);
    try {
      const failed = idp.failedTokenRequests();
      await until(() => idp.failedTokenRequests() > failed, 'a refresh the IdP refuses');
      const res = await fetch(`${gw.url}/while-failing`);
      assert.equal(res.status, 200);
      assert.equal(bearerAt(upstream), token);
    } finally {
      idp.failTokenRequests(false);
    }
  });
});

describe('no token to be had', () => {
  let idp: UpstreamIdp;
  let upstream: TestUpstream;
  before(async () => {
    idp = await startUpstreamIdp({ accessTokenTtlSeconds: 300 });
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
    await idp.close();
  });

  void test('the IdP down and no token cached: 503 upstream.credentials_unavailable, nothing forwarded; back up, requests flow', async () => {
    await idp.stop();
    const gw = await startTestGateway(config(upstream.url, idp, '{ value: "${UPSTREAM_CLIENT_SECRET}" }', 60), {
      env: { UPSTREAM_CLIENT_SECRET: idp.clientSecret },
    });
    try {
      upstream.requests.length = 0;
      const res = await fetch(`${gw.url}/orders`, { headers: { authorization: 'Bearer caller-token' } });
      assert.equal(res.status, 503);
      const body = (await res.json()) as { code: string };
      assert.equal(body.code, 'upstream.credentials_unavailable');
      assert.equal(upstream.requests.length, 0, 'the upstream received nothing');
      const events = await gw.audit();
      assert.deepEqual(
        events.map((e) => [e.outcome.status, e.outcome.code, e.outcome.upstreamStatus]),
        [[503, 'upstream.credentials_unavailable', undefined]],
      );
      await idp.start();
      await until(async () => (await fetch(`${gw.url}/orders`)).status === 200, 'a token once the IdP is back');
      await idp.verify(bearerAt(upstream));
    } finally {
      await gw.close();
    }
  });

  void test('a client secret from a file: refused by the IdP (503), then rotated in the file, requests flow with no restart', async () => {
    const gw = await startLoggedGateway('');
    try {
      const secretFile = join(gw.dir, 'client-secret');
      writeFileSync(secretFile, 'not-the-right-secret-0000\n');
      const result = gw.rewrite(config(upstream.url, idp, `{ file: ${JSON.stringify(secretFile)} }`, 60));
      assert.equal(result.ok, true, JSON.stringify(result));
      upstream.requests.length = 0;
      const refused = await fetch(`${gw.url}/orders`);
      assert.equal(refused.status, 503);
      assert.equal(upstream.requests.length, 0);
      writeFileSync(secretFile, idp.clientSecret + '\n');
      await until(async () => (await fetch(`${gw.url}/orders`)).status === 200, 'a token with the rotated secret');
      const token = bearerAt(upstream);
      await idp.verify(token);
      assert.ok(gw.lines.some((l) => l.includes('client secret for upstream api refreshed (file changed)')));
      assert.ok(gw.lines.some((l) => l.includes('credential for upstream api refreshed (token fetched)')));
      for (const line of gw.lines) {
        for (const secret of [token, idp.clientSecret, 'not-the-right-secret-0000']) assert.ok(!line.includes(secret), `a log line holds a secret: ${line}`);
      }
    } finally {
      await gw.close();
    }
  });
});
