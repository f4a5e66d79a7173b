// Every secret-bearing field of the config schema, set to a value that must never leave the process
// through GET /api/config; and a walk of the generated JSON schema that fails when a field named like
// a secret appears that this list does not classify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REDACTED, redactSecrets } from '../../../src/admin/redact.ts';
import { baseConfigSchema } from '../../../src/config/schema.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Schema path (`*` a record key, `[]` an array item) → the sentinel placed there (a URL's password for URL fields). */
const SECRETS: Record<string, string> = {
  'admin.token': 'S3-admin-token-0123456789',
  'admin.login.clientSecret': 'S3-admin-login-client-secret',
  'admin.login.sessionSecret': 'S3-admin-login-session-secret-0123456789abc',
  'identity.sessions.clientSecret': 'S3-session-client-secret',
  'identity.sessions.secrets': 'S3-session-cookie-secret-0123456789abcdef',
  'identity.sessions.store.url': 'S3-session-redis-pw',
  'identity.providers.*.introspection.clientSecret': 'S3-introspection-secret',
  'identity.apiKeys.hmacSecret': 'S3-api-key-hmac-secret-0123456789abcdef',
  'identity.apiKeys.store.url': 'S3-api-keys-pg-pw',
  'credentials.signingKeys.encryptionKey': 'S3-kek-0123456789abcdef0123456789abcdef',
  'credentials.signingKeys.store.url': 'S3-signing-pg-pw',
  'credentials.tokenExchange.clients.*.secret': 'S3-exchange-client-secret',
  'credentials.tokenExchange.grants.url': 'S3-grants-pg-pw',
  'credentials.tokenExchange.revocations.url': 'S3-revocations-redis-pw',
  'audit.sinks.[].url': 'S3-audit-pg-pw',
  'upstreams.*.url': 'S3-upstream-url-pw',
  'upstreams.*.credentials.secret': 'S3-upstream-static-header',
  'upstreams.*.credentials.clientSecret': 'S3-upstream-oauth-secret',
  'routes.*.requestHeaders': 'S3-route-authorization-header',
  'telemetry.tracing.headers': 'S3-collector-api-key',
};

/** Fields named like secrets that hold none: file paths, URLs without credentials of their own, sizes, switches. */
const NOT_SECRETS = new Set([
  'apis.*.bearer.acceptIdTokens',
  'apis.*.operations.*.resource.attributes.url',
  'apis.*.spec.url',
  'credentials.tokenExchange',
  'gateway.limits.headersTimeoutMs',
  'gateway.limits.maxHeaders',
  'gateway.mtls.key',
  'gateway.tls.certificates.[].key',
  'identity.providers.*.discoveryUrl',
  'identity.providers.*.idTokenAudiences',
  'identity.providers.*.idTokenAudiences.[]',
  'identity.providers.*.maxTokenBytes',
  'identity.providers.*.maxTokenLifetimeSeconds',
  'identity.providers.*.tokenType',
  'identity.sessions.secrets.[]',
  'identity.tokenCache',
  'routes.*.allow.originalUrlHeaders',
  'routes.*.bearer.acceptIdTokens',
  'routes.*.cors.exposeHeaders',
  'routes.*.cors.exposeHeaders.[]',
  'routes.*.cors.headers',
  'routes.*.cors.headers.[]',
  'routes.*.resource.attributes.url',
  'routes.*.responseHeaders',
  'telemetry.tracing.headers.*',
  'upstreams.*.caller.plainHeaders',
  'upstreams.*.credentials.tokenUrl',
  'upstreams.*.tls.key',
]);

const s = (key: string): string => SECRETS[key] ?? assert.fail(`no sentinel for ${key}`);
const pw = (scheme: string, key: string) => `${scheme}://cortex:${s(key)}@db.internal:5432/cortex`;

