// A gateway with browser sessions through the dev IdP and token exchange for agent clients, for
// tests of /.cortex/consent: a person logs in (session/flow-kit.ts) and allows or withdraws agents.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIdpHost } from '../../src/dev/idp/index.ts';
import type { IdpHost } from '../../src/dev/idp/index.ts';
import { reservePort, SECRET_A, startSessionGateway } from '../integration/session/flow-kit.ts';
import type { Agent, Hop } from '../integration/session/flow-kit.ts';
import type { TestGateway } from './gateway.ts';

export const CONSENT_PAGE = '/.cortex/consent';

/** The token-exchange clients a consent gateway can be given, with their secrets. */
export const AGENT_CLIENT_SECRETS = { assistant: 'assistant-secret-0123456789', planner: 'planner-secret-0123456789ab' } as const;
export type AgentClient = keyof typeof AGENT_CLIENT_SECRETS;

export interface ConsentGateway {
  idp: IdpHost;
  gw: TestGateway;
  /** The gateway's origin, which same-site form posts carry. */
  origin: string;
  /** Posts the consent form as `agent` (same-origin unless `headers` say otherwise). */
  post: (agent: Agent, body: string, headers?: Record<string, string>) => Promise<Hop>;
  close(): Promise<void>;
}

/** Sessions from the dev IdP's `cortex-web` client; `agents` are both the provider's agents and the exchange's clients; grants in SQLite. */
export async function startConsentGateway(agents: readonly AgentClient[]): Promise<ConsentGateway> {
  const port = await reservePort();
  const origin = `http://127.0.0.1:${port}`;
  const idp = await startIdpHost({ host: '127.0.0.1', port: 0, webRedirectUris: [`${origin}/.cortex/callback`], postLogoutRedirectUris: [`${origin}/`] });
  const dir = mkdtempSync(join(tmpdir(), 'cortex-consent-'));
  const gw = await startSessionGateway(port, [
    'identity:',
    '  providers:',
    '    dev:',
    `      issuer: ${idp.issuer}`,
    '      audiences: [cortex-gateway]',
    `      agents: { ${agents.map((a) => `${a}: { roles: [agent] }`).join(', ')} }`,
    '  sessions:',
    '    provider: dev',
    '    clientId: cortex-web',
    `    clientSecret: ${idp.clients['cortex-web']?.clientSecret ?? ''}`,
    `    redirectUri: ${origin}/.cortex/callback`,
    `    secrets: [${SECRET_A}]`,
    '    cookie: { secure: false }',
    'credentials:',
    '  tokenExchange:',
    '    clients:',
    ...agents.map((a) => `      ${a}: { secret: ${AGENT_CLIENT_SECRETS[a]} }`),
    `    grants: { type: sqlite, path: ${JSON.stringify(join(dir, 'grants.db'))} }`,
    'upstreams:\n  up: { url: "http://127.0.0.1:9" }',
    'routes:',
    '  app: { match: { prefix: /app/ }, upstream: up, auth: session }',
  ], dir);
  return {
    idp,
    gw,
    origin,
    post: (agent, body, headers = { origin }) =>
      agent.request(`${gw.url}${CONSENT_PAGE}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body }),
    async close() {
      await gw.close();
      await idp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
