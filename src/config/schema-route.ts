// The route section of the config schema.
import { z } from 'zod';
import { durationMs, headerName, headerValue } from './schema-common.ts';
import { routeAuth, routeSession } from './schema-access.ts';
import { routeBearer } from './schema-identity.ts';
import { routeIntent, routeTags } from './schema-policy.ts';

// Framing and hop-by-hop headers are Cortex's to write; a route cannot set them.
const RESERVED_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'content-length', 'expect', 'host']);
const settableHeaderName = headerName.refine((n) => !RESERVED_HEADERS.has(n.toLowerCase()), {
  message: 'framing and hop-by-hop headers (connection, content-length, host, transfer-encoding, ...) cannot be set',
});

export const headerOps = z
  .strictObject({
    set: z.record(settableHeaderName, headerValue).default({}).describe('Headers to set (replacing any value).'),
    remove: z.array(headerName).default([]).describe('Headers to remove.'),
  })
  .describe('Header additions and removals.');

export const pathTemplate = z
  .string()
  .regex(/^\/[A-Za-z0-9\-._~!$&'()*+,=:@/{}%]*$/, 'must start with / and contain only path characters and {param}')
  .refine(
    (t) => t.split('/').every((seg) => !/[{}]/.test(seg) || /^\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(seg)),
    'a {param} must be a whole path segment, like /orders/{id}',
  );

// Cedar's reserved words, and `tags` (the Route's own attribute), cannot name a resource attribute.
const RESERVED_ATTRS = new Set(['tags', 'true', 'false', 'if', 'then', 'else', 'in', 'is', 'like', 'has', 'principal', 'action', 'resource', 'context']);
const attributeName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a Cedar attribute name (letters, digits, _)')
  .refine((n) => !RESERVED_ATTRS.has(n), 'reserved: tags and Cedar keywords cannot name a resource attribute');
const answerField = z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, 'a field of the JSON answer, dotted for a nested one (owner, customer.id)');

export const attributeSource = z
  .strictObject({
    url: z
      .string()
      .refine((u) => {
        try {
          return /^https?:$/.test(new URL(u.replace(/\{[A-Za-z_][A-Za-z0-9_]*\}/g, 'x')).protocol);
        } catch {
          return false;
        }
      }, 'an http(s) URL, with {param} for a path parameter of the route (http://orders.internal/orders/{id})')
      .describe("URL template of the lookup (GET); {name} takes the route's path parameter, percent-encoded."),
    pick: z
      .record(attributeName, z.union([answerField, z.strictObject({ field: answerField, type: z.enum(['string', 'set']) })]))
      .refine((p) => Object.keys(p).length > 0, 'pick at least one attribute')
      .describe("Cedar attribute name → the answer's field: a string (String), or { field, type: set } for an array of strings (Set<String>)."),
    timeoutMs: durationMs.default(2000).describe('How long the lookup may take; past it the request is denied (authz.attribute_unavailable).'),
    cacheSeconds: z.number().int().min(0).max(3600).default(5).describe('How long an answer is reused for the same URL (0: never).'),
  })
  .describe('An HTTP lookup that gives the policies attributes of the object the request names (resource.owner).');

export const route = z
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
    auth: routeAuth,
    bearer: routeBearer.optional(),
    session: routeSession.optional(),
    intent: routeIntent.optional().describe('What the route does, as an action policy names (orders:read). With a policy section, an authenticated route without an intent is denied and reported, never open.'),
    tags: routeTags.describe('Tags of the intent (destructive, pii, admin): policies and agent limits can name them.'),
    policyMode: z.enum(['enforce', 'shadow']).optional().describe("Overrides policy.mode for this route."),
    resource: z
      .strictObject({ attributes: attributeSource })
      .optional()
      .describe('Where the attributes of the object this route names come from, so policies can check ownership. A failed lookup denies; a 404 leaves the attributes absent.'),
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
  .superRefine((r, ctx) => {
    const source = r.resource?.attributes;
    if (source === undefined) return;
    const declared = new Set([...(r.match.path ?? r.match.prefix ?? '').matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]));
    for (const m of source.url.matchAll(/\{([^}]*)\}/g)) {
      if (!declared.has(m[1])) {
        ctx.addIssue({ code: 'custom', path: ['resource', 'attributes', 'url'], message: `{${m[1]}} is not a path parameter of this route's match` });
      }
    }
  })
  .describe('A route: what it matches and where it goes.');
