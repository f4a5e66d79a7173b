// The cache of verified tokens seen from outside (admin /metrics and the audit trail): a repeated
// token costs no verification, an expired one is refused; and role mappings per stage, which a
// reload applies to tokens already in the cache.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditWho } from '../../../src/audit/event.ts';
import { assertProblem, auditFor, eventually, header, send } from '../../helpers/gateway-checks.ts';
import type { Reply } from '../../helpers/gateway-checks.ts';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { bearer, devProviderGateway, providerYaml, startIdentityGateway, waitIdentityReady } from '../../helpers/identity.ts';
import type { IdentityGateway } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';

const HITS = 'cortex_token_cache_lookups_total{result="hit"}';
const MISSES = 'cortex_token_cache_lookups_total{result="miss"}';

const get = (gw: TestGateway, token: string): Promise<Reply> => send(`${gw.url}/api/orders`, { headers: bearer(token) });

async function metric(gw: TestGateway, sample: string): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  assert.ok(line, `metric ${sample} in ${text}`);
  return Number(line.slice(sample.length + 1));
}

async function whoOf(gw: TestGateway, token: string): Promise<AuditWho & { stage: string }> {
  const res = await get(gw, token);
  assert.equal(res.status, 200, res.body);
  const event = await auditFor(gw, header(res, 'x-request-id') as string, 'ok');
  assert.ok(event.who);
  return { ...event.who, stage: event.stage };
}

describe('token cache', () => {
  let idp: TestIdp;
  let g: IdentityGateway;

  before(async () => {
    idp = await startTestIdp();
    // No clock skew: otherwise an expired token is still accepted for the skew after its exp.
    g = await startIdentityGateway(providerYaml('dev', idp, ['clockSkewSeconds: 0']));
  });
  after(async () => {
    await g?.close();
    await idp?.close();
  });

  test('the second request with a token is a cache hit, not a verification', async () => {
    const token = await idp.tokenFor({ sub: 'alice' });
    const [hits0, misses0, entries0] = [await metric(g.gw, HITS), await metric(g.gw, MISSES), await metric(g.gw, 'cortex_token_cache_entries')];
    assert.equal((await get(g.gw, token)).status, 200);
    assert.equal(await metric(g.gw, MISSES), misses0 + 1, 'first sight: a miss, then a verification');
    assert.equal(await metric(g.gw, HITS), hits0);
    assert.equal(await metric(g.gw, 'cortex_token_cache_entries'), entries0 + 1);

    const jwksFetches = idp.jwksRequests();
    for (let i = 0; i < 3; i++) assert.equal((await get(g.gw, token)).status, 200);
    assert.equal(await metric(g.gw, HITS), hits0 + 3, 'each repeat is a hit');
    assert.equal(await metric(g.gw, MISSES), misses0 + 1, 'and no further miss');
    assert.equal(await metric(g.gw, 'cortex_token_cache_entries'), entries0 + 1);
    assert.equal(idp.jwksRequests(), jwksFetches);
  });

  test('a cached token is refused once it expires: 401 authn.token_expired', async () => {
    const token = await idp.tokenFor({ sub: 'alice', ttlSeconds: 2 });
    assert.equal((await get(g.gw, token)).status, 200);
    const hits = await metric(g.gw, HITS);
    assert.equal((await get(g.gw, token)).status, 200);
    assert.equal(await metric(g.gw, HITS), hits + 1, 'cached while valid');

    const refused = await eventually(async () => {
      const res = await get(g.gw, token);
      return res.status === 200 ? undefined : res;
    }, 'the token to expire', 6_000);
    const id = assertProblem(refused, 401, 'authn.token_expired');
    assert.match(String(header(refused, 'www-authenticate')), /error="invalid_token"/);
    await auditFor(g.gw, id, 'authn.token_expired');
    assertProblem(await get(g.gw, token), 401, 'authn.token_expired', 'and stays refused');
  });
});

