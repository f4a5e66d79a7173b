// Proves that no credential a request carries, or the config holds, reaches a log line (at debug)
// or an audit event: bearer tokens good and bad, session cookies, API keys in a header and in the
// query, access tokens and OIDC callback codes in the query, a client secret in a token-exchange
// form, an upstream credential read from a file, and a failed reload whose config holds a secret.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../helpers/gateway-checks.ts';
import { providerYaml } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { startLoggedGateway } from './logged-gateway.ts';
import type { LoggedGateway } from './logged-gateway.ts';

const S = {
  badToken: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.BADTOKENSECRET0a1b2c3d4e5f',
  cookie: 'COOKIESECRET9f8e7d6c5b4a3210',
  apiKeyHeader: 'ck_APIKEYHEADERSECRET7a6b5c4d3e2f1',
  apiKeyQuery: 'ck_APIKEYQUERYSECRET1f2e3d4c5b6a7',
  accessToken: 'ACCESSTOKENSECRET5d4c3b2a1f0e9d8c',
  token: 'PLAINTOKENSECRET0a9b8c7d6e5f4a3b',
  code: 'AUTHCODESECRET2b3c4d5e6f7a8b9c0d',
  state: 'STATESECRET3c4d5e6f7a8b9c0d1e2f',
  clientSecret: 'CLIENTSECRETWRONG4d5e6f7a8b9c0d1e',
  exchangeSecret: 'assistant-EXCHANGESECRET-0123456789',
  upstreamFile: 'UPSTREAMFILESECRET5e6f7a8b9c0d1e2f',
  hmac: 'HMACSECRET6f7a8b9c0d1e2f3a4b5c6d7e8f90',
  sessionKey: 'SESSIONKEYSECRET7a8b9c0d1e2f3a4b5c6d7e8f',
  reload: 'RELOADSECRET8b9c0d1e2f3a',
};

let idp: TestIdp;
let upstream: TestUpstream;
let gw: LoggedGateway;
let config: string;
let bearerToken: string;

before(async () => {
  idp = await startTestIdp();
  upstream = await startUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'cortex-redaction-'));
  const secretFile = join(dir, 'upstream-token');
  writeFileSync(secretFile, `${S.upstreamFile}\n`);
  config = [
    'identity:',
    '  providers:',
    providerYaml('dev', idp),
    '  sessions:',
    `    { provider: dev, clientId: cortex-web, redirectUri: "http://127.0.0.1:1/.cortex/callback", secrets: ["${S.sessionKey}"], cookie: { secure: false } }`,
    `  apiKeys: { store: { type: sqlite, path: ${JSON.stringify(join(dir, 'keys.db'))} }, hmacSecret: "${S.hmac}", header: x-team-key }`,
    'credentials:',
    '  tokenExchange:',
    `    clients: { assistant: { secret: ${S.exchangeSecret} } }`,
    `    grants: { type: sqlite, path: ${JSON.stringify(join(dir, 'grants.db'))} }`,
    'upstreams:',
    `  up: { url: "${upstream.url}", credentials: { type: header, prefix: "Bearer ", secret: { file: ${JSON.stringify(secretFile)} } } }`,
    `  down: { url: "http://127.0.0.1:9", credentials: { type: header, prefix: "Bearer ", secret: { file: ${JSON.stringify(secretFile)} } } }`,
    'routes:',
    '  api: { match: { prefix: /api/ }, upstream: up }',
    '  open: { match: { prefix: /open/ }, upstream: up, auth: none }',
    '  gone: { match: { prefix: /gone/ }, upstream: down, auth: none }',
    '  app: { match: { prefix: /app/ }, upstream: up, auth: session }',
  ].join('\n');
  gw = await startLoggedGateway(config, dir);
  await eventually(() => (gw.runtime.gateway.readiness().components.identity ? true : undefined), 'identity providers ready', 10_000);
  bearerToken = await idp.tokenFor({ sub: 'alice' });
});

after(async () => {
  await gw?.close();
  await upstream?.close();
  await idp?.close();
});

async function send(path: string, init: RequestInit = {}): Promise<number> {
  const res = await fetch(`${gw.url}${path}`, { redirect: 'manual', ...init });
  await res.arrayBuffer();
  return res.status;
}

test('no credential reaches a log line or an audit event', async () => {
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  assert.equal(await send('/api/orders?x=1', { headers: auth(bearerToken) }), 200);
  // The upstream got the credential read from the file: the secret was really in play.
  assert.equal(upstream.requests.at(-1)?.headers.authorization, `Bearer ${S.upstreamFile}`);
  assert.equal(await send('/api/orders', { headers: auth(S.badToken) }), 401);
  assert.equal(await send(`/api/orders?access_token=${S.accessToken}&page=2`), 401);
  assert.equal(await send(`/open/search?token=${S.token}&q=shoes`), 200);
  assert.equal(await send('/api/orders', { headers: { 'x-team-key': S.apiKeyHeader } }), 401);
  assert.equal(await send(`/api/orders?api_key=${S.apiKeyQuery}`), 401);
  const app = await send('/app/home', { headers: { cookie: `__Host-cortex-session=${S.cookie}; theme=dark` } });
  assert.ok(app === 302 || app === 401, `a forged session cookie is refused (${app})`);
  assert.ok((await send(`/.cortex/callback?code=${S.code}&state=${S.state}`, { headers: { cookie: `cortex-login=${S.cookie}` } })) >= 400);
  const exchange = await send('/.cortex/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      client_id: 'assistant',
      client_secret: S.clientSecret,
      subject_token: bearerToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      audience: 'up',
    }),
  });
  assert.ok(exchange >= 400, `a wrong client secret is refused (${exchange})`);
  assert.equal(await send(`/gone/x?access_token=${S.accessToken}`, { headers: auth(bearerToken) }), 502);
  const reload = gw.rewrite(config.replace(`hmacSecret: "${S.hmac}"`, `hmacSecret: "${S.reload}"`));
  assert.equal(reload.ok, false, 'a too short HMAC secret is refused');
  // The admin listener logs its requests at debug, URL included.
  await fetch(`${gw.adminUrl}/healthz?token=${S.token}`).then((r) => r.arrayBuffer());

  const audit = await gw.auditLines();
  assert.ok(audit.length >= 11, `every request was audited (${audit.length})`);
  assert.ok(gw.lines.length > 0, 'the gateway logged');
  assert.ok(gw.lines.some((l) => l.includes('[redacted]')), 'something was redacted, so the secrets did reach the logger');
  const secrets = [...Object.values(S), bearerToken, bearerToken.split('.')[2] ?? bearerToken];
  for (const line of [...gw.lines, ...audit]) {
    for (const secret of secrets) assert.ok(!line.includes(secret), `a secret (${secret.slice(0, 12)}...) in: ${line}`);
  }
});
