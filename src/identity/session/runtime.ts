// PLACEHOLDER (issue 5, being built): browser login sessions. Replaced by the real runtime.
import type { Logger } from 'pino';
import type { SessionsConfig } from '../../config/schema.ts';
import type { InternalEndpoint, SessionAuthenticator } from '../authenticator.ts';
import type { CompiledProvider } from '../provider.ts';

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

export function createSessionRuntime(_cfg: SessionsConfig, _deps: SessionRuntimeDeps): SessionRuntime {
  throw new Error('browser sessions are not built yet');
}
