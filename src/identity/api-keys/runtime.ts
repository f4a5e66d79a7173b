// API keys for services and people (identity.apiKeys): the store, the per-request authenticator
// and last-used bookkeeping, built once when the gateway starts. Keys are issued with
// `cortex api-keys create` or POST /api/api-keys on the admin listener.
import type { Logger } from 'pino';
import type { ApiKeysConfig } from '../../config/schema.ts';
import type { Authenticator } from '../authenticator.ts';
import { createApiKeyAuthenticator } from './authenticator.ts';
import { openPostgresApiKeyStore } from './postgres-store.ts';
import { openSqliteApiKeyStore } from './sqlite-store.ts';
import type { ApiKeyStore } from './keys.ts';

/** PostgreSQL lookups are reused this long; LISTEN/NOTIFY drops a changed key from the cache at once. */
export const POSTGRES_CACHE_MS = 5_000;
const USAGE_FLUSH_MS = 5_000;

export interface ApiKeyRuntimeDeps {
  log: Logger;
  now?: () => number;
  /** How often last-used times are written (tests shorten it). */
  usageFlushMs?: number;
}

export interface ApiKeyRuntime {
  authenticator: Authenticator;
  /** For the admin API: create, list, revoke. */
  store: ApiKeyStore;
  hmacSecret: string;
  /** True when the store answers (PostgreSQL: once the LISTEN connection is up). */
  ready(): boolean;
  close(): Promise<void>;
}

export function openApiKeyStore(store: ApiKeysConfig['store'], opts: { log: Logger; listen: boolean }): ApiKeyStore {
  return store.type === 'sqlite' ? openSqliteApiKeyStore(store.path) : openPostgresApiKeyStore(store.url, opts);
}

export function createApiKeyRuntime(cfg: ApiKeysConfig, deps: ApiKeyRuntimeDeps): ApiKeyRuntime {
  const store = openApiKeyStore(cfg.store, { log: deps.log, listen: true });
  const authenticator = createApiKeyAuthenticator({
    store,
    hmacSecret: cfg.hmacSecret,
    header: cfg.header.toLowerCase(),
    log: deps.log,
    now: deps.now ?? Date.now,
    cacheTtlMs: store.type === 'postgres' ? POSTGRES_CACHE_MS : 0,
    usageFlushMs: deps.usageFlushMs ?? USAGE_FLUSH_MS,
  });
  return {
    authenticator,
    store,
    hmacSecret: cfg.hmacSecret,
    ready: () => store.ready(),
    async close() {
      await authenticator.usage.close();
      await store.close();
    },
  };
}
