// A client can never forge, duplicate or delete the identity assertion or the plain cortex-* headers:
// raw requests (bytes no well-behaved client sends) with every spelling of Cortex's headers, and a
// Connection header naming them. The upstream receives exactly one cortex-assertion, Cortex's own,
// and the kit verifies it as the caller that really called.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createVerifier } from '../../../packages/verify/src/index.ts';
import type { Verifier } from '../../../packages/verify/src/index.ts';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { providerYaml, waitIdentityReady } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { rawRequest } from '../../helpers/raw-http.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { RecordedRequest, TestUpstream } from '../../helpers/upstream.ts';

let idp: TestIdp;
let upstream: TestUpstream;
let gw: TestGateway;
let verifier: Verifier;

before(async () => {
  idp = await startTestIdp();
  upstream = await startUpstream();
  gw = await startTestGateway(
    [
      'identity:',
      '  providers:',
      providerYaml('dev', idp, ['roles: { claim: groups, map: { customers: [customer] } }']),
      'upstreams:',
      `  app: { url: "${upstream.url}", caller: { plainHeaders: true } }`,
      'routes:',
      '  public: { match: { prefix: /public/ }, upstream: app, auth: none }',
      '  api: { match: { prefix: /api/ }, upstream: app }',
    ].join('\n'),
  );
  await waitIdentityReady(gw);
  verifier = createVerifier({ issuer: gw.url, audience: 'app' });
});

after(async () => {
  await gw?.close();
  await upstream?.close();
  await idp?.close();
});

const FORGED = [
  'Cortex-Assertion: forged.jwt.value',
  'cortex_assertion: forged.underscore.value',
  'CORTEX-ASSERTION: forged.upper.value',
  'CoRtEx_AsSeRtIoN: forged.mixed.value',
  'cortex-user: admin',
  'Cortex_User: admin',
  'cortex-kind: service',
  'CORTEX-ROLES: admin,support',
  'cortex-acting-for: alice',
  'cortex_acting_for: alice',
  'cortex-provider: evil',
];

function rawGet(path: string, lines: readonly string[]): string {
  return [`GET ${path} HTTP/1.1`, 'Host: localhost', ...lines, 'Connection: close', '', ''].join('\r\n');
}

/** What reached the upstream for one raw request, with the (name, value) pairs of cortex-* headers. */
async function forwarded(bytes: string): Promise<{ seen: RecordedRequest; owned: [string, string][] }> {
  upstream.requests.length = 0;
  const res = await rawRequest(gw.port, bytes);
  assert.equal(res.status, 200, res.raw);
  assert.equal(upstream.requests.length, 1);
  const seen = upstream.requests[0] as RecordedRequest;
  const owned: [string, string][] = [];
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    const name = (seen.rawHeaders[i] as string).toLowerCase();
    if (name.replaceAll('_', '-').startsWith('cortex-')) owned.push([name, seen.rawHeaders[i + 1] as string]);
  }
  return { seen, owned };
}

describe('forged cortex-* headers', () => {
  test('every spelling is dropped: an anonymous caller gets exactly one assertion, signed by Cortex, saying anonymous', async () => {
    const { owned, seen } = await forwarded(rawGet('/public/x', FORGED));
    assert.deepEqual(owned.map(([n]) => n).sort(), ['cortex-assertion', 'cortex-kind', 'cortex-provider', 'cortex-roles', 'cortex-user']);
    assert.ok(!owned.some(([, v]) => v.includes('forged') || v.includes('admin') || v.includes('alice') || v === 'evil'), JSON.stringify(owned));
    const result = await verifier.fromHeaders(seen.headers);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.caller.kind, 'anonymous');
    assert.equal(seen.headers['cortex-user'], 'anonymous');
    assert.equal(seen.headers['cortex-roles'], '');
  });

  test('with a real token, the assertion and plain headers say who really called', async () => {
    const token = await idp.tokenFor({ sub: 'bob' });
    const { owned, seen } = await forwarded(rawGet('/api/x', [`Authorization: Bearer ${token}`, ...FORGED]));
    assert.equal(owned.filter(([n]) => n === 'cortex-assertion').length, 1);
    const result = await verifier.fromHeaders(seen.headers);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.caller.subject, 'bob');
    assert.deepEqual(result.caller.roles, ['customer']);
    assert.equal(seen.headers['cortex-user'], 'bob');
    assert.equal(seen.headers['cortex-roles'], 'customer');
    assert.equal(seen.headers['cortex-acting-for'], undefined);
    assert.equal(seen.headers.authorization, undefined);
  });

  test('a Connection header naming them cannot delete the assertion or the plain headers', async () => {
    const lines = ['Connection: cortex-assertion, cortex-user, cortex_roles', 'Connection: Cortex-Kind'];
    const { owned, seen } = await forwarded(rawGet('/public/y', lines).replace('Connection: close\r\n', ''));
    assert.deepEqual(owned.map(([n]) => n).sort(), ['cortex-assertion', 'cortex-kind', 'cortex-provider', 'cortex-roles', 'cortex-user']);
    const result = await verifier.fromHeaders(seen.headers);
    assert.ok(result.ok, JSON.stringify(result));
  });

  test('a forged assertion alone (no other header) is replaced, never passed beside Cortex\'s', async () => {
    const { owned } = await forwarded(rawGet('/public/z', ['cortex-assertion: a.b.c', 'cortex-assertion: d.e.f']));
    const assertions = owned.filter(([n]) => n === 'cortex-assertion');
    assert.equal(assertions.length, 1);
    assert.ok(!['a.b.c', 'd.e.f'].includes((assertions[0] as [string, string])[1]));
  });
});
