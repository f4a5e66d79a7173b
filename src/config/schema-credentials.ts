// The credentials section of the config schema: Cortex's own signing keys (a ring that rotates),
// the identity assertion it signs for upstreams, and the RFC 8693 token exchange that mints
// short-lived delegated tokens for agents. Per-upstream settings live in schema-upstream.ts.
import { z } from 'zod';
import { durationMs } from './schema-common.ts';

const DAY_MS = 86_400_000;

const keyStore = z
  .discriminatedUnion('type', [
    z
      .strictObject({ type: z.literal('memory') })
      .describe('This process only (the default): new keys at every start; fine for one instance whose assertions need not outlive a restart.'),
    z
      .strictObject({
        type: z.literal('file'),
        path: z.string().min(1).default('.cortex/keys/signing-keys.json').describe('The key ring file (private keys encrypted); relative to the working directory.'),
      })
      .describe('One host: the ring in a file.'),
    z
      .strictObject({
        type: z.literal('postgres'),
        url: z.string().min(1).describe('postgres:// connection string (use ${ENV_VAR} for the password).'),
        table: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('cortex_signing_keys').describe('Table the ring lives in (created if missing).'),
      })
      .describe('A fleet: every instance signs with the same ring, rotated once for all.'),
  ])
  .describe('Where the key ring is kept.');

const signingKeys = z
  .strictObject({
    algorithm: z.enum(['ES256', 'EdDSA', 'RS256']).default('ES256').describe('Algorithm of new keys. A change applies from the next rotation.'),
    store: keyStore.default({ type: 'memory' }),
    encryptionKey: z
      .string()
      .min(32)
      .optional()
      .describe('Key-encryption key for the private keys at rest (AES-256-GCM; 32 bytes as base64 or hex, or a passphrase of 32+ characters). Use ${ENV_VAR}. A file or postgres store needs one of encryptionKey or encryptionKeyFile.'),
    encryptionKeyFile: z.string().min(1).optional().describe('A file holding the key-encryption key, instead of encryptionKey.'),
    rotateEveryMs: z.number().int().min(60_000).max(90 * DAY_MS).default(DAY_MS).describe('How long a key signs before the next takes over (daily by default).'),
    publishAheadMs: durationMs
      .default(3_600_000)
      .describe('How long the next key is published in the JWKS before it signs, so verifiers that cache the JWKS already know it.'),
    retainPublicMs: z
      .number()
      .int()
      .min(DAY_MS)
      .default(400 * DAY_MS)
      .describe('How long a retired key\'s public half stays known after it stopped signing, so audit checkpoints it signed still verify. It leaves the published JWKS once no token it signed can be valid.'),
  })
  .refine((s) => !(s.encryptionKey !== undefined && s.encryptionKeyFile !== undefined), 'give one of encryptionKey or encryptionKeyFile')
  .refine((s) => s.store.type === 'memory' || s.encryptionKey !== undefined || s.encryptionKeyFile !== undefined, {
    message: 'a file or postgres store keeps private keys at rest: give encryptionKey (${ENV_VAR}) or encryptionKeyFile',
    path: ['encryptionKey'],
  })
  .describe("Cortex's own signing keys: generated, encrypted at rest, rotated with overlap, published as a JWKS at /.cortex/jwks.json (and /jwks.json on the admin listener).");

/** The parsed credentials.signingKeys section (what src/credentials/key-ring.ts takes). */
export type SigningKeysConfig = z.infer<typeof signingKeys>;

const assertion = z
  .strictObject({
    header: z
      .string()
      .regex(/^cortex-[a-z0-9-]+$/, 'a cortex- header name (Cortex strips every cortex- header a client sends)')
      .default('cortex-assertion')
      .describe('Request header the assertion travels in.'),
    lifetimeSeconds: z.number().int().min(10).max(3600).default(60).describe('exp - iat of an assertion. One is reused for the same identity and upstream until less than half of it remains.'),
  })
  .describe('The signed identity assertion sent to upstreams (a JWT: iss, aud = the upstream, sub, kind, act for an agent\'s person, roles, iat, exp, jti).');

const exchangeClient = z
  .strictObject({
    secret: z.string().min(16).optional().describe('The agent\'s client secret for the token endpoint (client_secret_basic or client_secret_post). Use ${ENV_VAR}.'),
    provider: z
      .string()
      .optional()
      .describe('Instead of a secret, the agent may authenticate with an actor_token: an access token this identity provider issued to the agent client (client credentials).'),
  })
  .refine((c) => c.secret !== undefined || c.provider !== undefined, 'give a secret, or a provider whose actor tokens authenticate the agent')
  .describe('An agent client allowed to exchange tokens.');

