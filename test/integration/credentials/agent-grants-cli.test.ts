// `cortex agents` and `cortex tokens revoke` in-process against a running gateway's config: grants
// land in the SQLite store the gateway reads; revocations reach the gateway's memory store through
// its admin API (POST /api/revocations), or Redis, where another instance hears them at once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { runAgents } from '../../../src/cli/agents.ts';
import { runTokens } from '../../../src/cli/tokens.ts';
import type { RevocationStore } from '../../../src/credentials/types.ts';
import { openRevocationStore } from '../../../src/stores/revocations/open-revocation-store.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { eventually, send } from '../../helpers/gateway-checks.ts';
import { ADMIN_TOKEN, startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';

const ISSUER = 'http://idp.example.test';
const REDIS_URL = 'redis://127.0.0.1:6379';

async function run(cli: typeof runAgents, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await cli(args, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env: {} });
  return { code, stdout, stderr };
}

const exchangeYaml = (dir: string, revocations: string) => [
  'identity:',
  '  providers:',
  '    corp:',
  `      issuer: ${ISSUER}`,
  '      jwksUri: http://127.0.0.1:9/jwks.json',
  '      audiences: [cortex-gateway]',
  '      agents: { assistant: { roles: [agent] }, planner: { roles: [agent] } }',
  'credentials:',
  '  tokenExchange:',
  '    clients:',
  '      assistant: { secret: assistant-secret-0123456789 }',
  '      planner: { secret: planner-secret-0123456789ab }',
  `    grants: { type: sqlite, path: ${JSON.stringify(join(dir, 'grants.db'))} }`,
  `    revocations: ${revocations}`,
  'upstreams:\n  up: { url: "http://127.0.0.1:9" }',
  'routes:',
  '  api: { match: { prefix: /api/ }, upstream: up }',
].join('\n');

