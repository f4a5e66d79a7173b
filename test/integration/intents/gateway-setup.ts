// A gateway importing the orders API from a spec server the test controls, with a recording
// upstream and the dev IdP's tokens (alice: admin, bob: customer).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { ADMIN_TOKEN, startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { send } from '../../helpers/gateway-checks.ts';
import type { Reply } from '../../helpers/gateway-checks.ts';
import { bearer, providerYaml, waitIdentityReady } from '../../helpers/identity.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';

const ROLES = ['roles: { claim: groups, map: { admins: [admin], customers: [customer] } }'];

export interface ApisGateway {
  gw: TestGateway;
  upstream: TestUpstream;
  lockFile: string;
  /** The config body for this gateway with another apis section (for gw.rewrite). */
  body(apis: string): string;
  call(method: 'GET' | 'DELETE' | 'PUT' | 'POST', path: string, token?: string): Promise<{ reply: Reply; reached: number }>;
  status(): Promise<{ apis: Record<string, { digest: string | null; operations: number; noIntent: string[]; pending: { key: string }[]; lastProblem?: string }> }>;
  metrics(): Promise<string>;
  close(): Promise<void>;
}

/** The apis section importing `specUrl` under /api/. */
export function apisYaml(specUrl: string, lockFile: string, prefix = '/api/', refreshIntervalMs = 600_000): string {
  return [
    'apis:',
    '  orders:',
    '    upstream: up',
    `    spec: { url: "${specUrl}" }`,
    `    prefix: ${prefix}`,
    `    refreshIntervalMs: ${refreshIntervalMs}`,
    '    fetchTimeoutMs: 2000',
    `    lockFile: ${JSON.stringify(lockFile)}`,
  ].join('\n');
}

export async function startApisGateway(idp: TestIdp, specUrl: string, stage: 'dev' | 'prod'): Promise<ApisGateway> {
  const upstream = await startUpstream();
  const lockDir = mkdtempSync(join(tmpdir(), 'cortex-intents-'));
  const lockFile = join(lockDir, 'orders.json');
  const body = (apis: string) =>
    [
      `stage: ${stage}`,
      'identity:',
      '  providers:',
      providerYaml('dev', idp, ROLES),
      `upstreams:\n  up: { url: "${upstream.url}" }`,
      'routes:',
      '  health: { match: { methods: [GET], path: /api/health }, upstream: up, auth: none }',
      apis,
      'policy:',
      '  grants:',
      '    admin: ["orders:*", "items:*"]',
      '    customer: ["orders:read"]',
    ].join('\n');
  const gw = await startTestGateway(body(apisYaml(specUrl, lockFile)));
  await waitIdentityReady(gw);
  const admin = async (path: string) => {
    const res = await request(`${gw.adminUrl}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return res.body.text();
  };
  return {
    gw,
    upstream,
    lockFile,
    body,
    async call(method, path, token) {
      const before = upstream.requests.length;
      const reply = await send(`${gw.url}${path}`, { method, headers: token === undefined ? {} : bearer(token) });
      return { reply, reached: upstream.requests.length - before };
    },
    status: async () => JSON.parse(await admin('/api/status')) as Awaited<ReturnType<ApisGateway['status']>>,
    metrics: () => admin('/metrics'),
    async close() {
      await gw.close();
      await upstream.close();
      rmSync(lockDir, { recursive: true, force: true });
    },
  };
}

/** The value of one Prometheus series in a scrape (undefined when absent). */
export function metricValue(scrape: string, series: string): number | undefined {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