const tokenExchange = z
  .strictObject({
    lifetimeSeconds: z.number().int().min(30).max(3600).default(300).describe('Longest lifetime of a delegated token; never longer than the user\'s token.'),
    audience: z.string().min(1).default('cortex-gateway').describe('aud of delegated tokens: what routes accept them as.'),
    clients: z.record(z.string().min(1), exchangeClient).default({}).describe('Agent clients (ids as in identity.providers.*.agents) that may exchange a user\'s token for a delegated one.'),
    grants: z
      .discriminatedUnion('type', [
        z.strictObject({ type: z.literal('sqlite'), path: z.string().min(1).default('.cortex/agent-grants.db') }),
        z.strictObject({ type: z.literal('postgres'), url: z.string().min(1), table: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('cortex_agent_grants') }),
      ])
      .default({ type: 'sqlite', path: '.cortex/agent-grants.db' })
      .describe('Where users\' grants to agents (consent) are recorded.'),
    revocations: z
      .discriminatedUnion('type', [
        z.strictObject({ type: z.literal('memory') }),
        z.strictObject({ type: z.literal('redis'), url: z.string().min(1), keyPrefix: z.string().default('cortex:revoked:') }),
      ])
      .default({ type: 'memory' })
      .describe('Where revocations of delegated tokens (by jti, agent or user) are kept: memory on one host, Redis for a fleet.'),
  })
  .describe('RFC 8693 token exchange at /.cortex/token: an agent trades a user\'s token for a short-lived delegated one, scoped to what both hold.');

export const credentials = z
  .strictObject({
    issuer: z
      .string()
      .url()
      .optional()
      .describe("iss of what Cortex signs (assertions, delegated tokens): the gateway's public base URL. http://<gateway.listen> when unset."),
    signingKeys: signingKeys.prefault({}),
    assertion: assertion.prefault({}),
    tokenExchange: tokenExchange.optional(),
  })
  .describe('What Cortex signs: the identity assertion for upstreams and delegated tokens for agents, with keys it rotates.');

/** Per upstream: what Cortex tells it about the caller, and the credentials it adds on the way out. */
export const upstreamIdentity = z
  .strictObject({
    assertion: z.boolean().default(true).describe('Send the signed identity assertion (aud = audience).'),
    audience: z.string().min(1).optional().describe('aud of the assertion; the upstream\'s name when unset.'),
    plainHeaders: z
      .boolean()
      .default(false)
      .describe('Also send cortex-user, cortex-kind, cortex-roles, cortex-acting-for and cortex-provider as plain headers, for services that cannot verify a JWT. They are only as trustworthy as the network between Cortex and the upstream.'),
    forwardAuthorization: z
      .boolean()
      .default(false)
      .describe("Forward the caller's Authorization header. Off: the upstream learns who is calling from the assertion, and the caller's token goes no further."),
  })
  .prefault({})
  .describe('What the upstream learns about the caller.');

const secretValue = z
  .strictObject({
    value: z.string().min(1).optional().describe('The value (use ${ENV_VAR}).'),
    file: z.string().min(1).optional().describe('A file holding the value (trailing newline trimmed); re-read when it changes, no restart needed.'),
  })
  .refine((s) => (s.value === undefined) !== (s.file === undefined), 'exactly one of value or file');

export const upstreamCredentials = z
  .discriminatedUnion('type', [
    z
      .strictObject({
        type: z.literal('header'),
        name: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/).default('authorization').describe('Header to set.'),
        prefix: z.string().default('').describe('Text before the secret (e.g. "Bearer ").'),
        secret: secretValue,
      })
      .describe('A static header from the environment or a file.'),
    z
      .strictObject({
        type: z.literal('oauth2'),
        tokenUrl: z.url({ protocol: /^https?$/ }).describe("The upstream IdP's token endpoint."),
        clientId: z.string().min(1),
        clientSecret: secretValue,
        scope: z.string().optional(),
        audience: z.string().optional(),
        refreshBeforeSeconds: z.number().int().min(0).max(3600).default(60).describe('Fetch a new token this long before the cached one expires.'),
      })
      .describe('An OAuth2 client-credentials token from the upstream\'s own IdP, cached until near expiry, sent as Authorization: Bearer.'),
  ])
  .describe('Credentials Cortex adds on the way to this upstream.');
