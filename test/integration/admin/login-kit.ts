// The admin login without a browser: a real dev IdP (its login form included), a gateway whose admin
// listener has admin.login on a port reserved beforehand (the IdP must know the callback URL), and
// the session tests' user agent (cookie jar per host:port, redirects followed by hand).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent, SystemAuditEvent } from '../../../src/audit/event.ts';
import { startRuntime } from '../../../src/cli/run-gateway.ts';
import type { Runtime } from '../../../src/cli/run-gateway.ts';
import { startIdpHost } from '../../../src/dev/idp/index.ts';
import type { IdpHost } from '../../../src/dev/idp/index.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { readJsonlAudit } from '../../helpers/gateway.ts';
import { eventually } from '../../helpers/gateway-checks.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { Agent, reservePort, signInAtIdp } from '../session/flow-kit.ts';
import type { Hop } from '../session/flow-kit.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const LOGIN_SECRET = 'admin-login-secret-0123456789abcdefghijkl';

export interface LoginWorld {
  idp: IdpHost;
  runtime: Runtime;
  adminUrl: string;
  /** Rewrites the config with another admin.login.sessionSecret and reloads. */
  setSessionSecret(secret: string): void;
  /** Every audit event so far (request and system). */
  events(): Promise<AuditEvent[]>;
  /** Waits (bounded) for a system event that `match` accepts. */
  waitSystem(match: (e: SystemAuditEvent) => boolean, what: string): Promise<SystemAuditEvent>;
  close(): Promise<void>;
}

export async function startLoginWorld(): Promise<LoginWorld> {
  const adminPort = await reservePort();
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const idp = await startIdpHost({ host: '127.0.0.1', port: 0, adminRedirectUris: [`${adminUrl}/auth/callback`] });
  const upstream: TestUpstream = await startUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'cortex-admin-login-'));
  const auditFile = join(dir, 'audit.jsonl');
  const configFile = join(dir, 'cortex.yaml');
  const client = idp.clients['cortex-admin'];
  assert.ok(client, 'the dev IdP has the admin login client');
  const render = (secret: string) =>
    [
      'version: 1',
      'gateway: { listen: { host: 127.0.0.1, port: 0 } }',
      'admin:',
      `  listen: { host: 127.0.0.1, port: ${adminPort} }`,
      `  token: ${ADMIN_TOKEN}`,
      '  login:',
      '    provider: dev',
      '    clientId: cortex-admin',
      `    clientSecret: ${client.clientSecret}`,
      `    redirectUri: ${adminUrl}/auth/callback`,
      `    sessionSecret: ${secret}`,
      'identity:',
      '  providers:',
      '    dev:',
      `      issuer: ${idp.issuer}`,
      '      audiences: [cortex-gateway]',
      '      roles: { claim: groups, map: { admins: [admin], customers: [customer] } }',
      `audit: { sinks: [{ type: jsonl, path: ${JSON.stringify(auditFile)} }] }`,
      'log: { level: silent }',
      `upstreams: { up: { url: "${upstream.url}" } }`,
      'routes:',
      '  all: { match: { prefix: / }, upstream: up, auth: bearer }',
    ].join('\n');
  writeFileSync(configFile, render(LOGIN_SECRET));
  const runtime = await startRuntime({ configFile, env: process.env, log: createLogger({ level: 'silent' }), watch: false });
  await eventually(() => (runtime.gateway.readiness().components.identity ? true : undefined), 'identity provider keys', 10_000);
  const events = async (): Promise<AuditEvent[]> => {
    await runtime.gateway.flushAudit();
    return readJsonlAudit(auditFile);
  };
  return {
    idp,
    runtime,
    adminUrl,
    setSessionSecret(secret) {
      writeFileSync(configFile, render(secret));
      const reloaded = runtime.gateway.reload();
      assert.ok(reloaded.ok, JSON.stringify(reloaded));
    },
    events,
    waitSystem: (match, what) =>
      eventually(async () => (await events()).find((e): e is SystemAuditEvent => e.type === 'system' && match(e)), what),
    async close() {
      await runtime.close(1_000);
      await upstream.close();
      await idp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a login at the admin listener and signs in as `person` at the IdP; returns the callback URL, not yet called. */
export async function authorizeAdmin(agent: Agent, adminUrl: string, person: string, start = '/auth/login'): Promise<string> {
  const back = (url: string) => url.startsWith(`${adminUrl}/`);
  const page = await agent.follow(`${adminUrl}${start}`, back);
  const out = page.location !== undefined && back(page.location) ? page : await signInAtIdp(agent, page, person, adminUrl);
  const location = out.location ?? '';
  assert.ok(location.startsWith(`${adminUrl}/auth/callback?`), `the IdP sends the browser back: ${out.status} ${location || out.body.slice(0, 300)}`);
  return location;
}

/** A whole login: the callback's answer. */
export async function adminLogin(agent: Agent, adminUrl: string, person: string): Promise<Hop> {
  return agent.request(await authorizeAdmin(agent, adminUrl, person));
}

export { Agent };
