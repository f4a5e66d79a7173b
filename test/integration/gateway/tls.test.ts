// TLS on the gateway listener: HTTPS to a plain-HTTP upstream, the forwarded protocol, certificates
// chosen by SNI, old protocol versions and plain HTTP refused, and certificate files replaced on
// disk while a connection made before keeps working.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { createTestCa } from '../../helpers/certs.ts';
import type { LeafFiles, TestCa } from '../../helpers/certs.ts';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { eventually } from '../../helpers/gateway-checks.ts';

let ca: TestCa;
let upstream: TestUpstream;
let defaultCert: LeafFiles;
let aCert: LeafFiles;
let wildCert: LeafFiles;

before(async () => {
  ca = createTestCa();
  defaultCert = ca.issue('default', ['default.test']);
  aCert = ca.issue('a', ['a.test']);
  wildCert = ca.issue('wild', ['*.wild.test']);
  upstream = await startUpstream();
});
after(async () => {
  await upstream.close();
  ca.close();
});

const ROUTES = () => `upstreams:\n  u: { url: "${upstream.url}" }\nroutes:\n  all: { match: { prefix: / }, upstream: u, auth: none }\n`;
const tlsBlock = (certs: { files: LeafFiles; names?: string[] }[], minVersion = 'TLSv1.2') =>
  `tls: { minVersion: ${minVersion}, certificates: [${certs
    .map((c) => `{ cert: ${JSON.stringify(c.files.cert)}, key: ${JSON.stringify(c.files.key)}${c.names ? `, serverNames: [${c.names.map((n) => `"${n}"`).join(', ')}]` : ''} }`)
    .join(', ')}] }`;

interface HttpsReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  socket: TLSSocket;
  reused: boolean;
}

function get(port: number, path: string, opts: { servername?: string; agent?: HttpsAgent } = {}): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, ca: ca.ca, servername: opts.servername ?? 'a.test', headers: { host: opts.servername ?? 'a.test' }, agent: opts.agent ?? false },
      (res) => {
        const socket = res.socket as TLSSocket; // a kept-alive socket goes back to the agent at 'end'
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), socket, reused: req.reusedSocket }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The certificate the gateway presents for `servername` (none: no SNI is sent). */
function peerCertificate(port: number, servername?: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: ca.ca, servername, checkServerIdentity: () => undefined }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on('error', reject);
  });
}

