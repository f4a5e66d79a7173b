// PLACEHOLDER (issue 5, being built): API keys. Replaced by the real runtime.
import type { Logger } from 'pino';
import type { ApiKeysConfig } from '../../config/schema.ts';
import type { Authenticator } from '../authenticator.ts';

export interface ApiKeyRuntimeDeps {
  log: Logger;
  now?: () => number;
}

export interface ApiKeyRuntime {
  authenticator: Authenticator;
  ready(): boolean;
  close(): Promise<void>;
}

export function createApiKeyRuntime(_cfg: ApiKeysConfig, _deps: ApiKeyRuntimeDeps): ApiKeyRuntime {
  throw new Error('API keys are not built yet');
}
