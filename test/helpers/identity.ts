// A gateway in front of a recording upstream, accepting tokens from real test IdPs (test/helpers/idp.ts),
// started only once every provider's key set has arrived.
import { after, before } from 'node:test';
import { eventually } from './gateway-checks.ts';
import { startTestGateway } from './gateway.ts';
import type { TestGateway } from './gateway.ts';
import { startTestIdp } from './idp.ts';
import type { TestIdp } from './idp.ts';
import { startUpstream } from './upstream.ts';
import type { TestUpstream } from './upstream.ts';

export const AUDIENCE = 'cortex-gateway';

/** One provider entry (YAML, indented under identity.providers), with short key intervals for tests. */
export function providerYaml(name: string, idp: Pick<TestIdp, 'issuer' | 'introspection'>, extra: string[] = []): string {
  return [
    `    ${name}:`,
    `      issuer: ${idp.issuer}`,
    `      audiences: [${AUDIENCE}]`,
    '      keys: { refreshIntervalMs: 60000, unknownKeyRefetchMinIntervalMs: 200, timeoutMs: 2000 }',
    ...extra.map((l) => `      ${l}`),
  ].join('\n');
}

export interface IdentityGateway {
  gw: TestGateway;
  upstream: TestUpstream;
  close(): Promise<void>;
}

/**
 * `providers` is the YAML under identity.providers (see providerYaml); `routes` the YAML under
 * routes:, using the upstream `up`. The default route sends everything under /api/ with bearer auth.
 */
export async function startIdentityGateway(providers: string, routes = '  api: { match: { prefix: /api/ }, upstream: up }', extra = ''): Promise<IdentityGateway> {
  const upstream = await startUpstream();
  const gw = await startTestGateway(
    ['identity:', '  providers:', providers, extra, `upstreams:\n  up: { url: "${upstream.url}" }`, 'routes:', routes].filter((l) => l !== '').join('\n'),
  );
  await waitIdentityReady(gw);
  return {
    gw,
    upstream,
    async close() {
      await gw.close();
      await upstream.close();
    },
  };
}

export interface DevProviderGateway {
  readonly idp: TestIdp;
  readonly g: IdentityGateway;
}

/**
 * Registers before/after hooks in the calling describe(): a test IdP, and a gateway trusting it as
 * provider `dev` (startIdentityGateway's default route); both are closed after the describe.
 */
export function devProviderGateway(): DevProviderGateway {
  const started = {} as { idp: TestIdp; g: IdentityGateway };
  before(async () => {
    started.idp = await startTestIdp();
    started.g = await startIdentityGateway(providerYaml('dev', started.idp));
  });
  after(async () => {
    await started.g?.close();
    await started.idp?.close();
  });
  return started;
}

export async function waitIdentityReady(gw: Pick<TestGateway, 'runtime'>, timeoutMs = 10_000): Promise<void> {
  await eventually(() => (gw.runtime.gateway.readiness().components.identity ? true : undefined), 'identity providers ready', timeoutMs);
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