describe('cortex agents and cortex tokens, memory revocations (through the admin API)', () => {
  let dir: string;
  let gw: TestGateway;
  let config: string;
  let revocations: RevocationStore;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cortex-agents-cli-'));
    gw = await startTestGateway(exchangeYaml(dir, '{ type: memory }'), { dir });
    config = gw.configFile;
    const exchange = gw.runtime.gateway.exchange;
    assert.ok(exchange);
    revocations = exchange.revocations;
  });
  after(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('grant, list, and the gateway finds the grant; an unknown agent is refused', async () => {
    const granted = await run(runAgents, ['grant', '--user', 'bob', '--agent', 'assistant', '--expires', '30d', '--config', config]);
    assert.equal(granted.code, 0, granted.stderr);
    assert.match(granted.stdout, /granted: assistant may act for bob \(http:\/\/idp\.example\.test\) until \d{4}-/);
    assert.equal(await gw.runtime.gateway.exchange?.grants.has({ issuer: ISSUER, subject: 'bob' }, 'assistant', Date.now()), true);
    assert.equal((await run(runAgents, ['grant', '--user', 'carol', '--agent', 'planner', '--config', config])).code, 0);

    const listed = await run(runAgents, ['list', '--agent', 'assistant', '--config', config]);
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^USER\s+AGENT\s+ISSUER\s+GRANTED\s+EXPIRES\s+BY$/);
    assert.equal(lines.length, 2);
    assert.match(lines[1] ?? '', /^bob\s+assistant\s+http:\/\/idp\.example\.test\s+\S+\s+\S+\s+cli:/);
    assert.match((await run(runAgents, ['list', '--user', 'carol', '--config', config])).stdout, /carol\s+planner/);

    const unknown = await run(runAgents, ['grant', '--user', 'bob', '--agent', 'stranger', '--config', config]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /not an agent client/);
    assert.equal((await run(runAgents, ['grant', '--user', 'bob', '--config', config])).code, 2);
    assert.equal((await run(runAgents, ['grant', '--user', 'bob', '--agent', 'assistant', '--expires', 'soon', '--config', config])).code, 2);
  });

  test("agents revoke removes the grant and revokes the agent's tokens for that person on the running gateway", async () => {
    await run(runAgents, ['grant', '--user', 'dana', '--agent', 'assistant', '--config', config]);
    const token = { jti: 'dana-1', agent: 'assistant', issuer: ISSUER, subject: 'dana', iat: Math.floor(Date.now() / 1000) - 1 };
    const out = await run(runAgents, ['revoke', '--user', 'dana', '--agent', 'assistant', '--admin', gw.adminUrl, '--config', config]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /revoked: assistant may no longer act for dana/);
    assert.equal(await gw.runtime.gateway.exchange?.grants.has({ issuer: ISSUER, subject: 'dana' }, 'assistant', Date.now()), false);
    assert.equal(revocations.isRevoked(token), true);
    assert.equal(revocations.isRevoked({ ...token, agent: 'planner' }), false);
    const again = await run(runAgents, ['revoke', '--user', 'dana', '--agent', 'assistant', '--admin', gw.adminUrl, '--config', config]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /has no grant/);
  });

  test('tokens revoke by jti, agent and user reach the gateway through its admin API', async () => {
    const now = Math.floor(Date.now() / 1000);
    const base = { jti: 'erin-1', agent: 'reporter', issuer: ISSUER, subject: 'erin', iat: now - 1 };
    const byJti = await run(runTokens, ['revoke', '--jti', 'erin-1', '--exp', String(now + 300), '--admin', gw.adminUrl, '--config', config]);
    assert.equal(byJti.code, 0, byJti.stderr);
    assert.equal(revocations.isRevoked(base), true);
    const byAgent = await run(runTokens, ['revoke', '--agent', 'scheduler', '--admin', gw.adminUrl, '--config', config]);
    assert.equal(byAgent.code, 0, byAgent.stderr);
    assert.equal(revocations.isRevoked({ ...base, jti: 'x', agent: 'scheduler' }), true);
    const byUser = await run(runTokens, ['revoke', '--user', 'frank', '--provider', 'corp', '--admin', gw.adminUrl, '--config', config]);
    assert.equal(byUser.code, 0, byUser.stderr);
    assert.match(byUser.stdout, /acting for frank \(http:\/\/idp\.example\.test\)/);
    assert.equal(revocations.isRevoked({ ...base, jti: 'y', subject: 'frank' }), true);
    assert.equal(revocations.isRevoked({ ...base, jti: 'z', subject: 'grace' }), false);
  });

  test('tokens revoke refuses incomplete requests; the admin API needs its token and a valid body', async () => {
    assert.equal((await run(runTokens, ['revoke', '--jti', 'abc', '--config', config])).code, 2, 'a jti needs --exp');
    assert.equal((await run(runTokens, ['revoke', '--agent', 'a', '--user', 'b', '--config', config])).code, 2);
    assert.equal((await run(runTokens, ['revoke', '--config', config])).code, 2);
    const down = await run(runTokens, ['revoke', '--agent', 'assistant', '--admin', 'http://127.0.0.1:9', '--config', config]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot be reached/);
    const url = `${gw.adminUrl}/api/revocations`;
    const json = { 'content-type': 'application/json' };
    assert.equal((await send(url, { method: 'POST', headers: json, body: '{"kind":"agent","agent":"x"}' })).status, 401);
    const auth = { ...json, authorization: `Bearer ${ADMIN_TOKEN}` };
    const bad = await send(url, { method: 'POST', headers: auth, body: '{"kind":"jti","jti":"x"}' });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /needs exp/);
    const ok = await send(url, { method: 'POST', headers: auth, body: '{"kind":"agent","agent":"x","at":1700000000}' });
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), { revoked: { kind: 'agent', agent: 'x', at: 1700000000 } });
  });
});

describe('cortex tokens revoke with Redis revocations', () => {
  const keyPrefix = `cortex-test:cli-revoked:${randomBytes(6).toString('hex')}:`;
  let dir: string;
  let config: string;
  let instance: RevocationStore;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cortex-tokens-cli-'));
    config = join(dir, 'cortex.yaml');
    writeFileSync(config, ['version: 1', exchangeYaml(dir, `{ type: redis, url: "${REDIS_URL}", keyPrefix: "${keyPrefix}" }`)].join('\n'));
    instance = openRevocationStore({ type: 'redis', url: REDIS_URL, keyPrefix }, { log: createLogger({ level: 'silent' }) });
    await instance.ready();
  });
  after(async () => {
    await instance.close();
    const admin = new Redis(REDIS_URL);
    const keys = await admin.keys(`${keyPrefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the CLI writes to Redis and a running instance applies it at once, no admin API involved', async () => {
    const token = { jti: 't-1', agent: 'assistant', issuer: ISSUER, subject: 'bob', iat: Math.floor(Date.now() / 1000) - 1 };
    const out = await run(runTokens, ['revoke', '--user', 'bob', '--admin', 'http://127.0.0.1:9', '--config', config]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /written to Redis/);
    await eventually(() => instance.isRevoked(token) || undefined, 'the instance hears the revocation');
    assert.equal(instance.isRevoked({ ...token, subject: 'carol' }), false);
  });
});
