// The single source of truth for Cortex's configuration. Everything else (the typed Config,
// the exported JSON Schema in schema/cortex.schema.json, docs/config-reference.md) derives from it.
import { z } from 'zod';

export const STAGES = ['dev', 'staging', 'prod'] as const;
export type Stage = (typeof STAGES)[number];

const port = z.number().int().min(0).max(65535);
const durationMs = z.number().int().min(1).max(86_400_000);
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be a valid HTTP header name (RFC 9110 token)');
const headerValue = z
  .string()
  .refine((v) => !/[\r\n\0]/.test(v), 'must not contain CR, LF or NUL');

// A factory, so that a partly written listener (`listen: { host: ... }`) gets its own
// listener's default port rather than the data plane's.
const listenOn = (defaultPort: number) =>
  z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1').describe('Address to bind.'),
      port: port.default(defaultPort).describe('TCP port; 0 picks a free one.'),
    })
    .describe('Where a listener binds.');

const gateway = z
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

const admin = z
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
  })
  .describe('The admin listener: health, readiness, metrics, and the admin API.');

const upstream = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('Base URL of the upstream service (http or https). A path here is prefixed to every forwarded path. Exactly one of url or targets.'),
    targets: z
      .array(z.url({ protocol: /^https?$/ }))
      .min(1)
      .optional()
      .describe('Several base URLs of the same service, balanced per request (one connection pool each). Exactly one of url or targets.'),
    balance: z
      .enum(['round-robin', 'least-busy'])
      .default('round-robin')
      .describe('How a target is chosen: in turn (round-robin) or the one with the fewest requests in flight from this gateway (least-busy).'),
    outlierDetection: z
      .strictObject({
        consecutiveFailures: z.number().int().min(1).max(1_000).default(3).describe('Consecutive connect failures (refused, unreachable, connect timeout, TLS handshake) that eject a target.'),
        baseEjectionMs: durationMs.default(10_000).describe('How long a target is first ejected; doubled for each repeat ejection without a success in between.'),
        maxEjectionMs: durationMs.default(300_000).describe('Longest ejection.'),
      })
      .prefault({})
      .describe('Passive outlier detection. When every target is ejected, the least recently ejected one is still used: a target that might work is better than a 503.'),
    healthCheck: z
      .strictObject({
        path: z.string().regex(/^\//, 'must start with /').default('/healthz').describe('Path requested with GET on each target; a 2xx or 3xx answer is healthy.'),
        intervalMs: durationMs.default(5_000).describe('Time between checks of each target.'),
        timeoutMs: durationMs.default(2_000).describe('Time allowed for a check to answer.'),
        healthyThreshold: z.number().int().min(1).max(100).default(2).describe('Consecutive passing checks that put a failing target back.'),
        unhealthyThreshold: z.number().int().min(1).max(100).default(3).describe('Consecutive failing checks that take a target out.'),
      })
      .optional()
      .describe('Active health checks, run while a config in use references the upstream. A failing target gets no requests until healthy again; when every target fails its checks, requests get 503 upstream.unavailable.'),
    retries: z
      .boolean()
      .default(true)
      .describe('Retry an idempotent request (GET, HEAD, OPTIONS, PUT, DELETE) whose connection could not be opened, once, on another target. Never after any request body byte or response byte; bounded by a budget of 20% of the last 10 s of requests (at least 3).'),
    tls: z
      .strictObject({
        ca: z.string().min(1).optional().describe('PEM file of the CA(s) trusted for the upstream\'s certificate, instead of the system CAs; relative to the working directory.'),
        serverName: z.string().min(1).optional().describe('SNI name sent, and name the certificate must carry; the URL host by default.'),
        cert: z.string().min(1).optional().describe('PEM client certificate file, for mutual TLS (with key).'),
        key: z.string().min(1).optional().describe('PEM private key file for cert.'),
        insecureSkipVerify: z.boolean().default(false).describe('Accept any upstream certificate. For tests only: it allows any server to impersonate the upstream.'),
      })
      .optional()
      .describe('TLS settings for https targets.'),
    connections: z.number().int().min(1).max(4096).default(128).describe('Maximum connections in the pool.'),
    connectTimeoutMs: durationMs.default(5_000).describe('Time allowed to open a connection.'),
    timeoutMs: durationMs
      .default(30_000)
      .describe('Time allowed for the upstream to answer with headers, and between body chunks. A route may shorten it.'),
    keepAliveTimeoutMs: durationMs
      .default(4_000)
      .describe('How long an idle pooled connection is kept; keep it below the upstream\'s own idle timeout.'),
    host: z
      .enum(['preserve', 'upstream'])
      .default('preserve')
      .describe("Host header sent upstream: the client's (preserve) or the upstream URL's host."),
  })
  .describe('An upstream service that routes forward to.');

