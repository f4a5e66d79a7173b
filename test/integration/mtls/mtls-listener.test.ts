// The mTLS listener with certificates named by subject CN: a mapped certificate becomes its
// service identity; no certificate, another CA's or an expired one fails the handshake; a revoked
// serial or an unmapped name is refused with 401; the main listener refuses the mtls-only route.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpsRequest } from 'node:https';
import { createTestCa } from '../../helpers/certs.ts';
import type { ClientCertFiles, TestCa } from '../../helpers/certs.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { assertProblem, auditFor, header, send } from '../../helpers/gateway-checks.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { handshakeTls12, isHandshakeRefusal, mtlsAddress, mtlsRequest, SERVER_NAME, startMtlsGateway } from './mtls-client.ts';
import type { ClientCert } from './mtls-client.ts';

let serverCa: TestCa;
let clientCa: TestCa;
let otherCa: TestCa;
let upstream: TestUpstream;
let gw: TestGateway;
const certs: Record<string, ClientCertFiles> = {};

before(async () => {
  serverCa = createTestCa({ name: 'Cortex mTLS Server CA' });
  clientCa = createTestCa({ name: 'Cortex Services CA' });
  otherCa = createTestCa({ name: 'Someone Else CA' });
  certs.billing = clientCa.issueClient('billing', { cn: 'billing.internal', serial: '0a1b' });
  certs.revoked = clientCa.issueClient('revoked', { cn: 'billing.internal', serial: '00ff' });
  certs.stranger = clientCa.issueClient('stranger', { cn: 'stranger.internal' });
  certs.expired = clientCa.issueClient('expired', { cn: 'billing.internal', days: -1 });
  certs.foreign = otherCa.issueClient('foreign', { cn: 'billing.internal' });
  upstream = await startUpstream();
  gw = await startMtlsGateway(
    {
      server: serverCa.issue('mtls-server', [SERVER_NAME]),
      clientCas: [clientCa],
      // Written with a colon and a leading zero: serials are compared normalized.
      revokedSerials: ['00:FF'],
      services: { 'billing.internal': ['billing', ['payments.write', 'payments.read']] },
    },
    [
      `upstreams:\n  up: { url: "${upstream.url}" }`,
      'routes:',
      '  svc: { match: { prefix: /svc/ }, upstream: up, auth: mtls }',
      '  open: { match: { prefix: /open/ }, upstream: up, auth: none }',
    ].join('\n'),
  );
});
after(async () => {
  await gw.close();
  await upstream.close();
  for (const ca of [serverCa, clientCa, otherCa]) ca.close();
});

const get = (path: string, client?: ClientCert) => mtlsRequest(mtlsAddress(gw), path, { serverCa: serverCa.ca, client });

async function refusedAtHandshake(client: ClientCert | undefined, label: string): Promise<void> {
  const before = upstream.requests.length;
  const auditBefore = (await gw.audit()).length;
  await assert.rejects(get('/svc/x', client), (err: unknown) => {
    assert.ok(isHandshakeRefusal(err), `${label}: a TLS refusal, got ${String((err as Error).message)}`);
    return true;
  });
  const tls12 = await handshakeTls12(mtlsAddress(gw), { serverCa: serverCa.ca, client });
  assert.equal(tls12.completed, false, `${label}: the TLS 1.2 handshake does not complete`);
  assert.equal(upstream.requests.length, before, `${label}: nothing reached the upstream`);
  assert.equal((await gw.audit()).length, auditBefore, `${label}: nothing reached the handler (no audit event)`);
}

describe('mTLS listener, subject CN', () => {
  test('the same certificate completes the TLS 1.2 handshake (the refusals below are about the certificate)', async () => {
    const ok = await handshakeTls12(mtlsAddress(gw), { serverCa: serverCa.ca, client: certs.billing });
    assert.deepEqual(ok, { completed: true, code: undefined });
  });

  test('a mapped certificate is the service, with the roles from gateway.mtls.services', async () => {
    const before = upstream.requests.length;
    const reply = await get('/svc/orders', certs.billing);
    assert.equal(reply.status, 200, reply.body);
    assert.equal(upstream.requests.length, before + 1);
    assert.equal(upstream.requests.at(-1)?.url, '/svc/orders');
    const event = await auditFor(gw, header(reply, 'x-request-id') ?? '', 'ok');
    assert.equal(event.who?.kind, 'service');
    assert.equal(event.who?.method, 'mtls');
    assert.equal(event.who?.provider, 'mtls');
    assert.equal(event.who?.subject, 'billing');
    assert.equal(event.who?.issuer, 'CN=Cortex Services CA');
    assert.deepEqual(event.who?.roles, ['payments.read', 'payments.write']);
    assert.equal(typeof event.who?.fingerprint, 'string');
  });

  test('keep-alive requests on one connection keep the same identity', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const one = (): Promise<{ id: string; reused: boolean }> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port: mtlsAddress(gw).port, path: '/svc/ka', servername: SERVER_NAME, ca: serverCa.ca, cert: certs.billing?.certPem, key: certs.billing?.keyPem, agent },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ id: String(res.headers['x-request-id']), reused: req.reusedSocket }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    try {
      const first = await one();
      const second = await one();
      assert.equal(second.reused, true, 'the second request used the same connection');
      const a = await auditFor(gw, first.id, 'ok');
      const b = await auditFor(gw, second.id, 'ok');
      assert.equal(b.who?.subject, 'billing');
      assert.equal(b.who?.fingerprint, a.who?.fingerprint);
    } finally {
      agent.destroy();
    }
  });

  test('no client certificate: the handshake fails and nothing reaches the handler', async () => {
    await refusedAtHandshake(undefined, 'no certificate');
  });

  test("another CA's certificate (same CN): the handshake fails", async () => {
    await refusedAtHandshake(certs.foreign, 'other CA');
  });

  test('an expired certificate from the right CA: the handshake fails', async () => {
    await refusedAtHandshake(certs.expired, 'expired');
  });

  test('a revoked serial is refused 401 authn.certificate_revoked, nothing upstream', async () => {
    const before = upstream.requests.length;
    const reply = await get('/svc/orders', certs.revoked);
    const id = assertProblem(reply, 401, 'authn.certificate_revoked');
    assert.equal(upstream.requests.length, before);
    const event = await auditFor(gw, id, 'authn.certificate_revoked');
    assert.equal(event.who, null);
  });

  test('a valid certificate whose name is not mapped is refused 401 authn.certificate_unknown', async () => {
    const before = upstream.requests.length;
    const reply = await get('/svc/orders', certs.stranger);
    const id = assertProblem(reply, 401, 'authn.certificate_unknown');
    assert.equal(upstream.requests.length, before);
    await auditFor(gw, id, 'authn.certificate_unknown');
  });

  test('a public route on the mTLS listener still works with any accepted certificate', async () => {
    const reply = await get('/open/ping', certs.stranger);
    assert.equal(reply.status, 200, reply.body);
    const event = await auditFor(gw, header(reply, 'x-request-id') ?? '', 'ok');
    assert.equal(event.who?.kind, 'anonymous');
  });

  test('the main listener refuses the mtls-only route: 401 authn.missing', async () => {
    const before = upstream.requests.length;
    const reply = await send(`${gw.url}/svc/orders`);
    const id = assertProblem(reply, 401, 'authn.missing');
    assert.equal(upstream.requests.length, before);
    await auditFor(gw, id, 'authn.missing');
  });
});
