// Token shaping: the dev IdP mints its access tokens with oidc-provider, then rewrites header and
// payload into a vendor's shape so Cortex's presets can be tested against what vendors really send.
// Subjects stay the demo names (alice) whatever the vendor, so tests read the same across shapes.
import type { JWTStructured, UnknownObject } from 'oidc-provider';
import type { DevClients, TokenShape } from './catalog.ts';

export interface ShapedToken {
  kind: string;
  accountId?: string | undefined;
  clientId?: string | undefined;
  scope?: string | undefined;
}

const scopeList = (scope: unknown): string[] => (typeof scope === 'string' && scope !== '' ? scope.split(' ') : []);

/**
 * Drops `aud` from the serialized token while keeping it set for oidc-provider, which refuses to
 * sign a JWT access token without an audience (Cognito access tokens have none).
 */
function hideAudience(payload: UnknownObject): void {
  Object.defineProperty(payload, 'aud', { value: payload.aud, enumerable: false, writable: true, configurable: true });
}

export function shapeAccessToken(shape: TokenShape, clients: DevClients, token: ShapedToken, jwt: JWTStructured): void {
  if (shape === 'generic') return;
  const p = jwt.payload;
  const user = token.accountId !== undefined;
  const clientId = String(p.client_id);
  const groups = Array.isArray(p.groups) ? (p.groups as string[]) : [];
  const clientRoles = clients[clientId]?.roles ?? [];
  const roles = user ? groups : clientRoles;
  delete p.groups;
  switch (shape) {
    // Okta (custom authorization server): header {kid, alg} with no typ; ver 1, jti "AT.…", cid
    // (client id), uid (user id, users only), scp as an array, groups from a groups claim rule.
    // Client-credentials tokens have sub = cid and no uid.
    case 'okta':
      jwt.header = { ...jwt.header, typ: undefined };
      Object.assign(p, { ver: 1, jti: `AT.${String(p.jti)}`, cid: clientId, scp: scopeList(p.scope) });
      if (user) Object.assign(p, { uid: `00u${String(p.sub)}`, groups: roles });
      delete p.scope;
      delete p.client_id;
      return;
    // Cognito: header {kid, alg} with no typ; NO aud; client_id, token_use "access", scope as a
    // string, cognito:groups and username for users, version 2, origin_jti, event_id, auth_time.
    // Client-credentials tokens have sub = client_id and no username or groups.
    case 'cognito':
      jwt.header = { ...jwt.header, typ: undefined };
      hideAudience(p);
      Object.assign(p, { token_use: 'access', version: 2, origin_jti: p.jti, scope: p.scope ?? (user ? 'openid email' : undefined) });
      if (user) Object.assign(p, { username: p.sub, 'cognito:groups': roles, auth_time: p.iat, event_id: p.jti });
      return;
    // Entra ID v2.0: header typ "JWT" (plus x5t in reality); ver "2.0", tid, oid, azp, azpacr,
    // roles (app roles), scp as a space-separated string on delegated tokens only, and
    // idtyp "app" with sub = oid on app-only (client-credentials) tokens.
    case 'entra':
      jwt.header = { ...jwt.header, typ: 'JWT' };
      Object.assign(p, { ver: '2.0', tid: '00000000-0000-4000-8000-00000000dev0', azp: clientId, azpacr: '1', roles });
      if (user) {
        Object.assign(p, { oid: `oid-${String(p.sub)}`, scp: typeof p.scope === 'string' ? p.scope : 'access_as_user', preferred_username: `${String(p.sub)}@example.com` });
      } else {
        Object.assign(p, { oid: `oid-${clientId}`, sub: `oid-${clientId}`, idtyp: 'app' });
      }
      delete p.scope;
      delete p.client_id;
      return;
    // Auth0: header typ "JWT"; azp (client id), scope string, permissions (RBAC "add permissions in
    // the access token"); client-credentials tokens have sub "<client>@clients" and gty "client-credentials".
    case 'auth0':
      jwt.header = { ...jwt.header, typ: 'JWT' };
      Object.assign(p, { azp: clientId, permissions: roles });
      if (!user) Object.assign(p, { sub: `${clientId}@clients`, gty: 'client-credentials' });
      delete p.client_id;
      return;
    // Keycloak: header typ "JWT"; payload typ "Bearer", azp, realm_access.roles, resource_access,
    // scope string, preferred_username; service accounts are "service-account-<client>" and carry
    // client_id.
    case 'keycloak':
      jwt.header = { ...jwt.header, typ: 'JWT' };
      Object.assign(p, {
        typ: 'Bearer',
        azp: clientId,
        realm_access: { roles },
        resource_access: { [clientId]: { roles: [] } },
        scope: p.scope ?? 'profile email',
        preferred_username: user ? p.sub : `service-account-${clientId}`,
      });
      if (user) delete p.client_id;
      return;
  }
}
