// The identity section of the config schema: OIDC providers whose tokens Cortex accepts.
import { z } from 'zod';
import { apiKeys, sessions } from './schema-access.ts';
import { durationMs } from './schema-common.ts';

export const PRESETS = ['generic', 'okta', 'cognito', 'entra', 'auth0', 'keycloak', 'google'] as const;
export type Preset = (typeof PRESETS)[number];

// Asymmetric only: a symmetric algorithm would let anyone holding a public key forge tokens
// (RS/HS confusion), and `none` is never a signature.
export const TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

const secret = z.string().min(1);

const roles = z
  .strictObject({
    claim: z
      .string()
      .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'a claim name, or a dotted path such as realm_access.roles')
      .optional()
      .describe("Claim holding the caller's groups, roles or scopes (a dotted path reaches into objects, e.g. realm_access.roles). A space-separated string (scope) counts as a list. The preset's claim when unset."),
    map: z
      .record(z.string(), z.array(z.string().min(1)))
      .default({})
      .describe("Claim value → Cortex roles. Give each stage its own mapping under stages.<stage>.identity.providers.<name>.roles.map (arrays replace, so a stage's list for a value replaces the base list; null removes the value)."),
    keepUnmapped: z
      .boolean()
      .default(false)
      .describe('Also keep claim values that map lists no entry for, as roles of the same name.'),
  })
  .prefault({})
  .describe('How token claims become Cortex roles.');

const clientRoles = z
  .record(z.string().min(1), z.strictObject({ roles: z.array(z.string().min(1)).default([]).describe('Roles this client holds itself.') }))
  .default({});

export const provider = z
  .strictObject({
    preset: z
      .enum(PRESETS)
      .default('generic')
      .describe("The vendor's token shape: where roles live, which claim carries the audience, how ID tokens and service tokens are told apart. See docs/identity-providers.md."),
    issuer: z
      .url({ protocol: /^https?$/ })
      .describe("The issuer URL, exactly as the provider writes it in `iss`. For Entra ID's multi-tenant endpoint write {tenantid} where the tenant goes (https://login.microsoftonline.com/{tenantid}/v2.0) and list the tenants."),
    tenants: z
      .array(z.string().min(1))
      .optional()
      .describe('With an issuer containing {tenantid}: the tenant ids accepted. Required there, so that a multi-tenant app never accepts every tenant by accident.'),
    discoveryUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('OpenID discovery document; <issuer>/.well-known/openid-configuration when unset.'),
    jwksUri: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe("The provider's key set; taken from discovery when unset."),
    audiences: z
      .array(z.string().min(1))
      .default([])
      .describe("Audiences accepted from this provider, unless the upstream's `audience` or the route's `bearer.audiences` say otherwise. For Cognito these are app client ids (checked against client_id)."),
    algorithms: z
      .array(z.enum(TOKEN_ALGORITHMS))
      .min(1)
      .optional()
      .describe("Signature algorithms accepted (asymmetric only; never none or HS*). The preset's list when unset."),
    tokenType: z
      .string()
      .optional()
      .describe("Required `typ` header of access tokens (at+jwt for RFC 9068 providers). The preset's when unset; '' accepts any."),
    clockSkewSeconds: z.number().int().min(0).max(300).default(30).describe('Tolerance for exp, nbf and iat.'),
    maxTokenLifetimeSeconds: z
      .number()
      .int()
      .min(60)
      .max(31_536_000)
      .default(86_400)
      .describe('Longest lifetime (exp - iat) a token may claim; longer-lived tokens are refused.'),
    maxTokenBytes: z.number().int().min(256).max(65_536).default(8_192).describe('Largest token accepted, in bytes.'),
    roles,
    services: clientRoles.describe('Clients that are services (client-credentials tokens), by client id, with their roles. A token without a user is a service token whether listed or not.'),
    agents: clientRoles.describe("Clients that are AI agents, by client id, with the agent's own roles. A token from one of them for a user, or with an RFC 8693 act claim, is an agent acting for that user."),
    introspection: z
      .strictObject({
        clientId: z.string().min(1).optional().describe('Client id Cortex authenticates to the introspection endpoint with (client_secret_basic). Required except for the google preset, whose token-info endpoint takes no client credentials.'),
        clientSecret: secret.optional().describe('Its secret (use ${ENV_VAR}).'),
        endpoint: z.url({ protocol: /^https?$/ }).optional().describe("RFC 7662 endpoint; from discovery when unset. The google preset uses Google's token-info endpoint instead."),
        maxCacheSeconds: z.number().int().min(0).max(3_600).default(60).describe('Longest an introspection answer is reused (never past the token\'s exp); 0 asks every time.'),
        timeoutMs: durationMs.default(5_000),
        maxInFlight: z
          .number()
          .int()
          .min(1)
          .max(10_000)
          .default(64)
          .describe('Introspection requests in flight at once; beyond it a never-seen opaque token gets 503 authn.provider_unavailable, so a flood of made-up tokens cannot hammer the provider.'),
      })
      .optional()
      .describe('Opaque (non-JWT) tokens are checked with the provider (RFC 7662 introspection). Without it, opaque tokens from this provider are refused.'),
    idTokenAudiences: z
      .array(z.string().min(1))
      .default([])
      .describe("Audiences of ID tokens accepted as workload identities (Google service accounts), only on routes with bearer.acceptIdTokens: true."),
    keys: z
      .strictObject({
        refreshIntervalMs: durationMs.default(600_000).describe('How often the key set is refetched.'),
        unknownKeyRefetchMinIntervalMs: durationMs
          .default(30_000)
          .describe('A token signed with an unknown kid triggers a refetch at most this often, so a flood of made-up kids cannot hammer the provider.'),
        timeoutMs: durationMs.default(5_000).describe('Timeout for discovery and key set requests.'),
      })
      .prefault({})
      .describe('Fetching and caching the provider\'s signing keys.'),
  })
  .describe('An OpenID Connect provider whose access tokens Cortex accepts.');

export const identity = z
  .strictObject({
    providers: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]+$/), provider)
      .default({})
      .describe('Providers by name (letters, digits, _ . -).'),
    tokenCache: z
      .strictObject({
        maxEntries: z
          .number()
          .int()
          .min(0)
          .max(10_000_000)
          .default(100_000)
          .describe('Verified tokens remembered (by digest, until exp, dropped when their key leaves the key set), so a repeated token costs no signature check; 0 turns the cache off.'),
      })
      .prefault({})
      .describe('The cache of verified tokens.'),
    sessions: sessions.optional(),
    apiKeys: apiKeys.optional(),
  })
  .describe('Who may call: identity providers and how their tokens map to Cortex identities.');

export const routeBearer = z
  .strictObject({
    providers: z.array(z.string().min(1)).min(1).optional().describe('Providers whose tokens this route accepts; all of them when unset.'),
    audiences: z.array(z.string().min(1)).min(1).optional().describe("Audiences accepted here, replacing the upstream's audience and the providers' audiences."),
    acceptIdTokens: z
      .boolean()
      .default(false)
      .describe("Also accept ID tokens whose audience is in the provider's idTokenAudiences (Google workload identities). Off: an ID token is never an access token."),
  })
  .describe('Bearer token options for this route.');

export type ProviderConfig = z.infer<typeof provider>;
export type IdentityConfig = z.infer<typeof identity>;
