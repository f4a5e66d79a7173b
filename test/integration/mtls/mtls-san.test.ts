// The mTLS listener naming services by SAN (a SPIFFE URI, a DNS name), beside bearer routes: a
// route that does not accept mtls is decided by its own auth even on this listener. Also the SAN
// text parser, serial normalization and the startup error for an unreadable certificate file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeSerial, parseSubjectAltName } from '../../../src/gateway/mtls-identity.ts';
import { createTestCa } from '../../helpers/certs.ts';
import type { ClientCertFiles, LeafFiles, TestCa } from '../../helpers/certs.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { assertProblem, auditFor, header } from '../../helpers/gateway-checks.ts';
import { bearer, providerYaml, waitIdentityReady } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { mtlsAddress, mtlsRequest, SERVER_NAME, startMtlsGateway } from './mtls-client.ts';
import type { ClientCert } from './mtls-client.ts';

const BILLING_ID = 'spiffe://cortex.test/ns/prod/sa/billing';

let serverCa: TestCa;
let clientCa: TestCa;
let serverCert: LeafFiles;
let idp: TestIdp;
let upstream: TestUpstream;
const certs: Record<string, ClientCertFiles> = {};

before(async () => {
  serverCa = createTestCa({ name: 'Cortex mTLS Server CA' });
  clientCa = createTestCa({ name: 'Cortex Mesh CA' });
  serverCert = serverCa.issue('mtls-server', [SERVER_NAME]);
  // The first URI SAN is not mapped; the second is: the first mapped one names the service.
  certs.spiffe = clientCa.issueClient('spiffe', { cn: 'not-used', dns: ['billing.svc.cluster.local'], uri: ['spiffe://cortex.test/ns/dev/sa/other', BILLING_ID] });
  certs.cnOnly = clientCa.issueClient('cn-only', { cn: BILLING_ID, dns: ['billing.svc.cluster.local'] });
  certs.dns = clientCa.issueClient('dns', { cn: 'not-used', dns: ['unmapped.example', 'billing.svc.cluster.local'] });
  certs.uriOnly = clientCa.issueClient('uri-only', { cn: 'billing.svc.cluster.local', uri: [BILLING_ID] });
  idp = await startTestIdp();
  upstream = await startUpstream();
});
after(async () => {
  await upstream.close();
  await idp.close();
  serverCa.close();
  clientCa.close();
});

const ROUTES = () =>
  [
    'identity:',
    '  providers:',
    providerYaml('dev', idp),
    `upstreams:\n  up: { url: "${upstream.url}" }`,
    'routes:',
    '  svc: { match: { prefix: /svc/ }, upstream: up, auth: mtls }',
    '  api: { match: { prefix: /api/ }, upstream: up, auth: bearer }',
    '  both: { match: { prefix: /both/ }, upstream: up, auth: [bearer, mtls] }',
  ].join('\n');

async function whoFor(gw: TestGateway, reply: { status: number; body: string; headers: Record<string, string | string[] | undefined> }) {
  assert.equal(reply.status, 200, reply.body);
  return (await auditFor(gw, header(reply, 'x-request-id') ?? '', 'ok')).who;
}

