// Who exists in the dev identity provider: demo people (subject = name) and the dev clients.
import type { ClientMetadata, ResourceServer } from 'oidc-provider';

export const TOKEN_SHAPES = ['generic', 'okta', 'cognito', 'entra', 'auth0', 'keycloak'] as const;
export type TokenShape = (typeof TOKEN_SHAPES)[number];

/** The audience of every default access token, and the client id Cortex introspects with. */
export const GATEWAY_AUDIENCE = 'cortex-gateway';
/** Resource indicator of the default (JWT) resource; its audience is GATEWAY_AUDIENCE. */
export const GATEWAY_RESOURCE = 'urn:cortex:gateway';
/** Resource indicator whose tokens are opaque (same audience), for introspection. */
export const OPAQUE_RESOURCE = 'urn:cortex:gateway:opaque';
/** Any other audience is asked for as `urn:cortex:audience:<audience>` (or an absolute URI, used as is). */
export const AUDIENCE_RESOURCE_PREFIX = 'urn:cortex:audience:';
export const DEV_GRANT = 'urn:cortex:dev:token';

export interface Person {
  sub: string;
  name: string;
  email: string;
  groups: string[];
}

export const PEOPLE: Record<string, Person> = {
  alice: { sub: 'alice', name: 'Alice Admin', email: 'alice@example.com', groups: ['admins'] },
  bob: { sub: 'bob', name: 'Bob Buyer', email: 'bob@example.com', groups: ['customers'] },
  carol: { sub: 'carol', name: 'Carol Support', email: 'carol@example.com', groups: ['support'] },
};

/** A demo person, or one of the numbered customers (user-0001 ...) that load tests sign in as. */
export function person(sub: string): Person | undefined {
  if (Object.hasOwn(PEOPLE, sub)) return PEOPLE[sub];
  return /^user-\d{1,6}$/.test(sub) ? { sub, name: sub, email: `${sub}@example.com`, groups: ['customers'] } : undefined;
}

export type ClientKind = 'web' | 'admin' | 'service' | 'agent' | 'cli' | 'gateway';

export interface DevClient {
  clientId: string;
  clientSecret: string;
  kind: ClientKind;
  /** App roles a service or agent holds itself (Entra `roles`, Keycloak realm roles, Auth0 permissions). */
  roles: string[];
}

export type DevClients = Record<string, DevClient>;

/** Where the web client may be sent back to by default: `cortex dev`'s gateway on its default port. */
export const WEB_REDIRECT_URIS = ['http://localhost:8080/.cortex/callback', 'http://127.0.0.1:8080/.cortex/callback'];
export const WEB_POST_LOGOUT_REDIRECT_URIS = ['http://localhost:8080/', 'http://127.0.0.1:8080/'];
/** Where the admin login client (cortex-admin) may be sent back to by default: `cortex dev`'s admin listener. */
export const ADMIN_REDIRECT_URIS = ['http://127.0.0.1:9901/auth/callback', 'http://localhost:9901/auth/callback'];

/** Extra URIs for the web client (a gateway on another port); the defaults stay registered. */
export interface WebClientUris {
  redirectUris?: readonly string[] | undefined;
  postLogoutRedirectUris?: readonly string[] | undefined;
  /** Extra redirect URIs for the admin login client (cortex-admin): an admin listener on another port. */
  adminRedirectUris?: readonly string[] | undefined;
}

const CLIENT_KINDS: Record<string, { kind: ClientKind; roles: string[] }> = {
  'cortex-web': { kind: 'web', roles: [] },
  'cortex-admin': { kind: 'admin', roles: [] },
  reporting: { kind: 'service', roles: ['reports.read'] },
  assistant: { kind: 'agent', roles: ['orders.read'] },
  'cortex-cli': { kind: 'cli', roles: [] },
  [GATEWAY_AUDIENCE]: { kind: 'gateway', roles: [] },
};

/** The dev clients, with `secretFor(id)` deciding each secret (random and persisted, or fixed). */
export function devClients(secretFor: (clientId: string) => string): DevClients {
  const out: DevClients = {};
  for (const [clientId, c] of Object.entries(CLIENT_KINDS)) out[clientId] = { clientId, clientSecret: secretFor(clientId), ...c };
  return out;
}

export function clientMetadata(c: DevClient, algorithm: 'RS256' | 'ES256', web: WebClientUris = {}): ClientMetadata {
  const base = { client_id: c.clientId, client_secret: c.clientSecret, id_token_signed_response_alg: algorithm };
  switch (c.kind) {
    case 'web':
      return {
        ...base,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [...new Set([...WEB_REDIRECT_URIS, ...(web.redirectUris ?? [])])],
        post_logout_redirect_uris: [...new Set([...WEB_POST_LOGOUT_REDIRECT_URIS, ...(web.postLogoutRedirectUris ?? [])])],
      };
    case 'admin':
      return { ...base, grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: [...new Set([...ADMIN_REDIRECT_URIS, ...(web.adminRedirectUris ?? [])])] };
    case 'cli':
      return { ...base, grant_types: [DEV_GRANT], response_types: [], redirect_uris: [] };
    default:
      return { ...base, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] };
  }
}

export function isAgent(clients: DevClients, id: string): boolean {
  return clients[id]?.kind === 'agent';
}

export const RESOURCE_SCOPE = 'orders.read orders.write reports.read';

/** Resource indicator → resource server; the audience rides in the indicator for non-default ones. */
export function resourceServerInfo(identifier: string, ttl: number): ResourceServer {
  const base = { scope: RESOURCE_SCOPE, accessTokenTTL: ttl };
  if (identifier === GATEWAY_RESOURCE) return { ...base, audience: GATEWAY_AUDIENCE, accessTokenFormat: 'jwt' };
  if (identifier === OPAQUE_RESOURCE) return { ...base, audience: GATEWAY_AUDIENCE, accessTokenFormat: 'opaque' };
  const audience = identifier.startsWith(AUDIENCE_RESOURCE_PREFIX) ? identifier.slice(AUDIENCE_RESOURCE_PREFIX.length) : identifier;
  return { ...base, audience, accessTokenFormat: 'jwt' };
}

export function audienceResource(audience: string | undefined, opaque = false): string {
  if (opaque) return OPAQUE_RESOURCE;
  if (audience === undefined || audience === GATEWAY_AUDIENCE) return GATEWAY_RESOURCE;
  return URL.canParse(audience) && !audience.startsWith(AUDIENCE_RESOURCE_PREFIX) && audience.includes(':') ? audience : AUDIENCE_RESOURCE_PREFIX + audience;
}

