// The oidc-provider Provider behind the dev IdP (and the test IdP): demo people, dev clients, JWT
// access tokens for the gateway (RFC 9068), introspection, and a dev-only token grant.
// The grant `urn:cortex:dev:token` lets `cortex dev token` (client cortex-cli) ask for a person's
// token without a browser; it mints with oidc-provider's own AccessToken model and JWT format.
import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import Provider, { errors, type Client, type Configuration, type TokenEndpointGrantContext, type UnknownObject } from 'oidc-provider';
import {
  DEV_GRANT,
  GATEWAY_AUDIENCE,
  GATEWAY_RESOURCE,
  PEOPLE,
  RESOURCE_SCOPE,
  audienceResource,
  clientMetadata,
  person as findPerson,
  resourceServerInfo,
  type DevClients,
  type TokenShape,
  type WebClientUris,
} from './catalog.ts';
import { logoutSource, postLogoutSuccessSource, renderError } from './interactions.ts';
import type { SigningAlgorithm } from './keys.ts';
import { DevMemoryAdapter } from './memory-adapter.ts';
import { shapeAccessToken } from './shapes.ts';

export interface ProviderOptions {
  issuer: string;
  /** Private signing keys; the first one signs. */
  keys: JWK[];
  clients: DevClients;
  tokenShape: TokenShape;
  algorithm: SigningAlgorithm;
  accessTokenTtlSeconds?: number;
  /** Extra redirect and post-logout URIs for the web client (cortex-web). */
  web?: WebClientUris;
}

export function createDevProvider(o: ProviderOptions): Provider {
  const ttl = o.accessTokenTtlSeconds ?? 3600;
  const issuerPath = new URL(o.issuer).pathname.replace(/\/+$/, '');
  const webClients = Object.values(o.clients).filter((c) => c.kind === 'web').map((c) => c.clientId);
  const configuration: Configuration = {
    clients: Object.values(o.clients).map((c) => clientMetadata(c, o.algorithm, o.web)),
    clientDefaults: { id_token_signed_response_alg: o.algorithm },
    jwks: { keys: o.keys },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'], groups: ['groups'] },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups', ...RESOURCE_SCOPE.split(' ')],
    findAccount(_ctx, sub) {
      const person = findPerson(sub);
      if (person === undefined) return undefined;
      return {
        accountId: sub,
        claims: () => ({ sub, name: person.name, preferred_username: sub, email: person.email, email_verified: true, groups: person.groups }),
      };
    },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? ttl,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? ttl,
      IdToken: 3600,
      AuthorizationCode: 60,
      RefreshToken: 86_400,
      Grant: 86_400,
      Interaction: 600,
      Session: 86_400,
    },
    // The login pages are ours (interactions.ts), served by the IdP's server under the issuer's path.
    interactions: { url: (_ctx, interaction) => `${issuerPath}/interaction/${interaction.uid}` },
    // offline_access is dropped unless the request says prompt=consent, which a first-party web
    // client has no reason to send; the web client gets its refresh token all the same.
    issueRefreshToken: (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.kind === 'AuthorizationCode',
    renderError,
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource: logoutSource(webClients), postLogoutSuccessSource },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: (_ctx, client) => client.clientId === GATEWAY_AUDIENCE || client.clientAuthMethod !== 'none' },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? GATEWAY_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, identifier) => resourceServerInfo(identifier, ttl),
      },
    },
    extraTokenClaims(_ctx, token) {
      const extras = tokenExtras.get(token);
      const person = 'accountId' in token && token.accountId ? findPerson(token.accountId) : undefined;
      // preferred_username lets `cortex audit --user` find people by name in access-token events too.
      // A claim a caller of the dev grant gives as null is left out (tests of tokens without it).
      const claims = { ...(person ? { groups: person.groups, preferred_username: person.sub } : {}), ...(extras?.act ? { act: extras.act } : {}), ...extras?.claims };
      return Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== null));
    },
    formats: {
      customizers: {
        jwt(_ctx, token, jwt) {
          shapeAccessToken(o.tokenShape, o.clients, token, jwt);
          const overrides = tokenExtras.get(token)?.claims;
          if (overrides) Object.assign(jwt.payload, overrides);
        },
      },
    },
  };
  const provider = new Provider(o.issuer, { adapter: DevMemoryAdapter, ...configuration });
  registerDevGrant(provider, { clients: o.clients, ttl });
  return provider;
}