describe('match: san-uri (SPIFFE IDs), beside bearer routes', () => {
  let gw: TestGateway;
  const get = (path: string, client: ClientCert, headers?: Record<string, string>) => mtlsRequest(mtlsAddress(gw), path, { serverCa: serverCa.ca, client, headers });
  before(async () => {
    gw = await startMtlsGateway({ server: serverCert, clientCas: [clientCa], match: 'san-uri', services: { [BILLING_ID]: ['billing', ['payments.write']] } }, ROUTES());
    await waitIdentityReady(gw);
  });
  after(() => gw.close());

  test('the first mapped URI SAN names the service', async () => {
    const who = await whoFor(gw, await get('/svc/charge', certs.spiffe as ClientCert));
    assert.equal(who?.subject, 'billing');
    assert.equal(who?.kind, 'service');
    assert.equal(who?.method, 'mtls');
    assert.deepEqual(who?.roles, ['payments.write']);
  });

  test('a certificate whose CN (not a URI SAN) holds the SPIFFE ID is unknown', async () => {
    const before = upstream.requests.length;
    assertProblem(await get('/svc/charge', certs.cnOnly as ClientCert), 401, 'authn.certificate_unknown');
    assert.equal(upstream.requests.length, before);
  });

  test('a bearer-only route on the mTLS listener still needs a bearer token', async () => {
    const before = upstream.requests.length;
    const id = assertProblem(await get('/api/orders', certs.spiffe as ClientCert), 401, 'authn.missing');
    assert.equal(upstream.requests.length, before);
    await auditFor(gw, id, 'authn.missing');
    const token = await idp.tokenFor({ sub: 'alice' });
    const who = await whoFor(gw, await get('/api/orders', certs.spiffe as ClientCert, bearer(token)));
    assert.equal(who?.subject, 'alice');
    assert.equal(who?.method, 'jwt');
  });

  test('a route taking [bearer, mtls] takes the certificate on the mTLS listener', async () => {
    const who = await whoFor(gw, await get('/both/x', certs.spiffe as ClientCert));
    assert.equal(who?.subject, 'billing');
    assert.equal(who?.method, 'mtls');
  });
});

describe('match: san-dns', () => {
  let gw: TestGateway;
  const get = (path: string, client: ClientCert) => mtlsRequest(mtlsAddress(gw), path, { serverCa: serverCa.ca, client });
  before(async () => {
    gw = await startMtlsGateway(
      { server: serverCert, clientCas: [clientCa], match: 'san-dns', services: { 'billing.svc.cluster.local': ['billing', ['payments.read']] } },
      ROUTES(),
    );
  });
  after(() => gw.close());

  test('a mapped DNS SAN (after an unmapped one) names the service', async () => {
    const who = await whoFor(gw, await get('/svc/x', certs.dns as ClientCert));
    assert.equal(who?.subject, 'billing');
    assert.deepEqual(who?.roles, ['payments.read']);
  });

  test('the CN is not a DNS SAN: a certificate with only a URI SAN is unknown', async () => {
    assertProblem(await get('/svc/x', certs.uriOnly as ClientCert), 401, 'authn.certificate_unknown');
  });
});

describe('certificate details', () => {
  test("Node's subjectAltName text is split only between entries, never inside a quoted value", () => {
    assert.deepEqual(parseSubjectAltName('DNS:a.test, URI:spiffe://x/y'), [
      { type: 'DNS', value: 'a.test' },
      { type: 'URI', value: 'spiffe://x/y' },
    ]);
    assert.deepEqual(parseSubjectAltName('DNS:"evil, URI:spiffe://x/admin", IP Address:127.0.0.1'), [
      { type: 'DNS', value: 'evil, URI:spiffe://x/admin' },
      { type: 'IP Address', value: '127.0.0.1' },
    ]);
    assert.deepEqual(parseSubjectAltName(undefined), []);
    for (const bad of ['DNS:"unterminated', 'DNS:a,URI:b"', 'nocolon', 'DNS:a, ', ', DNS:a']) {
      assert.equal(parseSubjectAltName(bad), undefined, bad);
    }
  });

  test('serials compare as uppercase hex without colons or leading zeros', () => {
    assert.equal(normalizeSerial('00:ff'), 'FF');
    assert.equal(normalizeSerial('0A1B'), 'A1B');
    assert.equal(normalizeSerial('00'), '0');
  });

  test('a certificate file that does not exist stops the gateway from starting, naming the field', async () => {
    await assert.rejects(
      startMtlsGateway({ server: { cert: '/nonexistent/mtls.pem', key: serverCert.key }, clientCas: [clientCa], services: {} }, 'routes: {}'),
      /gateway\.mtls\.cert: "\/nonexistent\/mtls\.pem" does not exist/,
    );
  });
});
