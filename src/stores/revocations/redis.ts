// Revocations of delegated tokens in Redis, for a fleet. Each revocation is written (a jti as its
// own key expiring with the token; an agent's, a person's or a grant's "revoked before" as a hash field that
// only moves forward) and published on a channel in the same script, and every instance applies
// what it hears to its in-memory mirror at once, so isRevoked stays synchronous and a revocation
// on one instance holds on all of them within a round trip. ready() loads everything stored, and a
// subscriber that reconnects loads again (it may have missed messages while away).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Revocation, RevocationStore } from '../../credentials/types.ts';
import { LONGEST_DELEGATED_TOKEN_SECONDS, RevocationMirror, RevokeListeners, grantKey, personKey } from './revocation-mirror.ts';

export interface RedisRevocationStoreOptions {
  url: string;
  keyPrefix: string;
  log: Logger;
  now?: () => number;
}

const CONNECT_TIMEOUT_MS = 3_000;
const SWEEP_MS = 60_000;

// KEYS[1] the hash, KEYS[2] the channel; ARGV: field, at, message. Keeps the later time; publishes either way.
const RAISE_AND_PUBLISH = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current or tonumber(current) < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('PUBLISH', KEYS[2], ARGV[3])
return 1
`;

interface Message {
  /** The instance that published it (it has applied it already). */
  from: string;
  r: Revocation;
}

type RaiseAndPublish = (hash: string, channel: string, field: string, at: number, message: string) => Promise<number>;

export function createRedisRevocationStore(opts: RedisRevocationStoreOptions): RevocationStore {
  const now = opts.now ?? Date.now;
  const instance = randomUUID();
  const keys = { jti: (jti: string) => `${opts.keyPrefix}jti:${jti}`, agents: `${opts.keyPrefix}agents`, persons: `${opts.keyPrefix}persons`, grants: `${opts.keyPrefix}grants`, channel: `${opts.keyPrefix}events` };
  const settings = { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: CONNECT_TIMEOUT_MS };
  const redis = new Redis(opts.url, settings);
  redis.defineCommand('cortexRaiseAndPublish', { numberOfKeys: 2, lua: RAISE_AND_PUBLISH });
  const raiseAndPublish = (redis as unknown as { cortexRaiseAndPublish: RaiseAndPublish }).cortexRaiseAndPublish.bind(redis);
  // The subscriber connects only when ready() is called: a CLI that only writes never listens.
  const subscriber = new Redis(opts.url, { ...settings, lazyConnect: true });
  const mirror = new RevocationMirror(now);
  const listeners = new RevokeListeners((err) => opts.log.error({ err: (err as Error).message }, 'revocations: a listener failed'));
  let closed = false;
  let lastError = '';
  const onError = (err: Error): void => {
    if (err.message === lastError) return; // ioredis repeats the same failure on every reconnect attempt
    lastError = err.message;
    opts.log.error({ error: err.message }, 'revocations: redis error');
  };
  redis.on('error', onError);
  subscriber.on('error', onError);
  redis.on('ready', () => (lastError = ''));

  const learn = (r: Revocation): void => {
    if (mirror.apply(r)) listeners.emit(r);
  };

  subscriber.on('message', (channel: string, text: string) => {
    if (channel !== keys.channel) return;
    let message: Message;
    try {
      message = JSON.parse(text) as Message;
    } catch {
      return;
    }
    if (message.from !== instance) learn(message.r);
  });

  /** Every revocation stored, into the mirror; old "revoked before" fields are removed on the way. */
  async function loadAll(): Promise<void> {
    const nowSeconds = now() / 1000;
    const [agents, persons, grants] = await Promise.all([redis.hgetall(keys.agents), redis.hgetall(keys.persons), redis.hgetall(keys.grants)]);
    const stale = (at: number): boolean => at + LONGEST_DELEGATED_TOKEN_SECONDS <= nowSeconds;
    for (const [hash, entries, kind] of [[keys.agents, agents, 'agent'], [keys.persons, persons, 'person'], [keys.grants, grants, 'grant']] as const) {
      const old: string[] = [];
      for (const [field, value] of Object.entries(entries)) {
        const at = Number(value);
        if (stale(at)) old.push(field);
        else if (kind === 'agent') learn({ kind, agent: field, at });
        else if (kind === 'person') {
          const [issuer, subject] = JSON.parse(field) as [string, string];
          learn({ kind, issuer, subject, at });
        } else {
          const [issuer, subject, agent] = JSON.parse(field) as [string, string, string];
          learn({ kind, issuer, subject, agent, at });
        }
      }
      if (old.length > 0) await redis.hdel(hash, ...old);
    }
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${keys.jti('')}*`, 'COUNT', 1000);
      cursor = next;
      if (batch.length === 0) continue;
      const values = await redis.mget(...batch);
      batch.forEach((key, i) => {
        const exp = Number(values[i]);
        if (Number.isFinite(exp)) learn({ kind: 'jti', jti: key.slice(keys.jti('').length), exp });
      });
    } while (cursor !== '0');
  }

  const connected = (client: Redis): Promise<void> => {
    if (client.status === 'ready') return Promise.resolve();
    if (closed) return Promise.reject(new Error('revocations: the store is closed'));
    // Between reconnect attempts: Redis is known to be down, so fail now rather than wait.
    if (client.status === 'reconnecting') return Promise.reject(new Error('revocations: redis is not reachable'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error('revocations: redis connect timed out')), CONNECT_TIMEOUT_MS);
      const done = (err?: Error): void => {
        clearTimeout(timer);
        client.off('ready', onReady).off('end', onEnd).off('error', onFail);
        if (err) reject(err);
        else resolve();
      };
      const onReady = (): void => done();
      const onEnd = (): void => done(new Error('revocations: redis connection closed'));
      const onFail = (err: Error): void => done(err);
      client.once('ready', onReady).once('end', onEnd).once('error', onFail);
    });
  };

  let starting: Promise<void> | undefined;
  let reloading = false;
  const sweeper = setInterval(() => mirror.sweep(), SWEEP_MS);
  sweeper.unref();

  async function start(): Promise<void> {
    // Subscribe first, then load: a revocation published in between is heard, not lost.
    if (subscriber.status === 'wait') void subscriber.connect().catch(() => undefined);
    await Promise.all([connected(subscriber), connected(redis)]);
    await subscriber.subscribe(keys.channel);
    await loadAll();
    if (reloading) return;
    reloading = true;
    // A subscriber that comes back may have missed messages: load again.
    subscriber.on('ready', () => {
      if (!closed) loadAll().catch((err: unknown) => opts.log.warn({ err: (err as Error).message }, 'revocations: reload after reconnect failed'));
    });
  }

  return {
    ready() {
      starting ??= start().catch((err: unknown) => {
        starting = undefined;
        throw err;
      });
      return starting;
    },
    isRevoked: (token) => mirror.isRevoked(token),
    async revoke(r) {
      // Effective here at once, whatever Redis says; a failure to share it is the caller's to report.
      learn(r);
      await connected(redis);
      const message = JSON.stringify({ from: instance, r } satisfies Message);
      if (r.kind === 'jti') {
        await redis.multi().set(keys.jti(r.jti), String(r.exp), 'EXAT', Math.max(1, Math.ceil(r.exp))).publish(keys.channel, message).exec();
      } else if (r.kind === 'agent') {
        await raiseAndPublish(keys.agents, keys.channel, r.agent, r.at, message);
      } else if (r.kind === 'person') {
        await raiseAndPublish(keys.persons, keys.channel, personKey(r.issuer, r.subject), r.at, message);
      } else {
        await raiseAndPublish(keys.grants, keys.channel, grantKey(r.issuer, r.subject, r.agent), r.at, message);
      }
    },
    onRevoke: (listener) => listeners.add(listener),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      await Promise.all([quit(redis), quit(subscriber)]);
    },
  };
}

/** QUIT when connected (so pending replies arrive), else drop the connection. */
async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // Fall through: a connection that cannot say goodbye is simply dropped.
    }
  }
  client.disconnect();
}