// Framing and hop-by-hop headers are Cortex's to write; a route cannot set them.
const RESERVED_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'content-length', 'expect', 'host']);
const settableHeaderName = headerName.refine((n) => !RESERVED_HEADERS.has(n.toLowerCase()), {
  message: 'framing and hop-by-hop headers (connection, content-length, host, transfer-encoding, ...) cannot be set',
});

const headerOps = z
  .strictObject({
    set: z.record(settableHeaderName, headerValue).default({}).describe('Headers to set (replacing any value).'),
    remove: z.array(headerName).default([]).describe('Headers to remove.'),
  })
  .describe('Header additions and removals.');

const pathTemplate = z
  .string()
  .regex(/^\/[A-Za-z0-9\-._~!$&'()*+,=:@/{}%]*$/, 'must start with / and contain only path characters and {param}')
  .refine(
    (t) => t.split('/').every((seg) => !/[{}]/.test(seg) || /^\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(seg)),
    'a {param} must be a whole path segment, like /orders/{id}',
  );

const route = z
  .strictObject({
    description: z.string().optional().describe('Free text for people reading the config.'),
    match: z
      .strictObject({
        host: z.string().optional().describe('Host (without port) this route answers for; any host when unset.'),
        methods: z
          .array(z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']))
          .min(1)
          .optional()
          .describe('Methods; all of them when unset.'),
        path: pathTemplate
          .optional()
          .describe('Exact path, with {name} for one segment, e.g. /orders/{id}.'),
        prefix: pathTemplate
          .optional()
          .describe('Path prefix ending in /, e.g. /api/. Matches the prefix itself without the slash too.'),
      })
      .refine((m) => (m.path === undefined) !== (m.prefix === undefined), {
        message: 'exactly one of path or prefix is required',
      })
      .describe('What the route answers: exactly one of path or prefix, optionally narrowed by host and methods.'),
    upstream: z.string().describe('Name of an entry in upstreams.'),
    timeoutMs: durationMs.optional().describe("Overrides the upstream's timeoutMs for this route."),
    maxBodyBytes: z
      .number()
      .int()
      .min(0)
      .default(10_485_760)
      .describe('Largest request body in bytes (10 MiB by default; 0 = no limit). A larger declared Content-Length is answered 413 request.body_too_large before anything is sent upstream; a chunked body that grows past it aborts the upstream request, and the client gets 413 if no response has started, and the connection is closed.'),
    rewrite: z
      .strictObject({
        stripPrefix: z.string().optional().describe('Remove this prefix from the path before forwarding.'),
        addPrefix: z.string().optional().describe('Prepend this prefix after stripping.'),
        template: pathTemplate
          .optional()
          .describe('Replace the path with this template; {name} takes the matched parameter.'),
      })
      .optional()
      .describe('Applied after the decision, to the normalized path; shown in the audit event.'),
    requestHeaders: headerOps.optional().describe('Changes to the request headers sent upstream.'),
    responseHeaders: headerOps.optional().describe('Changes to the response headers sent to the client.'),
    allow: z
      .strictObject({
        encodedSlash: z.boolean().default(false).describe('Accept %2F and %5C inside path segments (kept encoded).'),
        semicolon: z.boolean().default(false).describe('Accept ; in the path (matrix parameters).'),
        methodOverride: z
          .boolean()
          .default(false)
          .describe('Forward X-HTTP-Method-Override and similar headers instead of dropping them.'),
        originalUrlHeaders: z
          .boolean()
          .default(false)
          .describe('Forward X-Original-URL / X-Rewrite-URL instead of dropping them.'),
      })
      .default({ encodedSlash: false, semicolon: false, methodOverride: false, originalUrlHeaders: false })
      .describe('Opt-ins for inputs that are rejected or dropped by default.'),
    websocket: z
      .boolean()
      .default(false)
      .describe('Accept WebSocket upgrades (GET with Upgrade: websocket) on this route. They go through the same path checks, routing and filters as any request; the connection is then relayed both ways. Without it an upgrade is answered 400 request.upgrade_not_allowed and nothing reaches the upstream.'),
    maxConnectionLifetimeMs: durationMs
      .default(3_600_000)
      .describe('Longest a WebSocket or a streaming response (Content-Type: text/event-stream) may stay open (1 hour by default); when it is reached Cortex closes it, recorded as connection.lifetime_exceeded.'),
    cors: z
      .strictObject({
        origins: z
          .array(
            z
              .string()
              .regex(/^(\*|[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+)$/, "must be '*' or an origin like https://app.example.com (scheme, host and optional port; no path)")
              .refine((o) => o === '*' || o === o.toLowerCase(), 'origins are compared exactly; write them in lowercase'),
          )
          .min(1)
          .describe("Origins allowed to call this route from a browser, compared exactly (https://app.example.com), or '*' for any origin. The 'null' origin is never allowed by name."),
        methods: z
          .array(z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']))
          .min(1)
          .optional()
          .describe("Methods a preflight may ask for (Access-Control-Allow-Methods); the route's match.methods when unset."),
        headers: z
          .array(headerName)
          .default([])
          .describe('Request headers a preflight may ask for (Access-Control-Allow-Headers), compared case-insensitively.'),
        exposeHeaders: z
          .array(headerName)
          .default([])
          .describe('Response headers a browser may show to the calling script (Access-Control-Expose-Headers).'),
        credentials: z
          .boolean()
          .default(false)
          .describe("Allow cookies and HTTP authentication (Access-Control-Allow-Credentials: true). Not allowed with origins: ['*']."),
        maxAgeSeconds: z
          .number()
          .int()
          .min(0)
          .max(86_400)
          .default(600)
          .describe('How long a browser may cache a preflight answer (Access-Control-Max-Age).'),
      })
      .optional()
      .describe('Cross-origin (CORS) policy answered by the gateway: preflights are answered here and never reach the upstream.'),
  })
  .describe('A route: what it matches and where it goes.');

const auditSink = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('jsonl'),
      path: z.string().default('stdout').describe("File path, or 'stdout'."),
    })
    .describe('One JSON object per line.'),
]);

const audit = z
  .strictObject({
    sinks: z
      .array(auditSink)
      .default([{ type: 'jsonl', path: 'stdout' }])
      .describe('Every sink receives every event.'),
  })
  .describe('Where audit events go.');

const log = z
  .strictObject({
    level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('Least severe level that is written.'),
  })
  .describe('Process logs (pino, JSON to stderr).');

export const baseConfigSchema = z.strictObject({
  $schema: z.string().optional().describe('Path or URL of the JSON Schema, for editors.'),
  version: z.literal(1).describe('Config format version.'),
  stage: z.enum(STAGES).default('dev').describe('Default stage; --stage or CORTEX_STAGE override it.'),
  gateway: gateway.default(() => gateway.parse({})),
  admin: admin.default(() => admin.parse({})),
  upstreams: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]+$/), upstream)
    .default({})
    .describe('Upstream services by name (letters, digits, _ . -).'),
  routes: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]+$/), route)
    .default({})
    .describe('Routes by id (letters, digits, _ . -).'),
  audit: audit.default(() => audit.parse({})),
  log: log.default(() => log.parse({})),
  shutdown: z
    .strictObject({
      drainDelayMs: z
        .number()
        .int()
        .min(0)
        .max(3_600_000)
        .default(0)
        .describe('Time between readiness turning false (/readyz answers 503) and the listener closing, so a load balancer notices before connections are refused.'),
      graceMs: z
        .number()
        .int()
        .min(0)
        .max(3_600_000)
        .default(10_000)
        .describe('Time, once the listener has closed, that in-flight requests and open streams get to finish; the rest are then cut (and audited).'),
    })
    .default({ drainDelayMs: 0, graceMs: 10_000 })
    .describe('Graceful shutdown on SIGTERM/SIGINT: readiness false, wait drainDelayMs, stop accepting, drain within graceMs, flush the audit log, exit.'),
});

/** The file's shape: the base config plus per-stage overrides deep-merged over it. */
export const configFileSchema = baseConfigSchema.extend({
  stages: z
    .partialRecord(z.enum(STAGES), z.record(z.string(), z.unknown()))
    .optional()
    .describe('Per-stage overrides, deep-merged over the rest of the file (objects merge, arrays and scalars replace, null removes a key).'),
});

export type Config = z.infer<typeof baseConfigSchema>;
export type UpstreamConfig = Config['upstreams'][string];
export type RouteConfig = Config['routes'][string];
export type HeaderOps = z.infer<typeof headerOps>;
export type AuditSinkConfig = z.infer<typeof auditSink>;
