// The ways in besides bearer tokens, built once when the gateway starts (a change to them takes
// effect at the next restart): browser sessions, API keys and the mTLS listener.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { createApiKeyRuntime } from '../identity/api-keys/runtime.ts';
import type { ApiKeyRuntime } from '../identity/api-keys/runtime.ts';
import type { AccessRuntime } from '../identity/authenticator.ts';
import type { CompiledProvider } from '../identity/provider.ts';
import { createSessionRuntime } from '../identity/session/runtime.ts';
import type { SessionRuntime } from '../identity/session/runtime.ts';
import type { RejectedConnection } from './listener.ts';
import { createMtlsListener } from './mtls-listener.ts';
import type { MtlsListener } from './mtls-listener.ts';

export interface AccessDeps {
  log: Logger;
  /** A provider as compiled into the serving snapshot. */
  provider: (name: string) => CompiledProvider | undefined;
  /** The request handler for the mTLS listener (protocol https). */
  mtlsHandler: () => (req: IncomingMessage, res: ServerResponse) => void;
  /** What the main listener does with requests its parser refuses (metrics, audit). */
  onRejected: (rejection: RejectedConnection) => void;
  requestIdHeader: () => string;
}

export interface Access extends AccessRuntime {
  readonly sessions: SessionRuntime | undefined;
  readonly apiKeys: ApiKeyRuntime | undefined;
  readonly mtlsListener: MtlsListener | undefined;
  /** Readiness components: 'sessions', 'api-keys' (only those configured). */
  readiness(): Record<string, boolean>;
}

export function buildAccess(config: Config, deps: AccessDeps): Access {
  const s = config.identity.sessions;
  const sessions = s === undefined ? undefined : createSessionRuntime(s, { log: deps.log.child({ component: 'sessions' }), provider: () => deps.provider(s.provider) });
  const apiKeys = config.identity.apiKeys === undefined ? undefined : createApiKeyRuntime(config.identity.apiKeys, { log: deps.log.child({ component: 'api-keys' }) });
  const m = config.gateway.mtls;
  const mtlsListener =
    m === undefined
      ? undefined
      : createMtlsListener(m, {
          handler: deps.mtlsHandler(),
          limits: config.gateway.limits,
          log: deps.log.child({ component: 'mtls' }),
          requestIdHeader: deps.requestIdHeader,
          onRejected: deps.onRejected,
          graceMs: config.shutdown.graceMs,
        });
  return {
    sessions,
    apiKeys,
    mtlsListener,
    session: sessions?.authenticator,
    apiKey: apiKeys?.authenticator,
    mtls: mtlsListener?.authenticator,
    endpoints: sessions?.endpoints ?? [],
    readiness() {
      const out: Record<string, boolean> = {};
      if (sessions) out.sessions = sessions.ready();
      if (apiKeys) out['api-keys'] = apiKeys.ready();
      return out;
    },
    async close() {
      await Promise.all([sessions?.close(), apiKeys?.close(), mtlsListener?.close()]);
    },
  };
}
