// The mTLS tests' client: one HTTPS request to the gateway's mTLS listener with (or without) a
// client certificate, and a gateway configured with that listener in front of a recording upstream.
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { TestCa, LeafFiles } from '../../helpers/certs.ts';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import type { Reply } from '../../helpers/gateway-checks.ts';

export interface ClientCert {
  certPem: Buffer;
  keyPem: Buffer;
}

/** The name on the listener's server certificate (sent as SNI; the listener binds 127.0.0.1). */
export const SERVER_NAME = 'mtls.localhost';

export function mtlsRequest(
  address: AddressInfo,
  path: string,
  o: { serverCa: Buffer; client?: ClientCert; headers?: Record<string, string>; method?: string },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: address.port,
        path,
        method: o.method ?? 'GET',
        servername: SERVER_NAME,
        ca: o.serverCa,
        cert: o.client?.certPem,
        key: o.client?.keyPem,
        headers: { host: SERVER_NAME, ...o.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * A bare TLS handshake with the listener under TLS 1.2, where the server's verdict on the client
 * certificate comes before the handshake completes (under TLS 1.3 the client finishes first and
 * only then sees the connection closed). Resolves whether it completed, with the client's error code.
 */
export function handshakeTls12(address: AddressInfo, o: { serverCa: Buffer; client?: ClientCert }): Promise<{ completed: boolean; code: string | undefined }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: address.port, servername: SERVER_NAME, ca: o.serverCa, cert: o.client?.certPem, key: o.client?.keyPem, maxVersion: 'TLSv1.2' }, () => {
      socket.end();
      resolve({ completed: true, code: undefined });
    });
    socket.on('error', (err: Error & { code?: string }) => resolve({ completed: false, code: err.code }));
    socket.on('close', () => resolve({ completed: false, code: undefined }));
  });
}

/** The error a refused handshake surfaces as on the client: a TLS alert, or the reset that follows it. */
export function isHandshakeRefusal(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return /^ERR_SSL_/.test(code) || code === 'ECONNRESET' || code === 'EPIPE';
}

export interface MtlsYaml {
  server: LeafFiles;
  clientCas: readonly TestCa[];
  match?: 'subject-cn' | 'san-dns' | 'san-uri';
  revokedSerials?: readonly string[];
  /** Certificate name → [service, roles]. */
  services: Record<string, [string, string[]]>;
}

/** gateway.mtls as one line of YAML (startTestGateway's `gateway` option). */
export function mtlsYaml(m: MtlsYaml): string {
  const services = Object.entries(m.services)
    .map(([name, [service, roles]]) => `${JSON.stringify(name)}: { service: ${JSON.stringify(service)}, roles: ${JSON.stringify(roles)} }`)
    .join(', ');
  return [
    'mtls: { listen: { host: 127.0.0.1, port: 0 }',
    `cert: ${JSON.stringify(m.server.cert)}, key: ${JSON.stringify(m.server.key)}`,
    `clientCas: ${JSON.stringify(m.clientCas.map((ca) => join(ca.dir, 'ca.pem')))}`,
    `revokedSerials: ${JSON.stringify(m.revokedSerials ?? [])}`,
    `match: ${m.match ?? 'subject-cn'}`,
    `services: { ${services} } }`,
  ].join(', ');
}

export function mtlsAddress(gw: TestGateway): AddressInfo {
  const address = gw.runtime.gateway.mtlsAddress;
  if (address === undefined) throw new Error('the gateway has no mTLS listener');
  return address;
}

export async function startMtlsGateway(m: MtlsYaml, body: string): Promise<TestGateway> {
  return startTestGateway(body, { gateway: mtlsYaml(m) });
}
