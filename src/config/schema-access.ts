// The config sections for ways in besides bearer tokens: browser login sessions, API keys and
// client certificates (a separate mTLS listener). All three produce the same Identity.
import { z } from 'zod';
import { listenOn } from './schema-common.ts';

const roleList = z.array(z.string().min(1)).default([]);

const sessionStore = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('memory') }).describe('In this process only: sessions end when it restarts.'),
    z.strictObject({ type: z.literal('sqlite'), path: z.string().min(1).describe('Database file (created when missing).') }).describe('Embedded SQLite (node:sqlite): one host, survives restarts.'),
    z
      .strictObject({
        type: z.literal('redis'),
        url: z.string().min(1).describe('redis://host:port/db'),
        prefix: z.string().default('cortex:session:').describe('Key prefix.'),
      })
      .describe('Redis: shared by every gateway of a fleet.'),
  ])
  .describe('Where sessions are kept. The cookie holds only a signed, opaque session id.');

export const sessions = z
  .strictObject({
    provider: z.string().min(1).describe('The identity.providers entry people log in with.'),
    clientId: z.string().min(1).describe('The OAuth client Cortex logs people in as (authorization code flow with PKCE).'),
    clientSecret: z.string().min(1).optional().describe('Its secret (use ${ENV_VAR}); unset for a public client.'),
    redirectUri: z
      .url({ protocol: /^https?$/ })
      .describe("Where the provider sends people back: <gateway origin>/.cortex/callback. Taken from config, never from the Host header; its origin is the origin that cookie-authenticated unsafe requests must come from."),
    postLogoutRedirectUri: z.url({ protocol: /^https?$/ }).optional().describe('Where the provider sends people after logout (RP-initiated logout), when it supports it.'),
    scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email', 'offline_access']).describe('Scopes asked for at login.'),
    resource: z.string().min(1).optional().describe('RFC 8707 resource indicator asked for at login (some providers issue JWT access tokens for a resource only).'),
    secrets: z
      .array(z.string().min(32, 'session secrets must be at least 32 characters'))
      .min(1)
      .describe('Keys that sign the session cookie: the first signs, every one verifies, so a new secret can be put first without logging everyone out (use ${ENV_VAR}).'),
    cookie: z
      .strictObject({
        name: z.string().regex(/^[A-Za-z0-9_-]+$/).default('cortex_session').describe('Cookie name.'),
        domain: z.string().optional().describe('Domain attribute; host-only when unset.'),
        secure: z.boolean().default(true).describe('Secure attribute. Turn off only for http://localhost in development.'),
      })
      .prefault({})
      .describe('The session cookie: always HttpOnly, SameSite=Lax, Path=/.'),
    store: sessionStore.default({ type: 'memory' }),
    idleTimeoutSeconds: z.number().int().min(60).max(2_592_000).default(3_600).describe('A session unused this long ends.'),
    absoluteTimeoutSeconds: z.number().int().min(300).max(31_536_000).default(86_400).describe('A session ends this long after login, used or not.'),
    refreshBeforeSeconds: z
      .number()
      .int()
      .min(0)
      .max(3_600)
      .default(60)
      .describe("Tokens are refreshed this long before the access token expires (one refresh per session at a time; concurrent requests wait for it)."),
  })
  .describe('Browser login: the authorization code flow with PKCE, state and nonce; sessions kept server-side.');

const keyStore = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('sqlite'), path: z.string().min(1).describe('Database file (created when missing).') }).describe('Embedded SQLite (node:sqlite): one host.'),
    z.strictObject({ type: z.literal('postgres'), url: z.string().min(1).describe('postgres://user@host:port/db (use ${ENV_VAR}).') }).describe('PostgreSQL: shared by a fleet; a revocation reaches every gateway at once (LISTEN/NOTIFY).'),
  ])
  .describe('Where API keys are kept (only an HMAC of each secret).');

export const apiKeys = z
  .strictObject({
    store: keyStore,
    hmacSecret: z
      .string()
      .min(32, 'the API key HMAC secret must be at least 32 characters')
      .describe('Key for the HMAC-SHA-256 that keys are stored as (use ${ENV_VAR}); changing it invalidates every key.'),
    header: z.string().default('x-api-key').describe('Header a key may be sent in (it may also be sent as Authorization: Bearer <key>).'),
  })
  .describe('API keys for services and people: `cortex api-keys create`.');

export const mtls = z
  .strictObject({
    listen: listenOn(8443).default({ host: '127.0.0.1', port: 8443 }),
    cert: z.string().min(1).describe("The listener's own certificate (PEM file)."),
    key: z.string().min(1).describe('Its private key (PEM file).'),
    clientCas: z.array(z.string().min(1)).min(1).describe('CA certificates (PEM files) that client certificates must chain to.'),
    revokedSerials: z
      .array(z.string().regex(/^[0-9A-Fa-f:]+$/, 'a serial number in hex'))
      .default([])
      .describe('Serial numbers (hex) of client certificates that are refused although they chain to a CA.'),
    match: z
      .enum(['subject-cn', 'san-dns', 'san-uri'])
      .default('subject-cn')
      .describe("What of the certificate names the service: the subject's CN, a DNS SAN or a URI SAN (spiffe://...)."),
    services: z
      .record(
        z.string().min(1),
        z.strictObject({ service: z.string().min(1).describe('The service identity (subject).'), roles: roleList.describe('Its roles.') }),
      )
      .default({})
      .describe('Certificate name → service and roles. A verified certificate whose name is not listed is refused.'),
  })
  .describe('A separate HTTPS listener that requires a client certificate (Node cannot ask for one on some routes only under TLS 1.3); requests on it can use routes with auth: mtls.');

export const AUTH_METHODS = ['none', 'bearer', 'session', 'api_key', 'mtls'] as const;
export type AuthMethodName = (typeof AUTH_METHODS)[number];

export const routeAuth = z
  .union([z.enum(AUTH_METHODS), z.array(z.enum(['bearer', 'session', 'api_key', 'mtls'])).min(1)])
  .default('bearer')
  .describe("How callers prove who they are: bearer (an access token from identity.providers), session (a browser login), api_key, mtls (a client certificate on gateway.mtls's listener), a list of these (any one of them), or none (public: the anonymous identity). Bearer unless set, so a route is never public by omission.");

export const routeSession = z
  .strictObject({
    csrf: z
      .boolean()
      .default(true)
      .describe("Refuse cross-site unsafe requests (not GET/HEAD/OPTIONS) made with the session cookie: their Origin, or else Sec-Fetch-Site, must say same-origin. Turn off only for endpoints meant to be posted to from other sites, with their own protection."),
  })
  .describe('Session options for this route.');
