// The `cortex dev` configuration: the demo orders API behind the gateway. Written as YAML text so
// that `cortex check` (with no --config) validates exactly what `cortex dev` runs.
import { dirname, join } from 'node:path';

/** The demo's hand-written Cedar (ownership of orders); it ships in the repository next to this file. */
export const DEV_POLICY_FILE = join(import.meta.dirname, 'policies', 'orders.cedar');
export interface DevConfigOptions {
  gatewayPort: number;
  adminPort: number;
  ordersUrl: string;
  auditPath: string;
  /** The SQLite file API keys live in. */
  apiKeysPath: string;
  /** The file the signing key ring lives in (private keys sealed with CORTEX_DEV_SIGNING_KEK or a dev passphrase). */
  signingKeysPath: string;
  /** The SQLite file users' grants to agents live in. */
  grantsPath: string;
  /** Serve the gateway over TLS (HTTP/2 and HTTP/1.1 by ALPN) with this certificate and key. */
  tls?: { cert: string; key: string };
  /** The dev identity provider's issuer (src/dev/idp, 127.0.0.1:9902 by default). */
  idpIssuer: string;
}

/** The assistant agent's client secret at the gateway's token endpoint (CORTEX_DEV_ASSISTANT_SECRET overrides it). */
export const DEV_ASSISTANT_SECRET = 'dev-secret-assistant-token-exchange';

export const DEV_DEFAULTS = {
  gatewayPort: 8080,
  adminPort: 9901,
  ordersUrl: 'http://127.0.0.1:9903',
  auditPath: '.cortex/dev/audit.jsonl',
  apiKeysPath: '.cortex/dev/api-keys.db',
  signingKeysPath: '.cortex/dev/signing-keys.json',
  grantsPath: '.cortex/dev/agent-grants.db',
  idpIssuer: 'http://127.0.0.1:9902',
};

