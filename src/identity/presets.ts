// Each vendor's real token shape, so that a provider is configured by naming its vendor.
// docs/identity-providers.md shows an example config for each and says where these facts come from.
import type { Preset } from '../config/schema-identity.ts';

type Claims = Readonly<Record<string, unknown>>;

export interface PresetShape {
  /** Where groups, roles or scopes live (a dotted path). */
  rolesClaim: string;
  algorithms: readonly string[];
  /** Required `typ` header of access tokens; '' accepts any. */
  tokenType: string;
  /** The claim an access token's audience is checked against. */
  audienceClaim: 'aud' | 'client_id';
  /** Claims naming the OAuth client the token was issued to, in order of preference. */
  clientIdClaims: readonly string[];
  /** A token this vendor issues as an ID token (refused as an access token). */
  isIdToken(claims: Claims): boolean;
  /** A token issued to a client for itself, with no person behind it. */
  isServiceToken(claims: Claims, clientId: string | undefined): boolean;
  /** How opaque tokens are checked. */
  opaque: 'rfc7662' | 'google-tokeninfo';
}

// OIDC Core §2 / §3.1.3.6: claims only ID tokens carry. An access token has none of them.
const ID_TOKEN_ONLY = ['nonce', 'at_hash', 'c_hash', 's_hash'] as const;
const hasIdTokenMarkers = (c: Claims): boolean => ID_TOKEN_ONLY.some((k) => c[k] !== undefined);
const subIsClient = (c: Claims, clientId: string | undefined): boolean =>
  c.sub === undefined || (clientId !== undefined && c.sub === clientId);

const ASYMMETRIC_DEFAULT = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA', 'Ed25519'] as const;

const generic: PresetShape = {
  rolesClaim: 'groups',
  algorithms: ASYMMETRIC_DEFAULT,
  tokenType: '',
  audienceClaim: 'aud',
  // RFC 9068 §2.2 names client_id; OIDC providers often put the client in azp.
  clientIdClaims: ['client_id', 'azp'],
  isIdToken: hasIdTokenMarkers,
  // RFC 9068 §2.2: a token with no resource owner has the client's id as its subject.
  isServiceToken: subIsClient,
  opaque: 'rfc7662',
};

export const PRESETS: Readonly<Record<Preset, PresetShape>> = {
  generic,
  // Okta org and custom authorization servers: access tokens carry cid (client), uid (user) and
  // scp; ID tokens have no cid. A client-credentials token's sub is the client id.
  okta: {
    ...generic,
    algorithms: ['RS256'],
    clientIdClaims: ['cid'],
    isIdToken: (c) => hasIdTokenMarkers(c) || c.cid === undefined,
    isServiceToken: subIsClient,
  },
  // Cognito user pools: access tokens have no aud; client_id names the app client, and
  // token_use is 'access' (ID tokens say 'id'). Client-credentials tokens have no username.
  cognito: {
    ...generic,
    rolesClaim: 'cognito:groups',
    algorithms: ['RS256'],
    audienceClaim: 'client_id',
    clientIdClaims: ['client_id'],
    isIdToken: (c) => c.token_use !== 'access',
    isServiceToken: (c) => c.username === undefined,
  },
  // Entra ID v2 endpoints: app roles in roles; azp names the client; idtyp 'app' marks an
  // app-only (client-credentials) token. Access tokens name their client (azp in v2, appid in v1);
  // ID tokens never do, and carry a nonce only when the login sent one.
  entra: {
    ...generic,
    rolesClaim: 'roles',
    algorithms: ['RS256'],
    clientIdClaims: ['azp', 'appid'],
    isIdToken: (c) => hasIdTokenMarkers(c) || (c.azp === undefined && c.appid === undefined),
    isServiceToken: (c) => c.idtyp === 'app',
  },
  // Auth0: RBAC permissions in permissions; machine-to-machine tokens say gty client-credentials
  // and have sub '<client id>@clients'. Access tokens name their client (azp, or client_id in the
  // RFC 9068 profile); ID tokens do not, and carry a nonce only when the login sent one.
  auth0: {
    ...generic,
    rolesClaim: 'permissions',
    algorithms: ['RS256'],
    clientIdClaims: ['azp', 'client_id'],
    isIdToken: (c) => hasIdTokenMarkers(c) || (c.azp === undefined && c.client_id === undefined),
    isServiceToken: (c) => c.gty === 'client-credentials',
  },
  // Keycloak: realm roles under realm_access.roles; the payload's own typ claim says Bearer for
  // access tokens and ID for ID tokens; service-account users are named service-account-<client>.
  keycloak: {
    ...generic,
    rolesClaim: 'realm_access.roles',
    algorithms: ['RS256'],
    clientIdClaims: ['azp', 'client_id'],
    isIdToken: (c) => hasIdTokenMarkers(c) || (c.typ !== undefined && c.typ !== 'Bearer'),
    isServiceToken: (c) => typeof c.preferred_username === 'string' && c.preferred_username.startsWith('service-account-'),
  },
  // Google: access tokens are opaque (checked with the token-info endpoint); signed tokens are
  // ID tokens, accepted only as workload identities where a route allows it. Service accounts'
  // emails end in gserviceaccount.com.
  google: {
    ...generic,
    rolesClaim: 'scope',
    algorithms: ['RS256'],
    clientIdClaims: ['azp', 'aud'],
    isIdToken: () => true,
    isServiceToken: (c) => typeof c.email === 'string' && c.email.endsWith('.gserviceaccount.com'),
    opaque: 'google-tokeninfo',
  },
};

export const GOOGLE_TOKENINFO_ENDPOINT = 'https://oauth2.googleapis.com/tokeninfo';
