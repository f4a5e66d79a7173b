// Sessions in Redis: shared by every gateway of a fleet. Keys are <prefix>s:<id> (sessions) and
// <prefix>t:<id> (login transactions), each with a PX expiry, so Redis forgets them on its own.
// A dead Redis fails fast: no offline queue and one try per command, so every method rejects at once
// and the session runtime answers "unavailable" instead of hanging or pretending there is no session.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { LoginTransaction, SessionRecord, SessionStore } from '../session-store.ts';

export interface RedisSessionStoreOptions {
  url: string;
  prefix: string;
  log: Logger;
}

// Writes ARGV[2] only when the stored record's version is ARGV[1]; 0 when it differs or is gone.
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if cjson.decode(current).version ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`;

const ERROR_LOG_INTERVAL_MS = 30_000;
const CONNECT_TIMEOUT_MS = 3_000;

export function createRedisSessionStore(opts: RedisSessionStoreOptions): SessionStore {
  const redis = new Redis(opts.url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: CONNECT_TIMEOUT_MS });
  redis.defineCommand('cortexSessionCas', { numberOfKeys: 1, lua: COMPARE_AND_SET });
  const cas = (redis as unknown as { cortexSessionCas(key: string, version: number, record: string, px: number): Promise<number> }).cortexSessionCas.bind(redis);

  // Without a listener ioredis prints every reconnect failure; log the first, then one line per interval.
  let lastLoggedAt = -Infinity;
  let suppressed = 0;
  redis.on('error', (err: Error) => {
    const t = Date.now();
    if (t - lastLoggedAt < ERROR_LOG_INTERVAL_MS) {
      suppressed++;
      return;
    }
    opts.log.error({ error: err.message, suppressed }, 'session store: redis error');
    lastLoggedAt = t;
    suppressed = 0;
  });

  // Commands issued while the first connection is still being made wait for it (bounded by the connect
  // timeout) instead of failing at startup; once it has succeeded or failed, a store that is not
  // connected rejects at once.
  let starting: Promise<void> | undefined = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => settle(new Error('redis: connect timed out')), CONNECT_TIMEOUT_MS);
    const settle = (err?: Error): void => {
      clearTimeout(timer);
      redis.off('ready', onReady).off('error', settle).off('end', onEnd);
      starting = undefined;
      if (err) reject(err);
      else resolve();
    };
    const onReady = (): void => settle();
    const onEnd = (): void => settle(new Error('redis: connection closed'));
    redis.once('ready', onReady).once('error', settle).once('end', onEnd);
  });
  starting.catch(() => undefined);
  const connected = (): Promise<void> => starting ?? Promise.resolve();

  const sessionKey = (id: string): string => `${opts.prefix}s:${id}`;
  const txKey = (id: string): string => `${opts.prefix}t:${id}`;
  const px = (ttlSeconds: number): number => Math.max(1, Math.round(ttlSeconds * 1000));
  let closed = false;

  return {
    ready: () => !closed && redis.status === 'ready',
    async get(id) {
      await connected();
      const raw = await redis.get(sessionKey(id));
      return raw === null ? undefined : (JSON.parse(raw) as SessionRecord);
    },
    async set(record, ttlSeconds) {
      await connected();
      await redis.set(sessionKey(record.id), JSON.stringify(record), 'PX', px(ttlSeconds));
    },
    async compareAndSet(record, expectedVersion, ttlSeconds) {
      await connected();
      return (await cas(sessionKey(record.id), expectedVersion, JSON.stringify(record), px(ttlSeconds))) === 1;
    },
    async delete(id) {
      await connected();
      await redis.del(sessionKey(id));
    },
    async putTransaction(id, tx, ttlSeconds) {
      await connected();
      await redis.set(txKey(id), JSON.stringify(tx), 'PX', px(ttlSeconds));
    },
    async takeTransaction(id) {
      await connected();
      await connected();
      const raw = await redis.getdel(txKey(id));
      return raw === null ? undefined : (JSON.parse(raw) as LoginTransaction);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (redis.status === 'ready') {
        try {
          await redis.quit();
          return;
        } catch {
          // Fall through: a connection that cannot say goodbye is simply dropped.
        }
      }
      redis.disconnect();
    },
  };
}
