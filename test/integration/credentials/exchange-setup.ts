// A gateway with token exchange configured, in front of a recording upstream, trusting a real
// oidc-provider (test/helpers/idp.ts). Shared by the exchange*.test.ts files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TokenExchangeRuntime } from '../../../src/credentials/exchange/exchange-runtime.ts';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { providerYaml, waitIdentityReady } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';

export const ASSISTANT_SECRET = 'assistant-secret-0123456789';
export const REPORTING_SECRET = 'reporting-secret-0123456789';
export const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';

export interface ExchangeWorld {
  idp: TestIdp;
  gw: TestGateway;
  upstream: TestUpstream;
  exchange: TokenExchangeRuntime;
  /** POST /.cortex/token as `client` (Basic) with these form fields. */
  post(fields: Record<string, string>, o?: { client?: string; secret?: string; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }>;
  /** Exchanges `subjectToken` as assistant; the parsed answer. */
  exchangeFor(subjectToken: string, extra?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function startExchangeWorld(): Promise<ExchangeWorld> {
  const idp = await startTestIdp({ algorithm: 'ES256' });
  const upstream = await startUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'cortex-exchange-'));
  const body = [
    'credentials:',
    '  tokenExchange:',
    '    lifetimeSeconds: 300',
    '    clients:',
    `      assistant: { secret: ${ASSISTANT_SECRET}, provider: dev }`,
    `      reporting: { secret: ${REPORTING_SECRET} }`,
    `    grants: { type: sqlite, path: ${JSON.stringify(join(dir, 'grants.db'))} }`,
    'identity:',
    '  providers:',
    providerYaml('dev', idp, [
      'roles: { claim: groups, map: { admins: [admin], customers: [customer], support: [support] } }',
      'services: { reporting: { roles: [reporting] } }',
      'agents: { assistant: { roles: [agent] } }',
    ]),
    `upstreams:\n  up: { url: "${upstream.url}" }`,
    'routes:',
    '  read: { match: { methods: [GET], path: /api/orders }, upstream: up, intent: "orders:read" }',
    '  create: { match: { methods: [POST], path: /api/orders }, upstream: up, intent: "orders:create" }',
    '  remove: { match: { methods: [DELETE], path: "/api/orders/{id}" }, upstream: up, intent: "orders:delete", tags: [destructive] }',
    '  export: { match: { methods: [GET], path: /api/export }, upstream: up, intent: "orders:export" }',
    'policy:',
    '  grants:',
    "    admin: ['orders:*']",
    "    customer: ['orders:read', 'orders:create']",
    "    support: ['orders:read']",
    "    reporting: ['orders:read']",
    "    agent: ['orders:*']",
  ].join('\n');
  const gw = await startTestGateway(body, { dir });
  await waitIdentityReady(gw);
  const exchange = gw.runtime.gateway.exchange;
  if (exchange === undefined) throw new Error('token exchange is not running');
  const post: ExchangeWorld['post'] = async (fields, o = {}) => {
    const client = o.client ?? 'assistant';
    const secret = o.secret ?? ASSISTANT_SECRET;
    const res = await fetch(`${gw.url}/.cortex/token`, {
      method: 'POST',
      headers: {
        authorization: 'Basic ' + Buffer.from(`${client}:${secret}`).toString('base64'),
        'content-type': 'application/x-www-form-urlencoded',
        ...o.headers,
      },
      body: new URLSearchParams(fields),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };
  return {
    idp,
    gw,
    upstream,
    exchange,
    post,
    exchangeFor: (subjectToken, extra = {}) => post({ grant_type: EXCHANGE, subject_token: subjectToken, subject_token_type: ACCESS, ...extra }),
    async close() {
      await gw.close();
      await upstream.close();
      await idp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The payload of a JWT, unverified (the tests check what Cortex put in it). */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