describe('a reload that changes how tokens are checked', () => {
  const dev = devProviderGateway();
  const body = (extra: string[]): string =>
    ['identity:', '  providers:', providerYaml('dev', dev.idp, extra), `upstreams:\n  up: { url: "${dev.g.upstream.url}" }`, 'routes:', '  api: { match: { prefix: /api/ }, upstream: up }'].join('\n');

  for (const [rule, code] of [
    ['algorithms: [ES256]', 'authn.unsupported_algorithm'],
    ['tokenType: JWT', 'authn.wrong_token_type'],
    ['maxTokenLifetimeSeconds: 60', 'authn.token_lifetime'],
  ] as const) {
    test(`${rule}: a token cached under the old rules is checked again (${code})`, async () => {
      const token = await dev.idp.tokenFor({ sub: 'alice' });
      assert.equal((await get(dev.g.gw, token)).status, 200);
      assert.equal((await get(dev.g.gw, token)).status, 200, 'cached');
      try {
        assert.equal(dev.g.gw.rewrite(body([rule])).ok, true);
        const id = assertProblem(await get(dev.g.gw, token), 401, code);
        await auditFor(dev.g.gw, id, code);
      } finally {
        assert.equal(dev.g.gw.rewrite(body([])).ok, true);
      }
      assert.equal((await get(dev.g.gw, token)).status, 200, 'accepted again under the first rules');
    });
  }
});

describe('roles per stage, and a reload', () => {
  let idp: TestIdp;
  let upstream: TestUpstream;
  const gateways: TestGateway[] = [];

  /** The base mapping gives support [support]; prod overrides it with `prodSupport`. */
  const config = (prodSupport: string): string =>
    [
      'identity:',
      '  providers:',
      providerYaml('dev', idp, ['roles: { claim: groups, map: { admins: [admin], support: [support] } }']),
      'stages:',
      `  prod: { identity: { providers: { dev: { roles: { map: { support: ${prodSupport} } } } } } }`,
      `upstreams:\n  up: { url: "${upstream.url}" }`,
      'routes:',
      '  api: { match: { prefix: /api/ }, upstream: up }',
    ].join('\n');

  async function gatewayFor(stage: string): Promise<TestGateway> {
    const gw = await startTestGateway(config('[readonly]'), { env: { CORTEX_STAGE: stage } });
    gateways.push(gw);
    await waitIdentityReady(gw);
    return gw;
  }

  before(async () => {
    idp = await startTestIdp();
    upstream = await startUpstream();
  });
  after(async () => {
    for (const gw of gateways) await gw.close();
    await upstream?.close();
    await idp?.close();
  });

  test('the same token gets the roles of the stage the gateway runs in', async () => {
    const [dev, prod] = [await gatewayFor('dev'), await gatewayFor('prod')];
    const carol = await idp.tokenFor({ sub: 'carol' });
    const alice = await idp.tokenFor({ sub: 'alice' });

    const carolDev = await whoOf(dev, carol);
    const carolProd = await whoOf(prod, carol);
    assert.deepEqual([carolDev.stage, carolDev.roles], ['dev', ['support']]);
    assert.deepEqual([carolProd.stage, carolProd.roles], ['prod', ['readonly']]);
    assert.equal(carolDev.fingerprint, carolProd.fingerprint, 'the same caller, with other roles');
    assert.deepEqual((await whoOf(dev, alice)).roles, ['admin']);
    assert.deepEqual((await whoOf(prod, alice)).roles, ['admin'], 'values the stage does not override keep the base mapping');
  });

  test('a reload with a changed mapping applies to a token already in the cache', async () => {
    const prod = await gatewayFor('prod');
    const carol = await idp.tokenFor({ sub: 'carol' });
    assert.deepEqual((await whoOf(prod, carol)).roles, ['readonly']);

    const jwksFetches = idp.jwksRequests();
    const reloaded = prod.rewrite(config('[readonly, tickets]'));
    assert.deepEqual(reloaded.ok, true, JSON.stringify(reloaded));
    const hits = await metric(prod, HITS);
    const after = await whoOf(prod, carol);
    assert.equal(await metric(prod, HITS), hits + 1, 'answered from the cache, not verified again');
    assert.deepEqual(after.roles, ['readonly', 'tickets']);
    assert.equal(idp.jwksRequests(), jwksFetches, 'the key set outlived the reload: its settings did not change');

    // Back again: the same cached entry follows the mapping of the current snapshot only.
    assert.equal(prod.rewrite(config('[readonly]')).ok, true);
    assert.deepEqual((await whoOf(prod, carol)).roles, ['readonly']);
  });
});