export interface DevGrantParams {
  subject?: string;
  actor?: string;
  audience?: string;
  resource?: string;
  scope?: string;
  claims?: string;
  ttl?: string;
  opaque?: string;
  token_kind?: string;
}

const PARAMS = ['subject', 'actor', 'audience', 'resource', 'scope', 'claims', 'ttl', 'opaque', 'token_kind'];

/** Per-token extras the grant hands to extraTokenClaims and the JWT customizer. */
const tokenExtras = new WeakMap<object, { act?: { sub: string }; claims?: UnknownObject }>();

function parseClaims(text: string | undefined): UnknownObject | undefined {
  if (text === undefined || text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new errors.InvalidRequest('claims must be a JSON object');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new errors.InvalidRequest('claims must be a JSON object');
  return value as UnknownObject;
}

function parseTtl(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const ttl = Number(text);
  if (!Number.isSafeInteger(ttl) || ttl < 1) throw new errors.InvalidRequest('ttl must be a positive integer (seconds)');
  return ttl;
}

async function issueIdToken(provider: Provider, ctx: TokenEndpointGrantContext<DevGrantParams>, subject: string): Promise<void> {
  const person = findPerson(subject);
  const web = await provider.Client.find('cortex-web');
  if (person === undefined || web === undefined) throw new errors.InvalidGrant('unknown subject');
  const claims = { sub: subject, name: person.name, preferred_username: subject, email: person.email, email_verified: true, groups: person.groups };
  const idToken = new provider.IdToken(claims, { ctx, client: web });
  (idToken as unknown as { scope: string }).scope = 'openid profile email groups';
  idToken.set('auth_time', Math.floor(Date.now() / 1000));
  ctx.body = { id_token: await idToken.issue({ use: 'idtoken' }), token_type: 'N_A' };
}

function registerDevGrant(provider: Provider, o: { clients: DevClients; ttl: number }): void {
  provider.registerGrantType<DevGrantParams>(
    DEV_GRANT,
    async (ctx) => {
      const p = ctx.oidc.params;
      const subject = p.subject;
      if (subject === undefined || findPerson(subject) === undefined) {
        throw new errors.InvalidRequest(`unknown subject '${subject ?? ''}' (known: ${Object.keys(PEOPLE).join(', ')}, and user-0001 ... for load tests)`);
      }
      if (p.token_kind === 'id_token') return issueIdToken(provider, ctx, subject);
      let client: Client = ctx.oidc.client;
      if (p.actor !== undefined && p.actor !== '') {
        const agent = o.clients[p.actor]?.kind === 'agent' ? await provider.Client.find(p.actor) : undefined;
        if (agent === undefined) {
          const agents = Object.values(o.clients).filter((c) => c.kind === 'agent').map((c) => c.clientId);
          throw new errors.InvalidRequest(`unknown agent '${p.actor}' (known: ${agents.join(', ')})`);
        }
        client = agent;
      }
      const ttl = parseTtl(p.ttl);
      const resource = p.resource ?? audienceResource(p.audience, p.opaque === 'true');
      const at = new provider.AccessToken({
        accountId: subject,
        client,
        gty: DEV_GRANT,
        scope: p.scope || undefined,
        resourceServer: new provider.ResourceServer(resource, resourceServerInfo(resource, o.ttl)),
        ...(ttl === undefined ? {} : { expiresIn: ttl }),
      } as ConstructorParameters<typeof provider.AccessToken>[0]);
      const claims = parseClaims(p.claims);
      tokenExtras.set(at, { ...(client === ctx.oidc.client ? {} : { act: { sub: client.clientId } }), ...(claims ? { claims } : {}) });
      const value = await at.save();
      ctx.body = { access_token: value, token_type: 'Bearer', expires_in: at.expiration, ...(at.scope ? { scope: at.scope } : {}) };
    },
    PARAMS,
  );
}
