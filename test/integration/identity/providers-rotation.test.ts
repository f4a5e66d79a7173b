// The IdP rotates its signing key while 20 clients keep sending requests with freshly minted
// tokens: the new kid is fetched on first sight and nothing fails. A second rotation that drops the
// old keys takes their tokens with it, cached or not.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtectedHeader } from 'jose';
import { assertProblem, auditFor, eventually, send } from '../../helpers/gateway-checks.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { AUDIENCE, bearer, devProviderGateway } from '../../helpers/identity.ts';
import { ADMIN_TOKEN } from '../../helpers/gateway.ts';

const CLIENTS = 20;
const PEOPLE = ['alice', 'bob', 'carol'];

function kidOf(token: string): string {
  return String(decodeProtectedHeader(token).kid);
}

/** One sample (no labels, or its label set written out) from the admin listener's /metrics. */
async function metric(gw: TestGateway, sample: string): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  assert.ok(line, `metric ${sample} in ${text}`);
  return Number(line.slice(sample.length + 1));
}

interface Outcome {
  token: string;
  status: number;
  kid: string;
  afterRotation: boolean;
  body: string;
}

describe('signing key rotation under load', () => {
  const dev = devProviderGateway();
  const results: Outcome[] = [];
  let firstKid = '';
  let secondKid = '';
  let oldTokens: string[] = [];
  let newTokens: string[] = [];

  test('rotation with the old key kept: the new kid is picked up on first sight and no request fails', async () => {
    oldTokens = await Promise.all(Array.from({ length: 5 }, (_, i) => dev.idp.tokenFor({ sub: PEOPLE[i % PEOPLE.length] as string })));
    firstKid = kidOf(oldTokens[0] as string);
    let latest = await dev.idp.tokenFor({ sub: 'alice' });
    let rotated = false;
    let running = true;
    const minter = (async () => {
      while (running) latest = await dev.idp.tokenFor({ sub: 'alice' });
    })();
    // Half the clients send the newest token, the other half keep reusing tokens minted before the rotation.
    const clients = Array.from({ length: CLIENTS }, async (_, n) => {
      for (let i = 0; running; i++) {
        const token = n % 2 === 0 ? latest : (oldTokens[i % oldTokens.length] as string);
        const afterRotation = rotated;
        const res = await send(`${dev.g.gw.url}/api/orders`, { headers: bearer(token) });
        results.push({ token, status: res.status, kid: kidOf(token), afterRotation, body: res.body });
      }
    });

    await eventually(() => (results.length >= 800 ? true : undefined), 'traffic before the rotation', 10_000);
    const fetchesBefore = dev.idp.jwksRequests();
    secondKid = await dev.idp.rotateKeys({ keepOld: true });
    rotated = true;
    const newKidOk = () => results.filter((r) => r.kid === secondKid && r.status === 200).length;
    await eventually(() => (newKidOk() >= 800 ? true : undefined), 'traffic with the new kid', 15_000);
    running = false;
    await Promise.all([minter, ...clients]);

    assert.notEqual(secondKid, firstKid);
    assert.deepEqual(
      results.filter((r) => r.status !== 200),
      [],
      'no request failed during the rotation',
    );
    assert.ok(results.some((r) => r.afterRotation && r.kid === firstKid), 'old-key tokens kept flowing after the rotation');
    assert.equal(dev.idp.jwksRequests() - fetchesBefore, 1, '20 clients meeting the new kid at once cost one key set fetch');
    newTokens = results.filter((r) => r.kid === secondKid).map((r) => r.token);
  });

  test('rotation dropping the old keys: after the refresh their tokens are refused, cached ones too', async () => {
    const cachedOld = oldTokens[0] as string;
    const cachedSecond = newTokens.at(-1) as string;
    assert.equal(kidOf(cachedSecond), secondKid);
    const hits = 'cortex_token_cache_lookups_total{result="hit"}';
    const hitsBefore = await metric(dev.g.gw, hits);
    for (const token of [cachedOld, cachedSecond]) {
      assert.equal((await send(`${dev.g.gw.url}/api/orders`, { headers: bearer(token) })).status, 200);
    }
    assert.equal(await metric(dev.g.gw, hits), hitsBefore + 2, 'both tokens were answered from the cache');
    assert.ok((await metric(dev.g.gw, 'cortex_token_cache_entries')) > 2, 'the load left many tokens cached');

    const thirdKid = await dev.idp.rotateKeys();
    const newest = await dev.idp.tokenFor({ sub: 'alice' });
    assert.equal(kidOf(newest), thirdKid);
    // The unknown-kid refetch is rate limited (200 ms in providerYaml), so the first try may be refused.
    await eventually(async () => ((await send(`${dev.g.gw.url}/api/orders`, { headers: bearer(newest) })).status === 200 ? true : undefined), 'the newest kid accepted');

    for (const token of [cachedOld, cachedSecond]) {
      const res = await send(`${dev.g.gw.url}/api/orders`, { headers: bearer(token) });
      const id = assertProblem(res, 401, 'authn.unknown_key', kidOf(token));
      await auditFor(dev.g.gw, id, 'authn.unknown_key');
    }
    assert.equal(await metric(dev.g.gw, 'cortex_token_cache_entries'), 1, 'only the newest-key token is still cached');
    const status = (await (await fetch(`${dev.g.gw.adminUrl}/readyz`)).json()) as { ready: boolean };
    assert.equal(status.ready, true);
  });
});

describe('a reload that replaces the key source', () => {
  const dev = devProviderGateway();

  test('a cached token whose key the new key set lacks is refused', async () => {
    const token = await dev.idp.tokenFor({ sub: 'alice' });
    assert.equal((await send(`${dev.g.gw.url}/api/orders`, { headers: bearer(token) })).status, 200);
    const newKid = await dev.idp.rotateKeys();

    // New key settings: the reload builds a new key source, whose first key set lacks the old kid.
    const reloaded = dev.g.gw.rewrite(
      [
        'identity:',
        '  providers:',
        '    dev:',
        `      issuer: ${dev.idp.issuer}`,
        `      audiences: [${AUDIENCE}]`,
        '      keys: { refreshIntervalMs: 120000, unknownKeyRefetchMinIntervalMs: 200, timeoutMs: 2000 }',
        `upstreams:\n  up: { url: "${dev.g.upstream.url}" }`,
        'routes:',
        '  api: { match: { prefix: /api/ }, upstream: up }',
      ].join('\n'),
    );
    assert.equal(reloaded.ok, true, JSON.stringify(reloaded));
    // The old and the new key source both answer for 'dev' until the old snapshot is released; the new one is listed last.
    await eventually(async () => {
      const res = await fetch(`${dev.g.gw.adminUrl}/api/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const status = (await res.json()) as { identityProviders: Record<string, { kids: string[] }> };
      return status.identityProviders.dev?.kids.join() === newKid ? true : undefined;
    }, 'the new key source holding only the new key');

    const res = await send(`${dev.g.gw.url}/api/orders`, { headers: bearer(token) });
    const id = assertProblem(res, 401, 'authn.unknown_key');
    await auditFor(dev.g.gw, id, 'authn.unknown_key');
  });
});