export function devConfigText(opts: Partial<DevConfigOptions> = {}): string {
  const o = { ...DEV_DEFAULTS, ...opts };
  // localhost, not 127.0.0.1: browsers keep Secure cookies on http://localhost only.
  const origin = `${opts.tls === undefined ? 'http' : 'https'}://localhost:${o.gatewayPort}`;
  const tls =
    opts.tls === undefined
      ? ''
      : `  tls:\n    certificates:\n      - { cert: ${JSON.stringify(opts.tls.cert)}, key: ${JSON.stringify(opts.tls.key)} }\n    http2: true\n`;
  return `# cortex dev: the demo orders API behind Cortex.
version: 1
stage: dev
gateway:
  listen: { host: 127.0.0.1, port: ${o.gatewayPort} }
${tls}admin:
  listen: { host: 127.0.0.1, port: ${o.adminPort} }
  login:
    # The dashboard's "Log in" (http://127.0.0.1:${o.adminPort}/): people holding the admin role (alice, in group admins).
    provider: dev
    clientId: cortex-admin
    clientSecret: \${CORTEX_DEV_ADMIN_CLIENT_SECRET:-dev-secret-cortex-admin}
    redirectUri: http://127.0.0.1:${o.adminPort}/auth/callback
identity:
  providers:
    dev:
      # The embedded OpenID provider: people alice, bob and carol; try cortex dev token --as alice.
      issuer: ${o.idpIssuer}
      audiences: [cortex-gateway]
      tokenType: at+jwt
      roles:
        claim: groups
        map:
          admins: [admin]
          customers: [customer]
          support: [support]
      services:
        reporting: { roles: [reporting] }
      agents:
        assistant: { roles: [agent] }
      introspection:
        clientId: cortex-gateway
        clientSecret: \${CORTEX_DEV_INTROSPECTION_SECRET:-dev-secret-cortex-gateway}
      keys: { unknownKeyRefetchMinIntervalMs: 5000 }
  apiKeys:
    # npx cortex api-keys create --service reporting --role reporting (no --config: this file).
    store: { type: sqlite, path: ${JSON.stringify(o.apiKeysPath)} }
    hmacSecret: \${CORTEX_DEV_API_KEY_HMAC_SECRET:-dev-only-api-key-hmac-secret-not-for-production}
  sessions:
    # Browser login at the dev identity provider: open ${origin}/ and pick alice, bob or carol.
    provider: dev
    clientId: cortex-web
    clientSecret: \${CORTEX_DEV_WEB_CLIENT_SECRET:-dev-secret-cortex-web}
    redirectUri: ${origin}/.cortex/callback
    postLogoutRedirectUri: ${origin}/
    secrets:
      - \${CORTEX_DEV_SESSION_SECRET:-cortex-dev-session-secret-for-this-machine-only}
    store: { type: memory }
credentials:
  # Cortex signs an identity assertion for the orders API, which verifies it with packages/verify.
  # A file store keeps the keys across restarts, so tokens signed before one still verify after it.
  signingKeys:
    store: { type: file, path: ${JSON.stringify(o.signingKeysPath)} }
    encryptionKey: \${CORTEX_DEV_SIGNING_KEK:-cortex-dev-signing-key-passphrase-for-this-machine-only}
  tokenExchange:
    # Agents trade a person's token for a short-lived delegated one at /.cortex/token:
    # npx cortex dev token --agent assistant --for bob (bob has granted assistant; alice has not).
    clients:
      assistant:
        secret: \${CORTEX_DEV_ASSISTANT_SECRET:-${DEV_ASSISTANT_SECRET}}
    grants: { type: sqlite, path: ${JSON.stringify(o.grantsPath)} }
upstreams:
  orders:
    url: ${o.ordersUrl}
    timeoutMs: 10000
routes:
  health:
    description: Liveness of the orders service.
    match: { methods: [GET], path: '/health' }
    upstream: orders
    auth: none
  app:
    description: The demo page; a browser without a session is sent to log in.
    match: { methods: [GET], path: '/' }
    upstream: orders
    auth: [session]
    intent: app:view
  # The orders routes take an access token, an API key or the browser session.
  orders-list:
    match: { methods: [GET], path: '/orders' }
    upstream: orders
    auth: [bearer, api_key, session]
    intent: orders:read
  orders-create:
    match: { methods: [POST], path: '/orders' }
    upstream: orders
    auth: [bearer, api_key, session]
    intent: orders:create
  orders-read:
    match: { methods: [GET], path: '/orders/{id}' }
    upstream: orders
    auth: [bearer, api_key, session]
    intent: orders:read
    # Who owns the order, for the ownership rules in src/dev/policies/orders.cedar.
    resource:
      attributes:
        url: '${o.ordersUrl}/orders/{id}'
        pick: { owner: owner }
        timeoutMs: 2000
        cacheSeconds: 5
  orders-delete:
    match: { methods: [DELETE], path: '/orders/{id}' }
    upstream: orders
    auth: [bearer, api_key, session]
    intent: orders:delete
    tags: [destructive]
  orders-openapi:
    description: The orders API's own OpenAPI document, under a gateway path.
    match: { methods: [GET], path: '/openapi/orders.json' }
    upstream: orders
    auth: none
    rewrite: { template: '/openapi.json' }
policy:
  # Which roles hold which intents (roles come from identity.providers.dev.roles.map, and from the
  # service and agent clients). An agent acting for a person gets at most what both hold, and never
  # a destructive intent. Ownership (bob reads only his own orders, through orders-read's attribute
  # source) is written in Cedar in the file below.
  grants:
    admin: ['orders:*', 'app:view']
    support: ['orders:read', 'app:view']
    customer: ['orders:read', 'orders:create', 'app:view']
    reporting: ['orders:read']
    agent: ['orders:read', 'orders:create']
  files:
    - ${JSON.stringify(DEV_POLICY_FILE)}
audit:
  sinks:
    - { type: sqlite, path: ${JSON.stringify(o.auditPath.replace(/\.jsonl$/, '') + '.db')} }
    - { type: jsonl, path: ${o.auditPath} }
  spool: { dir: ${JSON.stringify(join(dirname(o.auditPath), 'audit-spool'))} }
  # Each writer's signed chain head, kept apart from the database: cortex audit verify reads both.
  checkpoints: { type: file, path: ${JSON.stringify(join(dirname(o.auditPath), 'audit-checkpoints.jsonl'))} }
log:
  level: info
`;
}
