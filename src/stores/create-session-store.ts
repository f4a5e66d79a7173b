// Builds the session store that config names: memory (default), SQLite or Redis.
import type { Logger } from 'pino';
import type { SessionsConfig } from '../config/schema.ts';
import { createMemorySessionStore } from './memory/session-store.ts';
import { createRedisSessionStore } from './redis/session-store.ts';
import type { SessionStore } from './session-store.ts';
import { createSqliteSessionStore } from './sqlite/session-store.ts';

export interface CreateSessionStoreOptions {
  log: Logger;
  now?: () => number;
}

export function createSessionStore(cfg: SessionsConfig['store'], opts: CreateSessionStoreOptions): SessionStore {
  switch (cfg.type) {
    case 'memory':
      return createMemorySessionStore(opts.now);
    case 'sqlite':
      return createSqliteSessionStore({ path: cfg.path, log: opts.log, ...(opts.now ? { now: opts.now } : {}) });
    case 'redis':
      // Redis keeps time itself (PX expiry); an injected clock cannot reach it.
      return createRedisSessionStore({ url: cfg.url, prefix: cfg.prefix, log: opts.log });
  }
}
