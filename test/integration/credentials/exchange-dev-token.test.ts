// `cortex dev token --agent assistant --for PERSON` exchanges the person's token (issued to the CLI
// client, not the agent) at the gateway's /.cortex/token: bob has granted assistant, alice has not.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEV_ASSISTANT_SECRET } from '../../../src/dev/config.ts';
import { startDevIdp } from '../../../src/dev/idp/index.ts';
import type { DevIdp } from '../../../src/dev/idp/index.ts';
import { writeDevState } from '../../../src/dev/state.ts';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { bearer, providerYaml, waitIdentityReady } from '../../helpers/identity.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { payloadOf } from './exchange-setup.ts';

const entry = fileURLToPath(new URL('../../../src/cli/dev-token.ts', import.meta.url));

function cortexDevToken(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `import { runDevToken } from ${JSON.stringify(entry)}; process.exitCode = await runDevToken(process.argv.slice(1));`;
  const env = { ...process.env };
  delete env.CORTEX_DEV_ASSISTANT_SECRET;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, '--', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('cortex dev token --agent', () => {
  let cwd: string;
  let idp: DevIdp;
  let upstream: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'cortex-dev-exchange-'));
    idp = await startDevIdp({ host: '127.0.0.1', port: 0, stateDir: join(cwd, '.cortex', 'dev', 'idp') });
    upstream = await startUpstream();
    gw = await startTestGateway(
      [
        'credentials:',
        '  tokenExchange:',
        `    clients: { assistant: { secret: ${DEV_ASSISTANT_SECRET} } }`,
        `    grants: { type: sqlite, path: ${JSON.stringify(join(cwd, 'grants.db'))} }`,
        'identity:',
        '  providers:',
        providerYaml('dev', { issuer: idp.issuer, introspection: { clientId: 'x', clientSecret: 'x' } }, [
          'roles: { claim: groups, map: { admins: [admin], customers: [customer] } }',
          'agents: { assistant: { roles: [agent] } }',
        ]),
        `upstreams:\n  up: { url: "${upstream.url}" }`,
        'routes:',
        '  read: { match: { methods: [GET], path: /orders }, upstream: up, intent: "orders:read" }',
        'policy:',
        "  grants: { admin: ['orders:*'], customer: ['orders:read', 'orders:create'], agent: ['orders:read', 'orders:create'] }",
      ].join('\n'),
    );
    await waitIdentityReady(gw);
    writeDevState({ gatewayUrl: gw.url, adminUrl: gw.adminUrl, ordersUrl: upstream.url, pid: process.pid, startedAt: new Date().toISOString() }, join(cwd, '.cortex', 'dev'));
    await gw.runtime.gateway.exchange?.grants.grant({ issuer: idp.issuer, subject: 'bob', agent: 'assistant', createdBy: 'cortex dev' });
  });
  after(async () => {
    await gw.close();
    await upstream.close();
    await idp.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  test('--for bob prints a delegated token signed by Cortex, accepted at the gateway', async () => {
    const r = await cortexDevToken(cwd, ['--agent', 'assistant', '--for', 'bob']);
    assert.equal(r.code, 0, r.stderr);
    const token = r.stdout.trim();
    const claims = payloadOf(token);
    assert.equal(claims.iss, gw.url);
    assert.equal(claims.sub, 'bob');
    assert.deepEqual(claims.act, { sub: 'assistant' });
    assert.equal(claims.scope, 'orders:create orders:read');
    const res = await fetch(`${gw.url}/orders`, { headers: bearer(token) });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });

  test('--for alice is refused with the endpoint\'s error: she granted assistant nothing', async () => {
    const r = await cortexDevToken(cwd, ['--agent', 'assistant', '--for', 'alice']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /invalid_grant \(alice has not authorized assistant/);
  });
});