describe('TLS listener', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway(ROUTES(), {
      gateway: tlsBlock([{ files: defaultCert, names: ['default.test'] }, { files: aCert, names: ['a.test'] }, { files: wildCert, names: ['*.wild.test'] }]),
    });
  });
  after(() => gw.close());

  test('an HTTPS request reaches a plain-HTTP upstream, which is told the client used https', async () => {
    upstream.requests.length = 0;
    const res = await get(gw.port, '/orders/1');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['x-upstream'], 'echo');
    assert.equal(res.socket.getPeerCertificate().subject.CN, 'a.test');
    const seen = upstream.requests.at(-1);
    assert.equal(seen?.url, '/orders/1');
    assert.equal(seen?.headers['x-forwarded-proto'], 'https');
    assert.match(String(seen?.headers.forwarded), /;proto=https(;|$)/);
  });

  test('SNI picks the certificate: exact names, one-level wildcards, and the first for the rest', async () => {
    assert.equal((await peerCertificate(gw.port, 'a.test')).subject.CN, 'a.test');
    assert.equal((await peerCertificate(gw.port, 'default.test')).subject.CN, 'default.test');
    const wild = await peerCertificate(gw.port, 'api.wild.test');
    assert.equal(wild.subject.CN, '*.wild.test');
    assert.equal(wild.subjectaltname, 'DNS:*.wild.test');
    assert.equal((await peerCertificate(gw.port, 'A.TEST')).subject.CN, 'a.test');
    assert.equal((await peerCertificate(gw.port, 'deep.api.wild.test')).subject.CN, 'default.test', 'a wildcard covers one level');
    assert.equal((await peerCertificate(gw.port, 'unknown.test')).subject.CN, 'default.test');
    assert.equal((await peerCertificate(gw.port)).subject.CN, 'default.test', 'no SNI');
  });

  test('a TLS 1.1 client is refused', async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const socket = tlsConnect(
          // SECLEVEL=0 lets this client offer TLS 1.1 at all, so the refusal is the gateway's.
          { host: '127.0.0.1', port: gw.port, ca: ca.ca, servername: 'a.test', minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' },
          () => {
            socket.end();
            resolve(socket.getProtocol());
          },
        );
        socket.on('error', reject);
      }),
      /protocol|version/i,
    );
  });

  test('the TLS 1.2 suites are ECDHE with AEAD ciphers only', async () => {
    const offer = (ciphers: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: gw.port, ca: ca.ca, servername: 'a.test', maxVersion: 'TLSv1.2', ciphers }, () => {
          const name = socket.getCipher().name;
          socket.end();
          resolve(name);
        });
        socket.on('error', reject);
      });
    assert.equal(await offer('ECDHE-ECDSA-AES128-GCM-SHA256'), 'ECDHE-ECDSA-AES128-GCM-SHA256');
    await assert.rejects(offer('ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384'), /handshake|cipher/i);
  });

  test('a plain HTTP request to the TLS port gets no HTTP response', async () => {
    const text = await new Promise<string>((resolve) => {
      const socket = netConnect(gw.port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: a.test\r\n\r\n'));
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.setTimeout(3_000, () => socket.destroy());
    });
    assert.ok(!text.startsWith('HTTP/'), `got: ${JSON.stringify(text.slice(0, 40))}`);
  });
});

describe('TLS certificate rotation', () => {
  test('new handshakes get the replaced certificate; a kept-alive connection keeps working; a broken pair is ignored', async () => {
    // The gateway's certificate files are copies, so they can be replaced.
    const live = ca.issue('live', ['a.test']);
    const gw = await startTestGateway(ROUTES(), { gateway: tlsBlock([{ files: live, names: ['a.test'] }]) });
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(gw.port, '/one', { agent });
      assert.equal(first.status, 200);
      const oldFingerprint = first.socket.getPeerCertificate().fingerprint256;

      const next = ca.issue('next', ['a.test']);
      copyFileSync(next.cert, live.cert);
      copyFileSync(next.key, live.key);
      const rotated = await eventually(async () => {
        const fp = (await peerCertificate(gw.port, 'a.test')).fingerprint256;
        return fp !== oldFingerprint ? fp : undefined;
      }, 'the new certificate on a new connection', 5_000);

      const second = await get(gw.port, '/two', { agent });
      assert.equal(second.status, 200);
      assert.ok(second.reused, 'the kept-alive connection was reused');
      assert.equal(second.socket, first.socket);
      assert.equal(second.socket.getPeerCertificate().fingerprint256, oldFingerprint);

      // A key that does not match the certificate: the rotated pair keeps serving.
      copyFileSync(defaultCert.key, live.key);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal((await peerCertificate(gw.port, 'a.test')).fingerprint256, rotated);
      const third = await get(gw.port, '/three');
      assert.equal(third.status, 200);
    } finally {
      agent.destroy();
      await gw.close();
    }
  });
});

describe('TLS config checks', () => {
  test('missing certificate files are reported when the config loads', async () => {
    await assert.rejects(
      startTestGateway(ROUTES(), { gateway: tlsBlock([{ files: { cert: '/nonexistent/cortex.pem', key: aCert.key } }]) }),
      (err: Error) => {
        assert.match(err.message, /gateway\.tls\.certificates\[0\]\.cert: "\/nonexistent\/cortex\.pem" does not exist/);
        return true;
      },
    );
  });

  test('a key that does not match its certificate is reported', async () => {
    await assert.rejects(startTestGateway(ROUTES(), { gateway: tlsBlock([{ files: { cert: aCert.cert, key: defaultCert.key } }]) }), /not a usable PEM certificate and matching key/);
  });
});