const config = baseConfigSchema.parse({
  version: 1,
  admin: {
    token: s('admin.token'),
    login: { provider: 'corp', clientId: 'cortex-admin', clientSecret: s('admin.login.clientSecret'), redirectUri: 'http://127.0.0.1:9901/auth/callback', sessionSecret: s('admin.login.sessionSecret') },
  },
  identity: {
    providers: {
      corp: { issuer: 'https://idp.example.com', audiences: ['api'], introspection: { clientId: 'cortex', clientSecret: s('identity.providers.*.introspection.clientSecret') } },
    },
    sessions: {
      provider: 'corp',
      clientId: 'cortex-web',
      clientSecret: s('identity.sessions.clientSecret'),
      redirectUri: 'https://gw.example.com/.cortex/callback',
      secrets: [s('identity.sessions.secrets')],
      store: { type: 'redis', url: `redis://:${s('identity.sessions.store.url')}@redis.internal:6379/0` },
    },
    apiKeys: { store: { type: 'postgres', url: pw('postgres', 'identity.apiKeys.store.url') }, hmacSecret: s('identity.apiKeys.hmacSecret') },
  },
  credentials: {
    signingKeys: { encryptionKey: s('credentials.signingKeys.encryptionKey'), store: { type: 'postgres', url: pw('postgres', 'credentials.signingKeys.store.url') } },
    tokenExchange: {
      clients: { assistant: { secret: s('credentials.tokenExchange.clients.*.secret') } },
      grants: { type: 'postgres', url: pw('postgresql', 'credentials.tokenExchange.grants.url') },
      revocations: { type: 'redis', url: `rediss://default:${s('credentials.tokenExchange.revocations.url')}@redis.internal:6380` },
    },
  },
  audit: { sinks: [{ type: 'postgres', url: pw('postgres', 'audit.sinks.[].url') }] },
  upstreams: {
    orders: {
      url: `http://svc:${s('upstreams.*.url')}@orders.internal:8080`,
      credentials: { type: 'header', name: 'x-upstream-key', secret: { value: s('upstreams.*.credentials.secret') } },
    },
    billing: {
      url: 'http://billing.internal',
      credentials: { type: 'oauth2', tokenUrl: 'https://billing-idp.example.com/token', clientId: 'cortex', clientSecret: { value: s('upstreams.*.credentials.clientSecret') } },
    },
  },
  routes: {
    orders: { match: { prefix: '/orders/' }, upstream: 'orders', requestHeaders: { set: { authorization: `Basic ${s('routes.*.requestHeaders')}`, 'x-team': 'blue' } } },
  },
  telemetry: { tracing: { otlpEndpoint: 'https://otlp.example.com/v1/traces', headers: { 'x-honeycomb-team': s('telemetry.tracing.headers') } } },
});

void test('no secret of the config survives redaction', () => {
  const shown = JSON.stringify(redactSecrets(config));
  for (const [path, sentinel] of Object.entries(SECRETS)) assert.ok(!shown.includes(sentinel), `${path} is shown`);
  assert.ok(JSON.stringify(config).includes(s('telemetry.tracing.headers')), 'the sentinels are in the parsed config');
});

void test('what is not secret stays readable, and URLs keep their host', () => {
  const shown = redactSecrets(config) as typeof config;
  assert.equal(shown.routes.orders?.requestHeaders?.set['x-team'], 'blue');
  assert.equal(shown.credentials.signingKeys.algorithm, 'ES256');
  assert.equal(shown.credentials.tokenExchange?.audience, 'cortex-gateway');
  assert.equal(shown.upstreams.orders?.url, `http://${REDACTED}@orders.internal:8080`);
  assert.equal(shown.upstreams.orders?.credentials?.type, 'header');
  assert.equal(shown.identity.sessions?.cookie.name, 'cortex_session');
  assert.deepEqual(shown.telemetry.tracing?.headers, { 'x-honeycomb-team': REDACTED });
});

void test('a password in a connection string query is redacted', () => {
  assert.deepEqual(redactSecrets({ url: 'postgres://db/cortex?sslmode=require&password=hunter2' }), { url: `postgres://db/cortex?sslmode=require&password=${REDACTED}` });
  assert.deepEqual(redactSecrets({ dsn: 'host=db user=cortex password=hunter2 dbname=x' }), { dsn: `host=db user=cortex password=${REDACTED} dbname=x` });
});

function namedLikeSecrets(): string[] {
  const schema = JSON.parse(readFileSync(join(ROOT, 'schema/cortex.schema.json'), 'utf8')) as unknown;
  const found = new Set<string>();
  const walk = (node: unknown, path: string[], depth: number): void => {
    if (node === null || typeof node !== 'object' || depth > 40) return;
    const n = node as Record<string, unknown>;
    for (const k of ['anyOf', 'oneOf', 'allOf']) if (Array.isArray(n[k])) for (const m of n[k] as unknown[]) walk(m, path, depth + 1);
    if (n.properties !== undefined) for (const [k, v] of Object.entries(n.properties as Record<string, unknown>)) walk(v, [...path, k], depth + 1);
    if (typeof n.additionalProperties === 'object') walk(n.additionalProperties, [...path, '*'], depth + 1);
    if (n.items !== undefined) walk(n.items, [...path, '[]'], depth + 1);
    const key = path.filter((p) => p !== '*' && p !== '[]').at(-1) ?? '';
    if (/secret|password|passphrase|token|key$|url$|headers/i.test(key)) found.add(path.join('.'));
  };
  walk(schema, [], 0);
  return [...found].sort();
}

void test('every field of the schema named like a secret is classified here', () => {
  const unclassified = namedLikeSecrets().filter((p) => !Object.hasOwn(SECRETS, p) && !NOT_SECRETS.has(p));
  assert.deepEqual(unclassified, [], 'add each to SECRETS (with a sentinel in the config above) or to NOT_SECRETS');
});
