// Rotation under load: 20 loops send requests continuously (users, a service, anonymous callers)
// while the signing key ring rotates three times on its schedule, driven by the gateway's injected
// clock: each next key is published publishAheadMs before it signs, then signs. The upstream
// verifies every assertion with the kit (@cortex-gateway/verify, short JWKS cache and cooldown):
// zero failures. Then a retired key leaves the JWKS and an assertion it signed is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtectedHeader } from 'jose';
import { createVerifier } from '../../../packages/verify/src/index.ts';
import type { Verifier } from '../../../packages/verify/src/index.ts';
import type { TickingKeyRing } from '../../../src/credentials/key-ring.ts';
import { send } from '../../helpers/gateway-checks.ts';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { bearer, providerYaml, waitIdentityReady } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';

const ROTATE_EVERY_MS = 60_000;
const PUBLISH_AHEAD_MS = 10_000;
const LOOPS = 20;

let idp: TestIdp;
let upstream: TestUpstream;
let gw: TestGateway;
let verifier: Verifier;
/** The gateway's clock runs this far ahead of the real one; it only moves forward. */
let offset = 0;
const failures: string[] = [];
const kids = new Set<string>();
let verifiedCount = 0;
let firstToken: string | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  idp = await startTestIdp();
  upstream = await startUpstream((req, res) => {
    void verifier.fromHeaders(req.headers).then((result) => {
      if (result.ok) {
        verifiedCount++;
        const token = req.headers['cortex-assertion'] as string;
        firstToken ??= token;
        kids.add(decodeProtectedHeader(token).kid as string);
      } else failures.push(`${result.code}: ${result.message}`);
      res.writeHead(result.ok ? 200 : 401).end();
    });
  });
  gw = await startTestGateway(
    [
      'credentials:',
      `  signingKeys: { rotateEveryMs: ${ROTATE_EVERY_MS}, publishAheadMs: ${PUBLISH_AHEAD_MS} }`,
      '  assertion: { lifetimeSeconds: 10 }',
      'identity:',
      '  providers:',
      providerYaml('dev', idp, ['roles: { claim: groups, map: { admins: [admin], customers: [customer], support: [support] } }', 'services: { reporting: { roles: [reporting] } }']),
      'upstreams:',
      `  app: { url: "${upstream.url}" }`,
      'routes:',
      '  public: { match: { prefix: /public/ }, upstream: app, auth: none }',
      '  api: { match: { prefix: /api/ }, upstream: app }',
    ].join('\n'),
    { now: () => Date.now() + offset },
  );
  await waitIdentityReady(gw);
  // The gateway's clock runs up to a few minutes ahead of this process's: the kit allows for it.
  verifier = createVerifier({ issuer: gw.url, audience: 'app', clockToleranceSeconds: 900, fetch: { cacheMaxAgeMs: 100, cooldownMs: 50 } });
});

after(async () => {
  await gw?.close();
  await upstream?.close();
  await idp?.close();
});

function ring(): TickingKeyRing {
  const r = gw.runtime.gateway.credentials.ring;
  assert.ok(r, 'the ring is open');
  return r;
}

/** Moves the gateway's clock to `at` (its own time) and lets the ring apply what is due. */
async function clockTo(at: number): Promise<void> {
  offset = Math.max(offset, at - Date.now());
  await ring().tick();
}

test('three scheduled rotations while 20 loops send requests: every assertion verifies', async () => {
  const headers = [
    bearer(await idp.tokenFor({ sub: 'alice' })),
    bearer(await idp.tokenFor({ sub: 'bob' })),
    bearer(await idp.tokenFor({ sub: 'carol' })),
    bearer(await idp.serviceToken()),
    undefined,
  ];
  let stop = false;
  let sent = 0;
  const statuses = new Map<number, number>();
  const loops = Array.from({ length: LOOPS }, async (_, i) => {
    for (let n = 0; !stop; n++) {
      const h = headers[(i + n) % headers.length];
      const res = await send(`${gw.url}${h === undefined ? '/public' : '/api'}/loop/${i}`, h === undefined ? {} : { headers: h });
      sent++;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  });
  const signers: string[] = [ring().signer().kid];
  try {
    await sleep(300);
    for (let rotation = 0; rotation < 3; rotation++) {
      const active = ring().list().find((k) => k.state === 'active');
      assert.ok(active);
      await clockTo(active.activatesAt + ROTATE_EVERY_MS - PUBLISH_AHEAD_MS + 1);
      const next = ring().list().find((k) => k.state === 'next');
      assert.ok(next, `rotation ${rotation + 1}: the next key is published ahead`);
      assert.ok(ring().jwks().keys.some((k) => k.kid === next.kid));
      await sleep(400); // traffic while the next key is published but not signing
      await clockTo(next.activatesAt + 1);
      assert.equal(ring().signer().kid, next.kid, `rotation ${rotation + 1}: the next key signs`);
      signers.push(next.kid);
      await sleep(600);
    }
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  assert.deepEqual(failures, [], 'the kit refused no assertion');
  assert.deepEqual([...statuses.keys()], [200], `every request answered 200: ${JSON.stringify([...statuses])}`);
  assert.equal(verifiedCount, sent);
  assert.ok(sent > 100, `requests flowed (${sent})`);
  for (const kid of signers) assert.ok(kids.has(kid), `assertions signed by ${kid} reached the upstream`);
});

test("a retired key's assertion is refused once the key has left the JWKS", async () => {
  assert.ok(firstToken);
  const kid = decodeProtectedHeader(firstToken).kid as string;
  const key = ring().list().find((k) => k.kid === kid);
  assert.equal(key?.state, 'retired');
  if (key?.published) {
    // Published until retiresAt + the longest token lifetime + clock skew allowance (60 s).
    await clockTo((key.retiresAt as number) + 10_000 + 60_000 + 1);
  }
  assert.ok(!ring().jwks().keys.some((k) => k.kid === kid), 'the retired key left the JWKS');
  assert.ok(ring().publicKey(kid), 'its public half is still known (audit checkpoints)');
  await sleep(150); // past the kit's JWKS cache age
  const result = await verifier.verify(firstToken);
  assert.equal(result.ok, false);
  assert.equal(result.ok ? undefined : result.code, 'assertion.unknown_key');
});
