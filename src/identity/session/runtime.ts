// Browser login sessions, assembled: the store, the cookie signer, the OpenID client (discovered
// beside the data plane), the session authenticator the authn filter calls, and /.cortex/ endpoints.
import type { Logger } from 'pino';
import type { SessionsConfig } from '../../config/schema.ts';
import type { RequestContext } from '../../gateway/types.ts';
import { createSessionStore } from '../../stores/create-session-store.ts';
import type { InternalEndpoint, SessionAuthenticator } from '../authenticator.ts';
import type { CompiledProvider } from '../provider.ts';
import { LOGIN_COOKIE, createSigner, hasCookie, withoutCookies } from './cookies.ts';
import { createEndpoints } from './endpoints.ts';
import { createOidcClient } from './oidc.ts';
import { createSessions } from './sessions.ts';

export interface SessionRuntimeDeps {
  log: Logger;
  /** The session provider as compiled into the current snapshot (its role mapping and keys). */
  provider: () => CompiledProvider | undefined;
  now?: () => number;
}

export interface SessionRuntime {
  authenticator: SessionAuthenticator;
  /** /.cortex/login, /.cortex/callback, /.cortex/logout, /.cortex/me */
  endpoints: InternalEndpoint[];
  /** True once the provider's metadata (discovery) has been fetched and the store is connected. */
  ready(): boolean;
  close(): Promise<void>;
}

export function createSessionRuntime(cfg: SessionsConfig, deps: SessionRuntimeDeps): SessionRuntime {
  const now = deps.now ?? Date.now;
  const log = deps.log;
  const store = createSessionStore(cfg.store, { log, now });
  const signer = createSigner(cfg.secrets);
  const client = createOidcClient(cfg, { log, provider: deps.provider });
  const sessions = createSessions({ cfg, store, signer, client, provider: deps.provider, log, now });
  const origins: ReadonlySet<string> = new Set([new URL(cfg.redirectUri).origin.toLowerCase()]);
  const cookieName = cfg.cookie.name;
  const ownCookies: ReadonlySet<string> = new Set([cookieName, LOGIN_COOKIE]);

  const authenticator: SessionAuthenticator = {
    method: 'session',
    origins,
    present: (ctx: RequestContext) => hasCookie(ctx.req.headers.cookie, cookieName),
    async authenticate(ctx: RequestContext) {
      const found = await sessions.lookup(ctx.req.headers.cookie);
      if (!found.ok) return found;
      // The session cookie is a credential for this gateway only: the upstream never sees it.
      const forwarded = ctx.upstreamHeaders.cookie;
      if (typeof forwarded === 'string') {
        const rest = withoutCookies(forwarded, ownCookies);
        if (rest === undefined) delete ctx.upstreamHeaders.cookie;
        else ctx.upstreamHeaders.cookie = rest;
      }
      return { ok: true, identity: found.identity };
    },
    loginLocation(ctx: RequestContext) {
      const target = ctx.request.query === '' ? ctx.request.path : `${ctx.request.path}?${ctx.request.query}`;
      return `/.cortex/login?return=${encodeURIComponent(target)}`;
    },
  };

  return {
    authenticator,
    endpoints: createEndpoints({ cfg, store, signer, client, sessions, provider: deps.provider, origins, log, now }),
    ready: () => client.config() !== undefined && (store.ready?.() ?? true),
    async close() {
      client.close();
      await store.close();
    },
  };
}
