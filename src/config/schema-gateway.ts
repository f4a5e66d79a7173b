// The gateway and admin listener sections of the config schema.
import { z } from 'zod';
import { mtls } from './schema-access.ts';
import { durationMs, headerName, listenOn } from './schema-common.ts';

export const gateway = z
  .strictObject({
    listen: listenOn(8080).default({ host: '127.0.0.1', port: 8080 }),
    trustedProxies: z
      .array(z.string())
      .default([])
      .describe(
        'Peers (IPs or CIDRs) whose X-Forwarded-For/Proto/Host and Forwarded headers are trusted. From any other peer they are replaced.',
      ),
    requestIdHeader: headerName.default('x-request-id').describe('Header that carries the request id, in and out.'),
    trustIncomingRequestId: z
      .boolean()
      .default(true)
      .describe('Accept a well-formed incoming request id (1-128 chars of [A-Za-z0-9._:-]) instead of generating one.'),
    server: z
      .string()
      .optional()
      .describe('Value of the Server header on local replies; omitted when unset.'),
    limits: z
      .strictObject({
        maxHeaderBytes: z
          .number().int().min(1_024).max(1_048_576)
          .default(16_384)
          .describe('Largest request head (request line and headers) in bytes; a larger one is answered 431 request.header_too_large.'),
        maxHeaders: z
          .number().int().min(1).max(10_000)
          .default(100)
          .describe('Most header fields a request may carry; more are answered 431 request.header_too_large (never silently dropped).'),
        maxUrlBytes: z
          .number().int().min(256).max(1_048_576)
          .default(8_192)
          .describe('Longest request target (path and query) in bytes; a longer one is answered 414 request.uri_too_long. A target that alone exceeds maxHeaderBytes is answered 431.'),
        headersTimeoutMs: durationMs
          .default(10_000)
          .describe('Time allowed to receive the whole request head, counted from its first byte (slowloris); then 408 request.timeout. At most requestTimeoutMs.'),
        requestTimeoutMs: durationMs
          .default(60_000)
          .describe('Time allowed to receive the whole request, head and body; then 408 request.timeout.'),
        keepAliveTimeoutMs: durationMs
          .default(5_000)
          .describe('How long an idle keep-alive connection waits for its next request before it is closed (for HTTP/2: a session with no open stream and no frames; the other timeouts are HTTP/1.1 only).'),
        maxConnections: z
          .number().int().min(1).max(1_000_000)
          .default(10_000)
          .describe('Most concurrent client connections; a connection beyond it is closed at once (no reply is possible), counted and audited as connection.limit.'),
        maxRequestsPerSocket: z
          .number().int().min(0).max(1_000_000)
          .default(0)
          .describe('Requests served on one connection before it is closed (Connection: close on the last); 0 is unlimited.'),
        maxConcurrentStreams: z
          .number().int().min(1).max(10_000)
          .default(100)
          .describe(
            'HTTP/2 only: most streams (requests) open at once on one connection, advertised in SETTINGS_MAX_CONCURRENT_STREAMS; a stream beyond it is refused (RST_STREAM REFUSED_STREAM). The HTTP/2 protections are fixed: Node\'s rapid-reset mitigation (a session whose client keeps cancelling streams is closed), a session is closed after 100 invalid frames (maxSessionInvalidFrames) or 100 refused streams (maxSessionRejectedStreams), and a client may have at most 10 PINGs (maxOutstandingPings) and 10 SETTINGS (maxOutstandingSettings) unanswered, beyond which the session is closed (PING and SETTINGS floods).',
          ),
      })
      .refine((l) => l.headersTimeoutMs <= l.requestTimeoutMs, {
        message: 'headersTimeoutMs must not exceed requestTimeoutMs',
        path: ['headersTimeoutMs'],
      })
      .prefault({})
      .describe('Limits that protect the gateway from its clients, applied per connection and per request.'),
    mtls: mtls.optional(),
    tls: z
      .strictObject({
        certificates: z
          .array(
            z
              .strictObject({
                cert: z.string().min(1).describe('PEM certificate file (leaf first, then its intermediates); relative to the working directory.'),
                key: z.string().min(1).describe('PEM private key file for cert; relative to the working directory.'),
                serverNames: z
                  .array(
                    z
                      .string()
                      .regex(
                        /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
                        "must be a lowercase host name, or *. and a host name (*.example.com covers one level of subdomains)",
                      ),
                  )
                  .optional()
                  .describe('SNI names this certificate answers (exact names first, then *.example.com for one level). The first certificate also answers clients without SNI or with an unknown name.'),
              })
              .describe('A certificate and its key.'),
          )
          .min(1)
          .describe('Certificates chosen by SNI; the first is the default. The files are watched: a changed pair is used for new handshakes (open connections are kept); a broken one keeps the previous pair and logs an error.'),
        minVersion: z
          .enum(['TLSv1.2', 'TLSv1.3'])
          .default('TLSv1.2')
          .describe('Oldest TLS version accepted. TLS 1.2 is limited to ECDHE key exchange with AEAD ciphers.'),
        http2: z
          .boolean()
          .default(true)
          .describe('Offer HTTP/2 by ALPN beside HTTP/1.1 on the same port (clients without ALPN, or asking for http/1.1, get HTTP/1.1). Both go through the same filter chain; :authority is the host and :path goes through the same normalization. Streams per connection are limited by limits.maxConcurrentStreams.'),
      })
      .optional()
      .describe('Serve HTTPS on the gateway listener; plain HTTP when unset. Read when the listener is created: a reload does not change it (the certificate files are reloaded on their own).'),
  })
  .describe('The data-plane listener.');

const adminLogin = z
  .strictObject({
    provider: z.string().min(1).describe('The identity.providers entry admins log in with.'),
    clientId: z.string().min(1).describe('The OAuth client the admin listener logs people in as (authorization code flow with PKCE).'),
    clientSecret: z.string().min(1).optional().describe('Its secret (use ${ENV_VAR}); unset for a public client.'),
    redirectUri: z
      .url({ protocol: /^https?$/ })
      .describe('Where the provider sends people back: <admin listener origin>/auth/callback (http://127.0.0.1:9901/auth/callback). Taken from config, never from the Host header.'),
    role: z.string().min(1).default('admin').describe("The role (after the provider's claim-to-role mapping, as the gateway maps it) a person needs to use the admin API."),
    scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email']).describe('Scopes asked for at login.'),
    sessionSecret: z
      .string()
      .min(32, 'the admin session secret must be at least 32 characters')
      .optional()
      .describe('Key of the HMAC that signs login cookies (use ${ENV_VAR}); changing it ends every login session. Unset: a random key per process, so sessions end at a restart, and a fleet behind one admin address must set it.'),
  })
  .describe("Log in to the admin API and dashboard with Cortex's own authentication: people holding `role` get the `cortex_admin` cookie.");

export const admin = z
  .strictObject({
    listen: listenOn(9901).default({ host: '127.0.0.1', port: 9901 }),
    token: z
      .string()
      .min(16, 'admin token must be at least 16 characters')
      .optional()
      .describe('Bearer token for everything under /api/. Without one, /api/ answers 401 to everyone.'),
    allowRemote: z
      .boolean()
      .default(false)
      .describe('Allow binding the admin listener to a non-loopback address.'),
    login: adminLogin.optional(),
  })
  .describe('The admin listener: health, readiness, metrics, and the admin API.');
