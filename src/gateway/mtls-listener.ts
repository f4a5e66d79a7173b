// The mTLS listener: a separate HTTPS (HTTP/1.1) listener that requires a client certificate
// chaining to gateway.mtls.clientCas. A client without one, or with one the CAs do not vouch for
// (another CA, expired), fails the TLS handshake and never reaches the handler. Requests on it go
// through the gateway's own handler; routes that accept mtls see the certificate's service identity.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { SecureContext, TLSSocket, TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { Config, MtlsConfig } from '../config/schema.ts';
import type { Authenticator } from '../identity/authenticator.ts';
import { createGatewayServer } from './listener.ts';
import type { RejectedConnection } from './listener.ts';
import { createMtlsAuthenticator } from './mtls-identity.ts';
import { CIPHERS } from './tls.ts';
import type { TlsServerOptions } from './tls.ts';

export interface MtlsListenerDeps {
  /** The gateway's request handler (protocol https), shared with the main listener. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  limits: Config['gateway']['limits'];
  log: Logger;
  /** The request id header for replies the listener makes itself (malformed requests); x-request-id when unset. */
  requestIdHeader?: () => string;
  /** Requests refused before the handler (bad framing, over limits); logged when unset. */
  onRejected?: (rejection: RejectedConnection) => void;
  /** How long close() lets requests in flight finish before it cuts their connections (10 s when unset). */
  graceMs?: number;
}

export interface MtlsListener {
  authenticator: Authenticator;
  listen(): Promise<AddressInfo>;
  /** Stops accepting; open connections are closed. */
  close(): Promise<void>;
}

/** Thrown at creation when a certificate file cannot be used: the gateway does not start. */
export class MtlsFileError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'MtlsFileError';
    this.path = path;
  }
}

function readPem(field: string, file: string): Buffer {
  try {
    return readFileSync(resolve(file));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new MtlsFileError(`gateway.mtls.${field}`, `"${file}" ${code === 'ENOENT' ? 'does not exist' : 'is not readable'}`);
  }
}

/** The listener's TLS: same versions and suites as the main listener, plus client verification. */
function tlsOptions(cfg: MtlsConfig): TlsServerOptions & TlsOptions {
  const cert = readPem('cert', cfg.cert);
  const key = readPem('key', cfg.key);
  const ca = cfg.clientCas.map((file, i) => readPem(`clientCas.${i}`, file));
  const settings = { minVersion: 'TLSv1.2', ciphers: CIPHERS, honorCipherOrder: true } as const;
  let context: SecureContext;
  try {
    context = createSecureContext({ ...settings, cert, key, ca });
  } catch (err) {
    throw new MtlsFileError('gateway.mtls', `"${cfg.cert}", "${cfg.key}" and clientCas are not a usable certificate, matching key and CA certificates: ${(err as Error).message}`);
  }
  return {
    ...settings,
    cert,
    key,
    ca,
    requestCert: true,
    rejectUnauthorized: true,
    // A client that sends SNI gets this context: it must carry the client CAs too, or the client
    // certificate would be checked against Node's default roots instead.
    SNICallback: (_servername, cb) => cb(null, context),
  };
}

export function createMtlsListener(cfg: MtlsConfig, deps: MtlsListenerDeps): MtlsListener {
  const authenticator = createMtlsAuthenticator(cfg);
  const server: Server = createGatewayServer({
    handler: deps.handler,
    limits: deps.limits,
    tls: tlsOptions(cfg),
    requestIdHeader: deps.requestIdHeader ?? (() => 'x-request-id'),
    onRejected: deps.onRejected ?? ((r) => deps.log.info({ id: r.id, code: r.code, peer: r.peer }, 'mtls: request refused before the handler: ' + r.detail)),
  });
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    // The certificate must stay the one verified at the handshake (its identity is cached).
    socket.disableRenegotiation();
    authenticator.accept(socket);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    deps.log.debug({ peer: socket.remoteAddress, code: err.code }, 'mtls: handshake refused');
  });

  let address: AddressInfo | undefined;
  let closing: Promise<void> | undefined;
  return {
    authenticator,
    async listen() {
      await new Promise<void>((done, fail) => {
        server.once('error', fail);
        server.listen(cfg.listen.port, cfg.listen.host, () => {
          server.off('error', fail);
          done();
        });
      });
      address = server.address() as AddressInfo;
      deps.log.info({ address: address.address, port: address.port }, 'mTLS listener listening');
      return address;
    },
    close() {
      closing ??= new Promise<void>((done) => {
        if (!server.listening) return done();
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, deps.graceMs ?? 10_000);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          done();
        });
        server.closeIdleConnections();
        // A connection with a reply in progress ends once that reply is sent.
        for (const s of sockets) {
          const res = (s as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
          if (!res || res.writableFinished) continue;
          if (!res.headersSent) res.setHeader('connection', 'close');
          else res.once('finish', () => s.end());
        }
      });
      return closing;
    },
  };
}
