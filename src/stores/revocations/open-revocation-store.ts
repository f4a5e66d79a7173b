// The configured store of revoked delegated tokens: this process's memory (one host) or Redis (a fleet).
import type { Logger } from 'pino';
import type { CredentialsConfig } from '../../config/schema.ts';
import type { RevocationStore } from '../../credentials/types.ts';
import { createMemoryRevocationStore } from './memory.ts';
import { createRedisRevocationStore } from './redis.ts';

export type RevocationsConfig = NonNullable<CredentialsConfig['tokenExchange']>['revocations'];

export function openRevocationStore(cfg: RevocationsConfig, opts: { log: Logger; now?: () => number }): RevocationStore {
  const now = opts.now === undefined ? {} : { now: opts.now };
  return cfg.type === 'memory' ? createMemoryRevocationStore({ log: opts.log, ...now }) : createRedisRevocationStore({ url: cfg.url, keyPrefix: cfg.keyPrefix, log: opts.log, ...now });
}
